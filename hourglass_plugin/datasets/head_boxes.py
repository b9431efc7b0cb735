"""MPII's ``mpii_gt_val.mat`` (the head boxes PCKh is normalised by), written and derived.

mmpose's ``MpiiDataset`` reads ``headboxes_src`` (2, 2, N) from that file for its val records, in
order, and ``MpiiPCKAccuracy`` normalises by ``0.6 * |box[1] - box[0]|``. Real MPII's head boxes
are drawn by annotators; for annotations that ship without them (such as the 5 real images of
``tests/data/mpii_sample``) :func:`head_boxes_from_joints` derives one from the joints.
"""
import io
from typing import List, Optional, Sequence

import numpy as np
from scipy.io import savemat

from ..checkpoint import atomic_write
from ..errors import DatasetError

UPPER_NECK, HEAD_TOP = 8, 9
#: The names of ``dataset_joints`` in the real ``mpii_gt_val.mat``.
MPII_MAT_JOINT_NAMES = ('rank', 'rkne', 'rhip', 'lhip', 'lkne', 'lank', 'pelv', 'thor', 'neck',
                        'head', 'rwri', 'relb', 'rsho', 'lsho', 'lelb', 'lwri')


def head_boxes_from_joints(records: Sequence[dict]) -> np.ndarray:
    """(N, 2, 2) 0-based ``[[x1, y1], [x2, y2]]``: a square centred between upper neck and head
    top whose side is their distance (the head segment MPII's annotators box).

    Raises:
        DatasetError: naming the record whose neck or head top is missing or coincident.
    """
    boxes = []
    for index, record in enumerate(records):
        joints = np.asarray(record['joints'], dtype=float)
        neck, top = joints[UPPER_NECK], joints[HEAD_TOP]
        side = float(np.linalg.norm(top - neck))
        if not np.isfinite(side) or side <= 0 or (neck < 0).any() or (top < 0).any():
            raise DatasetError(f'record {index} ({record.get("image")}): cannot derive a head box '
                               f'from upper_neck {neck.tolist()} and head_top {top.tolist()}')
        centre = (neck + top) / 2 - 1  # MPII joints are 1-based
        boxes.append([centre - side / 2, centre + side / 2])
    return np.asarray(boxes)


def write_mpii_gt_mat(path: str,
                      records: List[dict],
                      head_boxes: np.ndarray,
                      inside: Optional[np.ndarray] = None) -> None:
    """``mpii_gt_val.mat`` in the real file's MATLAB layout for ``records`` (in order), written
    whole or not at all.

    Args:
        head_boxes: (N, 2, 2) 0-based boxes; written 1-based as ``headboxes_src`` (2, 2, N).
        inside: (N, 16) flags of joints inside the image; ``jnt_missing`` is its negation
            (all joints present when None).
    """
    num = len(records)
    if head_boxes.shape != (num, 2, 2):
        raise ValueError(f'head_boxes must be ({num}, 2, 2), got {head_boxes.shape}')
    if inside is None:
        inside = np.ones((num, len(MPII_MAT_JOINT_NAMES)), dtype=bool)
    names = np.empty((1, len(MPII_MAT_JOINT_NAMES)), dtype=object)
    names[0, :] = MPII_MAT_JOINT_NAMES
    buffer = io.BytesIO()
    savemat(buffer, {
        'headboxes_src': np.transpose(head_boxes + 1, (1, 2, 0)),
        'pos_gt_src': np.transpose(np.array([r['joints'] for r in records], dtype=float),
                                   (1, 2, 0)),
        'jnt_visible': np.array([r['joints_vis'] for r in records], dtype=float).T,
        'jnt_missing': (~inside).astype(float).T,
        'dataset_joints': names})
    atomic_write(path, buffer.getvalue())  # whole or not at all
