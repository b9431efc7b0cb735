# The LSP recipe ending on a weaker pipeline, as RTMPose ends its training (through mmdet's
# PipelineSwitchHook, which switches at an epoch): from iteration 5200 (the last fifth) on,
# rotated crops a quarter of the time instead of half and a scale of 0.75-1.25 instead of
# 0.6-1.4. A recipe choice measured on the validation split and not kept (docs/lsp.md).
_base_ = ['./td-hm_stacked-hourglass-hg2-f128_1xb16-6500it_lsp-128x128.py']

switch_iter = 5200
weak_train_pipeline = [  # the recipe's, two values changed in RandomBBoxTransform
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', min_total_keypoints=8, prob=0.2),
    dict(
        type='RandomBBoxTransform',
        shift_factor=0.1,
        shift_prob=0.3,
        scale_factor=(0.75, 1.25),
        rotate_factor=180,
        rotate_prob=0.25),
    dict(type='TopdownAffine', input_size=(128, 128)),
    dict(type='PhotometricDistortion'),
    dict(type='GenerateTarget', encoder={{_base_.codec}}),
    dict(type='PackPoseInputs')
]
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='StopOnNonFiniteLossHook'),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=1e-3, update_buffers=True,
         priority=49),
    dict(type='IterPipelineSwitchHook', switch_iter=switch_iter,
         switch_pipeline=weak_train_pipeline)
]
