# The tiny model trained long enough to be killed mid-run (tests/test_crash_recovery.py): seeded,
# 3 iterations per epoch, a checkpoint after every epoch keeping only the newest (so mmengine
# removes the checkpoint last_checkpoint names before it writes the next one), and PCKh on the
# 5 images at the end. No random augmentation: a resumed run can then match exactly.
_base_ = ['./tiny_hg2_mpii-sample-64x64.py']

randomness = dict(seed=0)
train_cfg = dict(max_epochs=6, val_interval=6)
train_dataloader = dict(batch_size=2)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
val_dataloader = dict(
    _delete_=True,
    batch_size=5,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type='MpiiDataset',
        data_root='tests/data/mpii_sample/',
        data_mode='topdown',
        ann_file='annotations.json',
        data_prefix=dict(img='images/'),
        headbox_file='',  # the test writes one and sets it
        test_mode=True,
        pipeline={{_base_.val_pipeline}}))
val_cfg = dict(_delete_=True)
val_evaluator = dict(_delete_=True, type='MpiiPCKAccuracy')
