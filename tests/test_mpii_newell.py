"""The MPII configs' own evaluation scores Newell et al.'s 8-stack predictions at the paper's
validation PCKh (88.02), from their files converted by
tools/dataset_converters/newell_valid2mpii.py."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from helpers.paths import CONFIGS, REPO, SHARED_DATA

NEWELL = osp.join(SHARED_DATA, 'mpii_valid_newell')
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'newell_valid2mpii.py')
HG8 = osp.join(CONFIGS, 'stacked_hourglass',
               'td-hm_stacked-hourglass-hg8_1xb6-100e_mpii-256x256.py')

pytestmark = pytest.mark.skipif(not osp.isdir(NEWELL),
                                reason='../shared/data/mpii_valid_newell is not here')


def convert(*args):
    return subprocess.run([sys.executable, CONVERTER, *map(str, args)], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    dst = tmp_path_factory.mktemp('mpii')
    result = convert(osp.join(NEWELL, 'valid.h5'), '--out', dst, '--preds',
                     osp.join(NEWELL, 'valid-ours.h5'))
    assert result.returncode == 0, result.stderr
    return dst


def score(dst, preds: np.ndarray) -> dict:
    """The hg8 config's val_evaluator on its val dataset (the files in ``dst``; mmpose's
    MpiiDataset, since the images are not here), fed ``preds`` (N, 16, 2) as predictions."""
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    cfg = Config.fromfile(HG8)
    dataset_cfg = cfg.val_dataloader.dataset
    dataset_cfg.update(type='MpiiDataset', data_root=str(dst), pipeline=[], test_mode=True,
                       headbox_file=str(dst / 'annotations' / 'mpii_gt_val.mat'))
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == len(preds)
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    samples = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        samples.append(dict(
            gt_instances=dict(keypoints=info['keypoints'],
                              keypoints_visible=info['keypoints_visible'],
                              head_size=info['head_size']),
            pred_instances=dict(keypoints=preds[index][None])))
    evaluator.process(samples)
    # keys as logged under a Runner ('pck/PCK') or bare ('PCK'), without the prefix
    return {k.split('/')[-1]: v for k, v in evaluator.evaluate(len(samples)).items()}


def test_authors_predictions_score_the_papers_pckh(converted):
    preds = np.load(converted / 'annotations' / 'mpii_val_preds.npy')
    metrics = score(converted, preds)
    assert metrics['PCK'] == pytest.approx(88.02, abs=0.01), metrics


def test_shifted_predictions_score_lower(converted):
    preds = np.load(converted / 'annotations' / 'mpii_val_preds.npy')
    angle = np.random.default_rng(0).uniform(0, 2 * np.pi, preds.shape[:2])
    shifted = preds + 8 * np.stack([np.cos(angle), np.sin(angle)], axis=-1)  # 8 px, any direction
    authors = score(converted, preds)['PCK']
    assert score(converted, shifted)['PCK'] < authors - 1


def test_head_size_is_the_files_normalize(converted):
    """PCKh's head size (0.6 x the head box's diagonal, as mmpose reads the .mat) = normalize."""
    import h5py
    from scipy.io import loadmat
    boxes = loadmat(converted / 'annotations' / 'mpii_gt_val.mat')['headboxes_src']  # (2, 2, N)
    head_size = 0.6 * np.linalg.norm(boxes[1] - boxes[0], axis=0)
    with h5py.File(osp.join(NEWELL, 'valid.h5'), 'r') as f:
        np.testing.assert_allclose(head_size, f['normalize'][()], rtol=1e-9)


def test_a_file_without_normalize_is_named(tmp_path):
    import h5py
    bad = tmp_path / 'valid.h5'
    with h5py.File(osp.join(NEWELL, 'valid.h5'), 'r') as src, h5py.File(bad, 'w') as dst:
        for key in ('imgname', 'center', 'scale', 'part'):
            dst[key] = src[key][()]
    result = convert(bad, '--out', tmp_path / 'out')
    assert result.returncode == 1
    assert result.stderr.startswith('error: ') and result.stderr.count('\n') == 2  # + --debug
    assert str(bad) in result.stderr and 'normalize' in result.stderr
    assert not osp.exists(tmp_path / 'out' / 'annotations' / 'mpii_val.json')
