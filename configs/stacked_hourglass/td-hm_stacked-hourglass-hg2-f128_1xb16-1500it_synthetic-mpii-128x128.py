# The embedded default (`make demo`): a small stacked hourglass trained on synthetic people in
# MPII's format (tools/make_synthetic_mpii.py writes them to data/synthetic_mpii), so the whole
# pose pipeline runs offline on a 2-core CPU in minutes. Same layout as the paper (pre-activation
# residuals, max-pool, predictions re-injected, every stack supervised), sized down: 2 stacks of
# 128 features, order 3, 128x128 crops -> 32x32 heatmaps. Deliberate differences from the paper's
# recipe, for a CPU budget of minutes: sigma 2 (at 32x32 a 1-px Gaussian learns far slower),
# Adam 2e-3 instead of RMSprop 2.5e-4, no rotation/scale augmentation (flip only), and the stem's
# max-pool before its first residual (that residual then runs at 32x32, not 64x64: 0.49 s instead
# of 0.65 s per iteration in the training logs of tools/demo.py, so 7 epochs fit the budget). See
# README for the measured runs.
_base_ = ['./_base_/td-hm_stacked-hourglass_mpii-256x256.py']

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(
    backbone=dict(
        num_stacks=2,
        order=3,
        stage_channels=(128, 128, 128, 128),
        stage_blocks=(1, 1, 1, 1),
        stem=dict(conv_channels=64, block_channels=(128, 128, 128), downsample_before=0),
        feat_channels=128,
        channels_last=True),
    head=dict(num_stacks=2, decoder=codec))

train_cfg = dict(max_epochs=7, val_interval=7)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=7, milestones=[6], gamma=0.2, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='PCK', rule='greater'))

data_root = 'data/synthetic_mpii/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
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
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        headbox_file=data_root + 'annotations/mpii_gt_val.mat',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
