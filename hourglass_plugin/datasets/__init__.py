"""Datasets: mmpose's MPII with its input checked at build, and MPII's head-box file."""
from .checked_mpii import CheckedMpiiDataset
from .head_boxes import head_boxes_from_joints, write_mpii_gt_mat

__all__ = ['CheckedMpiiDataset', 'head_boxes_from_joints', 'write_mpii_gt_mat']
