# A stacked hourglass learning human pose from real photos on a 2-core CPU within an hour:
# Leeds Sports Pose trained from scratch on 900 of its 1000 training photos, validated on the
# other 100 (every recipe choice was made there), tested on its 1000 test photos.
# The demo's network (2 stacks of 128 features, 128x128 crops -> 32x32 heatmaps, sigma 2) with
# LSP's 14 joints; mmpose's parts for the rest: EMA of the weights, half-body,
# flip, rotation up to upside down, scale 0.6-1.4 and photometric augmentation; Adam with a
# warm-up and a cosine decay over the budget. 8700 iterations fill an hour of 2 cores in the
# faster of fp32 and bf16 (tools/train.py --amp): 0.41 s each on average in fp32 on an Intel
# Xeon whose bf16 is slower (docs/logs/lsp_train.log); docs/lsp.md has the choices and what
# each was measured at.
# Data: tools/dataset_converters/lsp2coco.py LSP_RELEASE --out data/lsp
_base_ = [
    './td-hm_stacked-hourglass-hg2-f128_1xb16-1600it_synthetic-mpii-128x128.py',
    '../_base_/datasets/lsp.py'
]

max_iters = 8700
val_interval = 1740
LR_PEAK = 2e-2
num_keypoints = 14
# targets: Gaussians centred at the joints' sub-pixel positions (mmpose's unbiased encoding);
# decoding: the maximum with the quarter offset (DARK's decoding scored lower on the validation
# split: --cfg-options model.head.decoder.unbiased=True)
codec = dict(
    type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2, unbiased=True)
decoder = dict(codec, unbiased=False)
model = dict(
    backbone=dict(num_keypoints=num_keypoints),
    head=dict(in_channels=num_keypoints, out_channels=num_keypoints, decoder=decoder))

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(optimizer=dict(lr=LR_PEAK))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=200, start_factor=0.01, by_epoch=False),  # warm-up
    dict(type='CosineAnnealingLR', begin=200, end=max_iters, T_max=max_iters - 200,
         eta_min=LR_PEAK * 1e-3, by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=val_interval, max_keep_ckpts=2, save_best=None))
# validation and test with the exponential moving average of the weights (mmpose's)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='StopOnNonFiniteLossHook'),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=1e-3, update_buffers=True,
         priority=49)
]

dataset_type = 'BaseCocoStyleDataset'  # mmpose's COCO-style top-down data, LSP's meta
data_root = 'data/lsp/'
metainfo = {{_base_.dataset_info}}
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', min_total_keypoints=8, prob=0.2),
    dict(
        type='RandomBBoxTransform',
        shift_factor=0.1,
        shift_prob=0.3,
        scale_factor=(0.6, 1.4),
        rotate_factor=180,  # truncated normal: 20 % of the rotated crops beyond +-135 deg
        rotate_prob=0.5),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PhotometricDistortion'),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = {{_base_.val_pipeline}}  # the demo's: crop at the box, no augmentation
lsp_dataset = dict(  # what the three splits share
    type=dataset_type,
    data_root=data_root,
    data_mode='topdown',
    metainfo=metainfo,
    data_prefix=dict(img='images/'))
train_dataloader = dict(
    dataset=dict(
        lsp_dataset, _delete_=True, ann_file='annotations/lsp_train.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        lsp_dataset, _delete_=True, ann_file='annotations/lsp_val.json', test_mode=True,
        pipeline=val_pipeline))
# the test set, only reported: every choice of the recipe was made on the validation split
test_dataloader = dict(
    dataset=dict(val_dataloader['dataset'], ann_file='annotations/lsp_test.json'))
# LSP's metric: PCK@0.2 and @0.1 of the torso (left shoulder to right hip, found by name)
val_evaluator = dict(_delete_=True, type='TorsoPCKAccuracy', thrs=(0.2, 0.1))
test_evaluator = val_evaluator
