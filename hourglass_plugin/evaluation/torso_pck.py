"""PCK normalised by the torso, with the torso joints found by name (LSP's metric)."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..errors import ConfigError, DatasetError


def correct_keypoints(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, torso: Sequence[int],
                      thr: float) -> np.ndarray:
    """(N, K) bool: labelled joints with ``|pred - gt| <= thr * |gt[torso[0]] - gt[torso[1]]|``.

    Args:
        pred: (N, K, 2) predicted keypoints.
        gt: (N, K, 2) ground-truth keypoints.
        mask: (N, K) which ground-truth joints count.
        torso: the two joint indices whose distance normalises.
        thr: the threshold, a fraction of the torso.
    """
    size = np.linalg.norm(gt[:, torso[0]] - gt[:, torso[1]], axis=-1)  # (N,)
    if (size <= 0).any():
        raise DatasetError(f'person {int(np.argmax(size <= 0))} has a torso of length 0: its '
                           f'ground-truth joints {list(torso)} coincide')
    return (np.linalg.norm(pred - gt, axis=-1) <= thr * size[:, None]) & mask


class TorsoPCKAccuracy(BaseMetric):
    """PCK@thr normalised by the ground truth's torso, per joint and over all joints.

    The torso is the distance between two joints named in the dataset meta (LSP's protocol:
    left shoulder to right hip, observer-centric). mmpose's ``PCKAccuracy(norm_item='torso')``
    takes keypoints 4 and 5 by position, JHMDB's order; here they are looked up by name, so the
    metric cannot silently measure a knee-to-ankle distance on another dataset.

    Metrics, in percent: ``PCK@{thr}`` (every labelled joint of every person, pooled), and per
    joint kind ``PCK@{thr}/{name}`` with ``left_``/``right_`` dropped (the two sides pooled: LSP's
    tables report Head, Shoulder, Elbow, ... this way).

    Args:
        thrs: thresholds, fractions of the torso (default 0.2 and 0.1).
        torso: the names of the two joints whose distance is the torso.
    """
    default_prefix: Optional[str] = 'pck'

    def __init__(self,
                 thrs: Sequence[float] = (0.2, 0.1),
                 torso: Sequence[str] = ('left_shoulder', 'right_hip'),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not thrs or any(not 0 < t for t in thrs):
            raise ConfigError(f'thrs must be positive fractions of the torso, got {thrs}')
        if len(torso) != 2 or torso[0] == torso[1]:
            raise ConfigError(f'torso must name two different joints, got {torso}')
        self.thrs = tuple(thrs)
        self.torso = tuple(torso)

    def torso_indices(self):
        """The indices of the torso joints in the dataset meta's keypoint order."""
        name2id = (self.dataset_meta or {}).get('keypoint_name2id', {})
        missing = [name for name in self.torso if name not in name2id]
        if missing:
            raise ConfigError(f'TorsoPCKAccuracy: torso joint(s) {missing} not in the dataset '
                              f"meta's keypoints {sorted(name2id)}")
        return [name2id[name] for name in self.torso]

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt = sample['gt_instances']
            gt_xy = gt['ori_keypoints'] if 'ori_keypoints' in gt else gt['keypoints']
            visible = gt.get('ori_keypoints_visible', gt['keypoints_visible'])
            self.results.append(dict(
                pred=np.asarray(sample['pred_instances']['keypoints'])[0, :, :2],
                gt=np.asarray(gt_xy)[0, :, :2],
                mask=np.asarray(visible).reshape(-1) > 0))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])  # (N, K, 2)
        gt = np.stack([r['gt'] for r in results])  # (N, K, 2)
        mask = np.stack([r['mask'] for r in results])  # (N, K)
        torso = self.torso_indices()
        kinds: Dict[str, list] = {}  # joint kind (left and right pooled) -> its indices
        for index, name in sorted(self.dataset_meta['keypoint_id2name'].items()):
            kinds.setdefault(name.replace('left_', '').replace('right_', ''), []).append(index)
        metrics = {}
        for thr in self.thrs:
            correct = correct_keypoints(pred, gt, mask, torso, thr)  # (N, K)
            metrics[f'PCK@{thr}'] = 100.0 * correct.sum() / max(mask.sum(), 1)
            for kind, indices in kinds.items():
                counted = mask[:, indices].sum()
                metrics[f'PCK@{thr}/{kind}'] = (100.0 * correct[:, indices].sum() / counted
                                                if counted else float('nan'))
        return metrics
