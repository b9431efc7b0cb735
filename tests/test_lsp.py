"""Leeds Sports Pose the mmpose way: the converter on the real release, the dataset meta through
mmpose's own dataset class, and bad releases refused in one line."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from scipy.io import loadmat, savemat

from helpers.paths import LSP_CONFIG, REPO, SHARED_DATA

LSP = osp.join(SHARED_DATA, 'lsp')
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'lsp2coco.py')

needs_lsp = pytest.mark.skipif(not osp.isdir(LSP), reason='../shared/data/lsp is not here')


def convert(src, dst, *extra):
    return subprocess.run([sys.executable, CONVERTER, str(src), '--out', str(dst), *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    dst = tmp_path_factory.mktemp('lsp')
    result = convert(LSP, dst)
    assert result.returncode == 0, result.stderr
    return dst


@needs_lsp
def test_standard_split_and_records(converted):
    joints = loadmat(osp.join(LSP, 'joints.mat'))['joints']  # (3, 14, 2000)
    train = json.load(open(converted / 'annotations' / 'lsp_train.json'))
    test = json.load(open(converted / 'annotations' / 'lsp_test.json'))
    assert train['images'][0]['file_name'] == 'im0001.jpg'
    assert len(train['annotations']) == 900 and len(test['annotations']) == 1000
    assert test['images'][0]['file_name'] == 'im1001.jpg'
    assert test['images'][-1]['file_name'] == 'im2000.jpg'
    record = test['annotations'][6]  # im1007
    keypoints = np.array(record['keypoints']).reshape(14, 3)
    np.testing.assert_allclose(keypoints[:, :2], joints[:2, :, 1006].T - 1, atol=1e-3)
    # the release's inverted flag: 0 = visible -> COCO's 2; occluded but labelled -> 1
    np.testing.assert_array_equal(keypoints[:, 2], np.where(joints[2, :, 1006] == 0, 2, 1))
    assert (np.array([a['keypoints'][2::3] for a in train['annotations']]) == 1).any()
    # the box: the joints' tight box widened by 5% of its size on every side
    low, high = keypoints[:, :2].min(0), keypoints[:, :2].max(0)
    pad = (high - low) * 0.05
    np.testing.assert_allclose(record['bbox'], [*(low - pad), *(high - low + 2 * pad)],
                               atol=2e-3)
    image = test['images'][6]
    height, width = cv2.imread(osp.join(LSP, 'images', 'im1007.jpg')).shape[:2]
    assert (image['width'], image['height']) == (width, height)
    assert osp.realpath(converted / 'images') == osp.realpath(osp.join(LSP, 'images'))


@needs_lsp
def test_validation_split_is_every_tenth_training_photo(converted, tmp_path):
    names = {split: [image['file_name'] for image in json.load(
        open(converted / 'annotations' / f'lsp_{split}.json'))['images']]
        for split in ('train', 'val')}
    assert names['val'] == [f'im{i:04d}.jpg' for i in range(10, 1001, 10)]
    assert sorted(names['train'] + names['val']) == [f'im{i:04d}.jpg' for i in range(1, 1001)]
    result = convert(LSP, tmp_path, '--val', '0')  # the standard split alone
    assert result.returncode == 0, result.stderr
    assert len(json.load(open(tmp_path / 'annotations' / 'lsp_train.json'))['images']) == 1000
    assert not osp.exists(tmp_path / 'annotations' / 'lsp_val.json')


@needs_lsp
def test_the_config_validates_on_held_out_training_photos_and_tests_on_the_test_set():
    cfg = Config.fromfile(LSP_CONFIG)
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/lsp_train.json'
    assert cfg.val_dataloader.dataset.ann_file == 'annotations/lsp_val.json'
    assert cfg.test_dataloader.dataset.ann_file == 'annotations/lsp_test.json'


@needs_lsp
def test_a_rotated_view_of_a_real_photo(converted):
    """The config's test dataset seen rotated by 90 degrees (PhotoView after LoadImage): the
    ground truth is the photo's own turned by a quarter, and the box is the rotated person's
    (its width and height swap)."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from hourglass_plugin.run.views import with_view
    init_default_scope('mmpose')
    cfg = Config.fromfile(LSP_CONFIG)
    cfg.test_dataloader.dataset.data_root = str(converted)
    upright = DATASETS.build(with_view(cfg, {}).test_dataloader.dataset).prepare_data(6)
    turned = DATASETS.build(with_view(cfg, dict(rotate=90)).test_dataloader.dataset
                            ).prepare_data(6)
    gt = upright['data_samples'].gt_instances
    gt_turned = turned['data_samples'].gt_instances
    offsets = gt.keypoints[0] - gt.keypoints[0].mean(0)
    offsets_turned = gt_turned.keypoints[0] - gt_turned.keypoints[0].mean(0)
    # +90 deg as seen (y down): (dx, dy) -> (dy, -dx)
    np.testing.assert_allclose(offsets_turned, offsets[:, ::-1] * [1, -1], atol=1e-3)
    w, h = gt.bboxes[0, 2:] - gt.bboxes[0, :2]
    w_turned, h_turned = gt_turned.bboxes[0, 2:] - gt_turned.bboxes[0, :2]
    np.testing.assert_allclose([w_turned, h_turned], [h, w], rtol=1e-3)


