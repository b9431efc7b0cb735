# Overfit the 5 real MPII images of tests/data: no augmentation, a small 2-stack hourglass at
# 128x128 -> 32x32, trained until it reproduces their joints (PCKh@0.5 on the same images).
# Proves that the whole loop (MpiiDataset, transforms, codec, intermediate supervision, decode,
# MpiiPCKAccuracy) learns on real pictures.
_base_ = ['./tiny_hg2_mpii-sample-64x64.py']

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(
    backbone=dict(
        order=3,
        stage_channels=(64, 64, 64, 64),
        stage_blocks=(1, 1, 1, 1),
        stem=dict(conv_channels=32, block_channels=(64, 64, 64), downsample_before=1),
        feat_channels=64,
        channels_last=True),
    head=dict(decoder=codec))
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
# epochs of one batch (5 images); not IterBasedTrainLoop, whose infinite loader sleeps 2 s at
# every epoch boundary
train_cfg = dict(max_epochs=300, val_interval=100000)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=2e-3))
default_hooks = dict(
    checkpoint=dict(interval=100000), logger=dict(interval=50))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type='CheckedMpiiDataset',
        data_root='tests/data/mpii_sample/',
        data_mode='topdown',
        ann_file='annotations.json',
        data_prefix=dict(img='images/'),
        headbox_file='',  # the test writes one and sets it
        test_mode=True,
        pipeline=val_pipeline))
val_cfg = dict(_delete_=True)
val_evaluator = dict(_delete_=True, type='MpiiPCKAccuracy')
