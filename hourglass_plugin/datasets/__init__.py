"""Datasets: mmpose's MPII with its input checked at build, MPII's head-box file, and the
annotation file of any dataset config checked before a run."""
from .annotation_file import annotation_file, check_annotation_file
from .checked_mpii import CheckedMpiiDataset
from .head_boxes import head_boxes_from_joints, write_mpii_gt_mat

__all__ = ['annotation_file', 'check_annotation_file', 'CheckedMpiiDataset',
           'head_boxes_from_joints', 'write_mpii_gt_mat']