@needs_lsp
def test_mmpose_reads_it_with_the_lsp_meta(converted):
    """The LSP config's own dataset (mmpose's BaseCocoStyleDataset) with the 14-joint meta."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    cfg = Config.fromfile(LSP_CONFIG)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = str(converted)
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 1000
    meta = dataset.metainfo
    assert meta['num_keypoints'] == 14
    assert meta['keypoint_id2name'][0] == 'right_ankle'
    assert meta['keypoint_id2name'][13] == 'head_top'
    # flip pairs: right ankle <-> left ankle, neck and head top stay
    assert meta['flip_indices'][:6] == [5, 4, 3, 2, 1, 0]
    assert meta['flip_indices'][12:] == [12, 13]
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 128, 128)


def _copy_release(tmp_path):
    """The release, its images linked, in ``tmp_path/release``."""
    src = tmp_path / 'release'
    os.makedirs(src / 'images')
    for name in sorted(os.listdir(osp.join(LSP, 'images'))):
        os.symlink(osp.join(LSP, 'images', name), src / 'images' / name)
    shutil.copy(osp.join(LSP, 'joints.mat'), src / 'joints.mat')
    return src


@needs_lsp
def test_a_joints_file_of_another_shape_is_named(tmp_path):
    src = _copy_release(tmp_path)
    joints = loadmat(osp.join(LSP, 'joints.mat'))['joints']
    savemat(src / 'joints.mat', {'joints': np.transpose(joints, (1, 0, 2))})  # (14, 3, N)
    result = convert(src, tmp_path / 'out')
    assert result.returncode == 1
    assert result.stderr.startswith('error: ') and result.stderr.count('\n') == 2  # + --debug
    assert 'joints.mat' in result.stderr and '(14, 3, 2000)' in result.stderr
    assert not osp.exists(tmp_path / 'out' / 'annotations' / 'lsp_train.json')


@needs_lsp
def test_a_missing_image_is_named(tmp_path):
    src = _copy_release(tmp_path)
    os.remove(src / 'images' / 'im1500.jpg')
    result = convert(src, tmp_path / 'out')
    assert result.returncode == 1
    assert result.stderr.startswith('error: ') and result.stderr.count('\n') == 2  # + --debug
    assert 'im1500.jpg' in result.stderr and 'record 1500' in result.stderr
    assert not osp.exists(tmp_path / 'out' / 'annotations' / 'lsp_train.json')


@pytest.mark.slow
@needs_lsp
def test_dumped_predictions_give_the_printed_pck(converted, tmp_path, run_tool_here):
    """tools/test.py --out: the pickle holds every test person's prediction and ground truth,
    and PCK@0.2 computed from it by hand equals the metric the tool printed."""
    import pickle
    import re

    import torch
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from hourglass_plugin.evaluation import correct_keypoints
    init_default_scope('mmpose')
    torch.manual_seed(0)
    checkpoint = tmp_path / 'random.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(LSP_CONFIG).model).state_dict()},
               checkpoint)
    dump = tmp_path / 'preds.pkl'
    result = run_tool_here('test.py', LSP_CONFIG, str(checkpoint), '--work-dir',
                           str(tmp_path / 'work'), '--out', str(dump), '--cfg-options',
                           f'test_dataloader.dataset.data_root={converted}/',
                           'test_dataloader.dataset.indices=24')
    assert result.returncode == 0, result.stderr[-3000:]
    printed = float(re.search(r'^pck/PCK@0\.2\s+\|\s+([\d.]+)$', result.stdout, re.M).group(1))
    samples = pickle.load(open(dump, 'rb'))
    assert len(samples) == 24
    pred = np.stack([s['pred_instances']['keypoints'][0] for s in samples])
    gt = np.stack([s['gt_instances']['keypoints'][0] for s in samples])
    test = json.load(open(converted / 'annotations' / 'lsp_test.json'))
    first = np.array(test['annotations'][0]['keypoints']).reshape(14, 3)[:, :2]
    np.testing.assert_allclose(gt[0], first, atol=1e-3)  # original-image pixels
    correct = correct_keypoints(pred, gt, np.ones(gt.shape[:2], bool), (9, 2), 0.2)
    assert 100 * correct.mean() == pytest.approx(printed, abs=1e-3)  # printed to 4 places


@pytest.mark.slow
@needs_lsp
def test_views_tool_tabulates_every_view(converted, tmp_path, run_tool_here):
    """tools/robustness.py: the upright row is tools/test.py's own result on the same photos,
    every standard view has its row, and the rotated mean is the mean of the rotated rows."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    torch.manual_seed(0)
    checkpoint = tmp_path / 'random.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(LSP_CONFIG).model).state_dict()},
               checkpoint)
    # batches made in this process: a loader worker per view would cost more than the view
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={converted}/',
               'test_dataloader.dataset.indices=12', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False']
    test = run_tool_here('test.py', LSP_CONFIG, str(checkpoint), '--work-dir',
                         str(tmp_path / 'test'), *options)
    assert test.returncode == 0, test.stderr[-3000:]
    views = run_tool_here('robustness.py', LSP_CONFIG, str(checkpoint), '--work-dir',
                          str(tmp_path / 'views'), *options)
    assert views.returncode == 0, views.stderr[-3000:]
    written = json.load(open(tmp_path / 'views' / 'views.json'))['views']
    assert list(written) == ['upright', 'rotated +45', 'rotated -45', 'rotated +90',
                             'rotated -90', 'rotated 180', 'box x0.7', 'box x1.4']
    import re
    printed = float(re.search(r'^pck/PCK@0\.2\s+\|\s+([\d.]+)$', test.stdout, re.M).group(1))
    assert written['upright']['pck/PCK@0.2'] == pytest.approx(printed, abs=1e-3)
    table = open(tmp_path / 'views' / 'views.md').read()
    rotated = [v['pck/PCK@0.2'] for k, v in written.items() if k.startswith('rotated')]
    mean_row = [line for line in table.splitlines() if line.startswith('| mean of the 5 rotated')]
    assert float(mean_row[0].split('|')[2]) == pytest.approx(sum(rotated) / 5, abs=0.006)


@pytest.mark.slow
def test_out_needs_a_pickle_name(tmp_path, run_tool_here):
    result = run_tool_here('test.py', LSP_CONFIG, 'x.pth', '--out', str(tmp_path / 'preds.json'))
    assert result.returncode == 2
    assert 'preds.json: the file must end in .pkl or .pickle' in result.stderr
