# The embedded default (`make demo`): a small stacked hourglass trained on synthetic people in
# MPII's format (python -m tools.make_synthetic_mpii writes them to data/synthetic_mpii), so the
# whole pose pipeline runs offline on a 2-core CPU in minutes. Same layout as the paper
# (pre-activation residuals, max-pool, predictions re-injected, every stack supervised), sized
# down: 2 stacks of 128 features, order 3, 128x128 crops -> 32x32 heatmaps. Deliberate
# differences from the paper's recipe, for a CPU budget of minutes (README, "Results", has what
# it reaches):
# - sigma 2: at 32x32 a 1-px Gaussian learns far slower;
# - Adam at LR_PEAK (fused: one kernel for all parameters), a step down at 87%, instead of
#   RMSprop 2.5e-4, which learns far less in 1600 iterations;
# - flip only, no rotation/scale augmentation;
# - the stem's max-pool before its first residual (which then runs at 32x32, not 64x64);
# - a budget in iterations, not epochs, so that a dataset of another size trains as long.
_base_ = ['./_base_/td-hm_stacked-hourglass_mpii-256x256.py']

max_iters = 1600
LR_PEAK = 2e-2
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

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=LR_PEAK, fused=True))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=max_iters, milestones=[1390], gamma=0.2,
         by_epoch=False)
]
auto_scale_lr = dict(base_batch_size=16)
# processes on CPUs (--launcher pytorch) talk through gloo
env_cfg = dict(dist_cfg=dict(backend='gloo'))
log_processor = dict(by_epoch=False)
# The base's hooks, with checkpoints for --resume.
default_hooks = dict(
    logger=dict(interval=25),
    # every 500 iterations for --resume after a crash; the last one is the one tested
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2, save_best=None))

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
    # batches made in the training process: on 2 cores a loader worker (~30 ms a batch: the
    # log's data_time without one) stalls both compute threads: 0.53 s per iteration against
    # 0.46 s without it
    num_workers=0,
    persistent_workers=False,
    # endless: no pause between passes over the data (mmengine's IterBasedTrainLoop sleeps 2 s
    # whenever a finite loader ends)
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
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
