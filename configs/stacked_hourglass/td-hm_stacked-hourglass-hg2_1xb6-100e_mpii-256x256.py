# Newell et al. 2016, 2 stacks, on MPII at 256x256.
_base_ = ['./_base_/td-hm_stacked-hourglass_mpii-256x256.py']
model = dict(backbone=dict(num_stacks=2), head=dict(num_stacks=2))
