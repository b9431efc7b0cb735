# mmdet's CornerNet with its Hourglass-104 backbone replaced by StackedHourglass configured as
# CornerNet's Hourglass-104 (same layout and 187,700,352 parameters as mmdet's HourglassNet).
_base_ = 'mmdet::cornernet/cornernet_hourglass104_8xb6-210e-mstest_coco.py'
custom_imports = dict(imports=['hourglass_plugin'], allow_failed_imports=False)
# stop at the first NaN/inf loss, naming the last good checkpoint (mmdet sets no custom_hooks)
custom_hooks = [dict(type='StopOnNonFiniteLossHook')]
# distributed: DDP on the model's own device, one GPU or the CPU (where DDP refuses device ids)
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)
# checkpoints written atomically, the oldest removed only after the new one
default_hooks = dict(checkpoint=dict(type='CrashSafeCheckpointHook'))

model = dict(
    backbone=dict(
        _delete_=True,
        type='StackedHourglass',
        num_stacks=2,
        order=5,
        stage_channels=(256, 256, 384, 384, 384, 512),
        stage_blocks=(2, 2, 2, 2, 2, 4),
        block='BasicBlock',
        downsample='strided_conv',
        stem=dict(conv_channels=128, block_channels=(256, ), downsample_before=0),
        feat_channels=256,
        out_blocks=0,
        out_kernel_size=3,
        merge='features',
        merge_blocks=1,
        # NCHW: on CPU under the tools' allocator setting the faster training step, and as fast
        # as channels-last under glibc's defaults (python -m tools.benchmark --scenarios
        # hg104_train, docs/benchmarks.md)
        conv_bias='auto'))
