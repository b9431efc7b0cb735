# A narrow 2-stack hourglass on the 5 real MPII images in tests/data, 64x64 -> 16x16: the whole
# mmpose pipeline (MpiiDataset, transforms, codec, head, Runner) in seconds.
_base_ = ['../../../configs/stacked_hourglass/_base_/td-hm_stacked-hourglass_mpii-256x256.py']

codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(
    backbone=dict(
        num_stacks=2,
        order=2,
        stage_channels=(32, 32, 32),
        stage_blocks=(1, 1, 1),
        stem=dict(conv_channels=16, block_channels=(32, 32, 32), downsample_before=1),
        feat_channels=32),
    head=dict(num_stacks=2, decoder=codec),
    test_cfg=dict(flip_test=False))

data_root = 'tests/data/mpii_sample/'
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
train_cfg = dict(max_epochs=2, val_interval=100)
optim_wrapper = dict(optimizer=dict(type='RMSprop', lr=2.5e-4))
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1, save_best=None), logger=dict(interval=1))
train_dataloader = dict(
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations.json', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations.json', headbox_file=None,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
val_cfg = None
val_evaluator = None
val_dataloader = None
