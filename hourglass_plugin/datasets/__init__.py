"""Datasets: MPII with its input checked at build, synthetic people rendered in MPII's layout, and
MPII's head-box file."""
from .checked_mpii import CheckedMpiiDataset
from .head_boxes import head_boxes_from_joints, write_mpii_gt_mat
from .synthetic_mpii import META_FILE, is_complete, render_dataset

__all__ = [
    'CheckedMpiiDataset', 'META_FILE', 'render_dataset', 'is_complete', 'head_boxes_from_joints',
    'write_mpii_gt_mat'
]
