# Newell et al. 2016, 4 stacks, on MPII at 256x256.
_base_ = ['./_base_/td-hm_stacked-hourglass_mpii-256x256.py']
model = dict(backbone=dict(num_stacks=4), head=dict(num_stacks=4))
