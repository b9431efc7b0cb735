"""The keypoint set a converted pose checkpoint carries as ``meta.dataset_meta``.

mmpose's ``init_model`` and inferencers take keypoint names, flip pairs, skeleton and colours
from ``checkpoint['meta']['dataset_meta']`` first, then from the config's dataset, and fall back
to COCO's with a warning. A converted checkpoint therefore carries the metadata of the keypoint
set its weights were trained on: read off the weights where they tell (a heatmap layer with 16 or
17 outputs), else named by the user (``tools/convert_checkpoint.py --keypoints``).
"""
from typing import Dict, Optional

from ..errors import UsageError

#: keypoint set -> mmpose's dataset class whose METAINFO describes it
KEYPOINT_SETS = {'mpii': 'MpiiDataset', 'coco': 'CocoDataset'}
#: heatmap count -> keypoint set, where the weights tell
BY_COUNT = {16: 'mpii', 17: 'coco'}


def keypoint_set(backbone_cfg: Dict, source: str, named: Optional[str] = None) -> Optional[str]:
    """'mpii', 'coco' or None (a detection backbone) for a converted checkpoint.

    Args:
        backbone_cfg: the converted backbone's config (``num_keypoints`` where it predicts
            heatmaps).
        source: the converter's source name; 'mmdet' checkpoints are detectors (None).
        named: the set the user named ('none' for none); it must agree with the weights.
    """
    if named is not None and named != 'none' and named not in KEYPOINT_SETS:
        raise ValueError(f'keypoints={named!r}; choose one of {sorted(KEYPOINT_SETS)} or none')
    count = backbone_cfg.get('num_keypoints')
    from_weights = BY_COUNT.get(count)
    if named is not None:
        if from_weights is not None and named != from_weights:
            raise UsageError(f'--keypoints {named}, but the weights predict {count} heatmaps '
                             f'({from_weights})')
        return None if named == 'none' else named
    if from_weights is not None or source == 'mmdet':
        return from_weights
    if count:
        raise UsageError(f'the weights predict {count} heatmaps, no keypoint set this '
                         'converter knows; name one with --keypoints '
                         f'{{{",".join(KEYPOINT_SETS)},none}}')
    raise UsageError(f'a {source} backbone does not tell which keypoints it was trained on; name '
                     f'them with --keypoints {{{",".join(KEYPOINT_SETS)},none}}')


def dataset_meta(name: str) -> Dict:
    """mmpose's parsed metadata of keypoint set ``name`` (as ``init_model`` expects it)."""
    from mmpose import datasets
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    return parse_pose_metainfo(getattr(datasets, KEYPOINT_SETS[name]).METAINFO)
