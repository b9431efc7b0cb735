# The LSP recipe's short run: the same network, data, augmentation and hooks over 600 iterations,
# validated once on the held-out training photos (lsp_val.json), for comparing a recipe's choices
# (the learning rate: --cfg-options optim_wrapper.optimizer.lr=...) without the test set.
_base_ = ['./td-hm_stacked-hourglass-hg2-f128_1xb16-8700it_lsp-128x128.py']

max_iters = 600
LR_PEAK = {{_base_.LR_PEAK}}
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),  # warm-up
    dict(type='CosineAnnealingLR', begin=100, end=max_iters, T_max=max_iters - 100,
         eta_min=0, by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
