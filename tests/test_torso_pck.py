"""TorsoPCKAccuracy (LSP's PCK@0.2 / @0.1 of the torso) on a case computed by hand."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation import PCKAccuracy

from helpers.paths import CONFIGS
from hourglass_plugin.evaluation import TorsoPCKAccuracy

LSP_META = osp.join(CONFIGS, '_base_', 'datasets', 'lsp.py')
RANK, RKNE, RHIP, LKNE, LANK, RWRI, LSHO, LWRI = 0, 1, 2, 4, 5, 6, 9, 11


def lsp_meta() -> dict:
    return parse_pose_metainfo(Config.fromfile(LSP_META).dataset_info)


def sample(gt: np.ndarray, pred: np.ndarray, visible: np.ndarray) -> dict:
    """A data sample as mmpose's evaluator hands it to a metric (to_dict of PoseDataSample)."""
    return dict(gt_instances=dict(keypoints=gt[None], keypoints_visible=visible[None]),
                pred_instances=dict(keypoints=pred[None]))


def hand_case():
    """Two people. Person 1: torso |(0,0)-(0,10)| = 10; the right ankle is 1.5 off, the right
    knee 2.5 off. Person 2: torso |(0,0)-(12,16)| = 20; the right ankle is 3 off, the right
    wrist 50 off but not labelled."""
    rng = np.random.default_rng(0)
    gt1 = rng.uniform(20, 80, (14, 2))
    gt1[LSHO], gt1[RHIP] = (0, 0), (0, 10)
    pred1 = gt1.copy()
    pred1[RANK] += (1.5, 0)
    pred1[RKNE] += (0, 2.5)
    gt2 = rng.uniform(20, 80, (14, 2))
    gt2[LSHO], gt2[RHIP] = (0, 0), (12, 16)
    pred2 = gt2.copy()
    pred2[RANK] += (0, 3)
    pred2[RWRI] += (50, 0)
    visible2 = np.ones(14)
    visible2[RWRI] = 0
    return [sample(gt1, pred1, np.ones(14)), sample(gt2, pred2, visible2)]


def evaluate(metric, samples) -> dict:
    metric.dataset_meta = lsp_meta()
    metric.process([], samples)
    return metric.evaluate(len(samples))


def test_hand_computed_case():
    metrics = evaluate(TorsoPCKAccuracy(thrs=(0.2, 0.1)), hand_case())
    # @0.2 (2 px and 4 px): only person 1's right knee misses, of 14 + 13 labelled joints
    assert metrics['pck/PCK@0.2'] == pytest.approx(100 * 26 / 27)
    # @0.1 (1 px and 2 px): both right ankles and person 1's right knee miss
    assert metrics['pck/PCK@0.1'] == pytest.approx(100 * 24 / 27)
    # per joint kind, left and right pooled
    assert metrics['pck/PCK@0.2/knee'] == pytest.approx(75.0)
    assert metrics['pck/PCK@0.2/ankle'] == pytest.approx(100.0)
    assert metrics['pck/PCK@0.1/ankle'] == pytest.approx(50.0)
    assert metrics['pck/PCK@0.2/wrist'] == pytest.approx(100.0)  # 3 labelled wrists
    assert metrics['pck/PCK@0.2/head_top'] == pytest.approx(100.0)


def test_mmpose_torso_by_position_measures_something_else():
    """mmpose's PCKAccuracy(norm_item='torso') takes keypoints 4 and 5 (JHMDB's torso): on LSP's
    order a left knee and ankle, so its number differs from the torso's."""
    samples = hand_case()
    ours = evaluate(TorsoPCKAccuracy(thrs=(0.2, )), samples)['pck/PCK@0.2']
    mmpose = PCKAccuracy(thr=0.2, norm_item='torso')
    theirs = evaluate(mmpose, samples)['tPCK']
    leg = np.linalg.norm(samples[0]['gt_instances']['keypoints'][0, LKNE] -
                         samples[0]['gt_instances']['keypoints'][0, LANK])
    assert leg != pytest.approx(10.0)
    assert 100 * theirs != pytest.approx(ours)


def test_torso_joints_must_be_in_the_meta():
    metric = TorsoPCKAccuracy(torso=('left_shoulder', 'right_pelvis'))
    with pytest.raises(ValueError, match='right_pelvis'):
        evaluate(metric, hand_case())


@pytest.mark.parametrize('kwargs, culprit', [(dict(thrs=()), 'thrs'), (dict(thrs=(-0.2, )), 'thrs'),
                                             (dict(torso=('neck', 'neck')), 'torso')])
def test_bad_arguments(kwargs, culprit):
    with pytest.raises(ValueError, match=culprit):
        TorsoPCKAccuracy(**kwargs)
