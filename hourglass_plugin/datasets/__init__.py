"""Datasets: mmpose's MPII with its input checked at build, MPII's head-box file, and the
annotation file of any dataset config checked before a run, and a fixed view of a test photo
(rotated, or its person's box scaled) for measuring how a network holds. The releases that
``tools/dataset_converters/`` convert: :mod:`.lsp_release` (LSP), :mod:`.newell_valid` (Newell et
al.'s MPII validation set)."""
from .annotation_file import annotation_file, check_annotation_file
from .checked_mpii import CheckedMpiiDataset
from .head_boxes import head_boxes_from_joints, write_mpii_gt_mat
from .photo_view import PhotoView

__all__ = ['annotation_file', 'check_annotation_file', 'CheckedMpiiDataset',
           'head_boxes_from_joints', 'PhotoView', 'write_mpii_gt_mat']
