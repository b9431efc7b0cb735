# mmdet's CornerNet with a narrow 2-stack StackedHourglass, on the 4 COCO images (person boxes) in
# tests/data/coco_sample, at 128x128 crops: the whole mmdet pipeline (CocoDataset, CornerNet's
# transforms, CornerHead with intermediate supervision, soft-NMS, CocoMetric, Runner) on a CPU in
# seconds. A smoke test, not a recipe: its AP is near zero. Everything not set here is mmdet's.
_base_ = './cornernet_stacked-hourglass104_8xb6-210e-mstest_coco.py'
custom_imports = dict(imports=['hourglass_plugin'], allow_failed_imports=False)

# HG-104 shrunk: 3 halvings instead of 5, narrower levels, one unit per level but two at the
# bottom, as mmdet's HourglassNet(downsample_times=3, stage_channels=(32, 32, 48, 64),
# stage_blocks=(1, 1, 1, 2), feat_channel=32) (whose stem is a 16-channel conv, then 32).
# Still 2 stacks, so CornerHead's num_feat_levels=2 (mmdet's) supervises both.
model = dict(
    backbone=dict(
        order=3,
        stage_channels=(32, 32, 48, 64),
        stage_blocks=(1, 1, 1, 2),
        stem=dict(conv_channels=16, block_channels=(32, ), downsample_before=0),
        feat_channels=32),
    bbox_head=dict(num_classes=1, in_channels=32))

# The sample json holds people only; CocoMetric maps label i to the i-th class of the json, so
# the classes must be exactly those of the json.
metainfo = dict(classes=('person', ))
data_root = 'tests/data/coco_sample/'
ann_file = 'annotations.json'

# mmdet crops 511x511 out of ~640-pixel COCO images. Shrinking the images 4x first (to fit
# 160x160) and cropping 128x128 keeps that proportion, and the crop border scales with it
# (mmdet's 128 / 4).
scale = (160, 160)
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(
        type='RandomCenterCropPad',
        crop_size=crop_size,
        ratios=(0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3),
        border=32,
        test_mode=False,
        test_pad_mode=None,
        mean=_base_.data_preprocessor.mean,
        std=_base_.data_preprocessor.std,
        to_rgb=_base_.data_preprocessor.bgr_to_rgb),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# mmdet tests at full resolution, padded to 128k - 1 pixels ('logical_or', 127); here the image
# is shrunk as in training and padded to 32k - 1. The shrink is undone on the boxes through
# scale_factor, which mmdet's CornerNet test pipeline does not pack because it never resizes.
test_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True, backend_args=_base_.backend_args),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(
        type='RandomCenterCropPad',
        crop_size=None,
        ratios=None,
        border=None,
        test_mode=True,
        test_pad_mode=['logical_or', 31],
        mean=_base_.data_preprocessor.mean,
        std=_base_.data_preprocessor.std,
        to_rgb=_base_.data_preprocessor.bgr_to_rgb),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'border'))
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + ann_file)
test_evaluator = val_evaluator

# 2 epochs of 2 iterations, validated and saved once, at the end. mmdet's schedule (500-iteration
# warm-up, decay at epoch 180) is kept: over 4 iterations it only means a small learning rate.
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    checkpoint=dict(interval=max_epochs), logger=dict(interval=1))
