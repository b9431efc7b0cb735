# The demo's network and recipe at 64x64 crops -> 16x16 heatmaps (sigma 1, as sigma 2 at 32x32):
# the trained model that the engine and INT8 tests share (tests/conftest.py, demo_run), a quarter
# of the demo's compute per iteration. Seeded and deterministic; batches made in the training
# process; the data root is given by the test.
_base_ = [
    '../../../configs/stacked_hourglass/'
    'td-hm_stacked-hourglass-hg2-f128_1xb16-1600it_synthetic-mpii-128x128.py'
]

max_iters = 600
LR_PEAK = 2e-2
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(head=dict(decoder=codec))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=max_iters, milestones=[int(max_iters * 0.85)],
         gamma=0.2, by_epoch=False)
]
randomness = dict(seed=0, deterministic=True)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
