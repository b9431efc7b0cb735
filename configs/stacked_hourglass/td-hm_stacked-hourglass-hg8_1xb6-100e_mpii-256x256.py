# Newell et al. 2016, 8 stacks, on MPII at 256x256.
_base_ = ['./_base_/td-hm_stacked-hourglass_mpii-256x256.py']
model = dict(backbone=dict(num_stacks=8), head=dict(num_stacks=8))
