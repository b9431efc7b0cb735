# Stacked hourglass on MPII, following Newell et al. 2016: 256x256 crops of the target person
# (annotated center and scale), rotation +-30 deg, scale 0.75-1.25, horizontal flip with MPII's
# left/right swap, Gaussians of sigma 1 px at 64x64, RMSprop 2.5e-4, every stack supervised.
# The variants (hg2/hg4/hg8) only set num_stacks.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['hourglass_plugin'], allow_failed_imports=False)

num_stacks = 8

# runtime: the paper trains ~100 epochs and drops the rate by 5 when validation plateaus
train_cfg = dict(max_epochs=100, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='RMSprop', lr=2.5e-4))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=100, milestones=[75, 90], gamma=0.2, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=6)
# checkpoints written atomically, the oldest removed only after the new one: a run killed at any
# moment resumes (mmpose's own tools/train.py --resume included)
default_hooks = dict(
    checkpoint=dict(type='CrashSafeCheckpointHook', save_best='PCK', rule='greater'))
# mmpose's SyncBuffersHook, plus a stop at the first NaN/inf loss naming the last good checkpoint
custom_hooks = [dict(type='SyncBuffersHook'), dict(type='StopOnNonFiniteLossHook')]
# distributed: DDP on the model's own device, one GPU or the CPU (where DDP refuses device ids)
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)

# codec: 256x256 input -> 64x64 heatmaps; MSRA decode with the quarter-offset refinement
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=1)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    # Newell et al. (pose-hg-train layout): the backbone ends every stack in K heatmaps and
    # re-injects them into the next stack
    backbone=dict(
        type='StackedHourglass',
        num_stacks=num_stacks,
        order=4,
        stage_channels=(256, 256, 256, 256, 256),
        stage_blocks=(1, 1, 1, 1, 1),
        block='Residual',
        downsample='max_pool',
        stem=dict(conv_channels=64, block_channels=(128, 128, 256), downsample_before=1),
        feat_channels=256,
        out_blocks=1,
        out_kernel_size=1,
        num_keypoints=16,
        merge='predictions',
        conv_bias=True),
    # the heatmaps come from the backbone: the head adds no layer, supervises every stack
    head=dict(
        type='StackedHourglassHead',
        in_channels=16,
        out_channels=16,
        num_stacks=num_stacks,
        final_layer=None,
        loss=dict(type='HeatmapMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# data: mmpose's MPII files under data/mpii (see README)
dataset_type = 'CheckedMpiiDataset'  # mmpose's MpiiDataset, its files checked when built
data_mode = 'topdown'
data_root = 'data/mpii/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0,
        scale_factor=(0.75, 1.25),
        rotate_factor=30,
        rotate_prob=0.4),
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
    batch_size=6,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_val.json',
        headbox_file=data_root + 'annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
