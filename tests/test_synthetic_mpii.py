"""The synthetic MPII renderer: layout, annotation conventions, determinism, mmpose's reader."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from scipy.io import loadmat

from demo_kit.synthetic_mpii import (HEAD_TOP, L_HIP, L_SHOULDER, NUM_JOINTS, PELVIS, R_HIP,
                                     R_SHOULDER, THORAX, UPPER_NECK, _draw_figure, _Figure,
                                     _sample_colours, is_complete, render_dataset,
                                     sample_canonical_pose)
from helpers.processes import load_tool

NUM_TRAIN, NUM_VAL, SIZE = 8, 4, (320, 320)


def _load(root: str, split: str) -> list:
    with open(osp.join(root, 'annotations', f'mpii_{split}.json')) as f:
        return json.load(f)


def _read_bytes(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def _all_files(root: str) -> dict:
    """Relative path -> bytes of every file under ``root``."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            files[osp.relpath(path, root)] = _read_bytes(path)
    return files


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    """(root, summary) of a small dataset rendered once for the module."""
    root = str(tmp_path_factory.mktemp('synthetic') / 'mpii')
    return root, render_dataset(root, NUM_TRAIN, NUM_VAL, seed=0, image_size=SIZE, workers=2)


def test_layout_and_summary(rendered):
    root, summary = rendered
    for name in ('annotations/mpii_train.json', 'annotations/mpii_val.json',
                 'annotations/mpii_gt_val.mat', 'synthetic_meta.json'):
        assert osp.isfile(osp.join(root, name)), name
    images = sorted(os.listdir(osp.join(root, 'images')))
    assert len(images) == NUM_TRAIN + NUM_VAL
    assert all(name.endswith('.jpg') for name in images)
    assert summary['num_train'] == NUM_TRAIN and summary['num_val'] == NUM_VAL
    assert summary['train_ann'] == osp.join(root, 'annotations', 'mpii_train.json')
    assert summary['headbox_file'] == osp.join(root, 'annotations', 'mpii_gt_val.mat')
    assert 0 < summary['invisible_joints'] < 0.5
    assert is_complete(root, NUM_TRAIN, NUM_VAL, 0, SIZE)
    assert not is_complete(root, NUM_TRAIN, NUM_VAL, 1, SIZE)
    assert not is_complete(root, NUM_TRAIN + 1, NUM_VAL, 0, SIZE)


def test_records_follow_mpii_json_schema(rendered):
    root, _ = rendered
    width, height = SIZE
    names = []
    for split, count in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        records = _load(root, split)
        assert len(records) == count
        for record in records:
            assert set(record) == {'image', 'center', 'scale', 'joints', 'joints_vis'}
            # mmpose's MpiiDataset takes int(file stem) as the image id.
            int(record['image'].split('.')[0])
            image = cv2.imread(osp.join(root, 'images', record['image']))
            assert image.shape == (height, width, 3)
            assert len(record['joints']) == NUM_JOINTS
            assert all(len(joint) == 2 and all(isinstance(v, float) for v in joint)
                       for joint in record['joints'])
            assert len(record['joints_vis']) == NUM_JOINTS
            assert set(record['joints_vis']) <= {0, 1}
            assert isinstance(record['scale'], float) and record['scale'] > 0
            # 1-based: the centre lies within [1, W] x [1, H] like every visible joint.
            cx, cy = record['center']
            assert 1 <= cx <= width and 1 <= cy <= height
            names.append(record['image'])
    assert len(set(names)) == len(names)


def test_visibility_means_inside_and_uncovered(rendered):
    root, _ = rendered
    width, height = SIZE
    records = _load(root, 'train') + _load(root, 'val')
    joints = np.array([r['joints'] for r in records])  # (N, 16, 2), 1-based
    vis = np.array([r['joints_vis'] for r in records], dtype=bool)  # (N, 16)
    inside = ((joints >= 1) & (joints <= (width, height))).all(-1)
    assert inside[vis].all(), 'a visible joint lies outside the image'
    assert (~vis).any(), 'no occluded or truncated joint in the whole set'
    assert vis.sum(1).min() >= 1
    # Occluders and people in front hide joints inside the image too, not only the border.
    assert (inside & ~vis).any()


def test_person_box_holds_the_person(rendered):
    """The crop mmpose takes (centre moved down 15/200 of the box, padded 1.25x) holds every
    joint with the person near its middle, and the box is not much larger than the person."""
    root, _ = rendered
    for record in _load(root, 'train') + _load(root, 'val'):
        joints = np.array(record['joints'])
        side = 200 * record['scale']
        centre = np.array(record['center']) + (0, 15 / 200 * side)
        assert (np.abs(joints - centre) <= 1.25 * side / 2).all()
        extent = (joints.max(0) - joints.min(0)).max()
        assert extent <= side <= 1.3 * extent
        middle = (joints.max(0) + joints.min(0)) / 2
        assert np.linalg.norm(centre - middle) < 0.15 * side


def test_headboxes_match_val_records(rendered):
    root, _ = rendered
    records = _load(root, 'val')
    mat = loadmat(osp.join(root, 'annotations', 'mpii_gt_val.mat'))
    boxes = mat['headboxes_src']
    assert boxes.shape == (2, 2, len(records))
    assert mat['pos_gt_src'].shape == (NUM_JOINTS, 2, len(records))
    assert mat['jnt_missing'].shape == mat['jnt_visible'].shape == (NUM_JOINTS, len(records))
    width, height = SIZE
    for i, record in enumerate(records):
        (x1, y1), (x2, y2) = boxes[:, :, i]
        assert x1 < x2 and y1 < y2
        for joint in (HEAD_TOP, UPPER_NECK):
            x, y = record['joints'][joint]
            assert x1 <= x <= x2 and y1 <= y <= y2
        head_size = 0.6 * np.hypot(x2 - x1, y2 - y1)
        assert 0.03 < head_size / (200 * record['scale']) < 0.3
        np.testing.assert_allclose(mat['pos_gt_src'][:, :, i], record['joints'])
        np.testing.assert_array_equal(mat['jnt_visible'][:, i], record['joints_vis'])
        joints = np.array(record['joints'])
        outside = ~((joints >= 1) & (joints <= (width, height))).all(-1)
        np.testing.assert_array_equal(mat['jnt_missing'][:, i], outside)


def test_same_seed_same_bytes_other_seed_other_data(rendered, tmp_path):
    root, _ = rendered  # rendered by two processes
    again = str(tmp_path / 'again')
    render_dataset(again, NUM_TRAIN, NUM_VAL, seed=0, image_size=SIZE, workers=1)
    first, second = _all_files(root), _all_files(again)
    assert first.keys() == second.keys()
    for name in first:
        if not name.endswith('.mat'):  # savemat stamps the creation time in the header
            assert first[name] == second[name], name
    mats = [loadmat(osp.join(r, 'annotations', 'mpii_gt_val.mat')) for r in (root, again)]
    for key in ('headboxes_src', 'pos_gt_src', 'jnt_visible', 'jnt_missing'):
        np.testing.assert_array_equal(mats[0][key], mats[1][key])

    other = str(tmp_path / 'other')
    render_dataset(other, NUM_TRAIN, NUM_VAL, seed=1, image_size=SIZE)
    assert _load(other, 'train') != _load(root, 'train')
    name = _load(root, 'train')[0]['image']
    assert (_read_bytes(osp.join(other, 'images', name)) !=
            _read_bytes(osp.join(root, 'images', name)))


def test_val_set_does_not_depend_on_num_train(rendered, tmp_path):
    root, _ = rendered
    fewer = str(tmp_path / 'fewer')
    render_dataset(fewer, 3, NUM_VAL, seed=0, image_size=SIZE)
    assert _load(fewer, 'val') == _load(root, 'val')
    assert _load(fewer, 'train') == _load(root, 'train')[:3]
    for record in _load(root, 'val'):
        assert (_read_bytes(osp.join(fewer, 'images', record['image'])) ==
                _read_bytes(osp.join(root, 'images', record['image'])))


def test_canonical_pose_is_plausible():
    """Facing the camera, the person's left is on +x; the head is above the pelvis; segments
    keep human proportions."""
    for seed in range(300):
        joints, face = sample_canonical_pose(np.random.default_rng(seed))
        assert joints.shape == (NUM_JOINTS, 2) and face.shape == (4, 2)
        assert joints[L_SHOULDER, 0] > joints[R_SHOULDER, 0]
        assert joints[L_HIP, 0] > joints[R_HIP, 0]
        assert joints[HEAD_TOP, 1] < joints[UPPER_NECK, 1] < joints[PELVIS, 1]
        for parent, child in ((0, 1), (1, 2), (4, 5), (3, 4), (10, 11), (11, 12), (13, 14),
                              (14, 15), (6, 7), (7, 8), (8, 9)):
            length = np.linalg.norm(joints[child] - joints[parent])
            assert 0.02 < length < 0.32


def test_body_shows_front_or_back_without_the_face():
    """The same figure drawn facing the camera and facing away differs on the body below the
    neckline (placket and buckle vs seat pockets), so its left and right can be told even when
    an occluder hides the face."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        joints, face = sample_canonical_pose(rng)
        size, offset = 200.0, np.array([150.0, 140.0])
        common = dict(joints=joints * size + offset, size=size, build=1.0,
                      head_half_width=0.052 * size, colours=_sample_colours(rng))
        front, back = np.zeros((2, 320, 320, 3), np.uint8)
        _draw_figure(front, _Figure(face=face * size + offset, **common))
        _draw_figure(back, _Figure(face=None, **common))
        below_neckline = int(np.ceil(common['joints'][THORAX, 1] + 0.08 * size))
        differs = np.abs(front.astype(int) - back.astype(int)).max(-1)[below_neckline:] > 30
        assert differs.sum() >= 30, f'seed {seed}: front and back look alike on the body'


@pytest.mark.parametrize('kwargs, name', [
    (dict(num_train=0, num_val=1), 'num_train'),
    (dict(num_train=2, num_val=-1), 'num_val'),
    (dict(num_train=2.5, num_val=1), 'num_train'),
    (dict(num_train=1, num_val=1, seed=-3), 'seed'),
    (dict(num_train=1, num_val=1, image_size=(32, 320)), 'image_size'),
    (dict(num_train=1, num_val=1, image_size=320), 'image_size'),
    (dict(num_train=1, num_val=1, workers=0), 'workers'),
])
def test_invalid_arguments_name_the_argument(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        render_dataset(str(tmp_path / 'bad'), **kwargs)
    assert not osp.exists(tmp_path / 'bad')


def _tool():
    """python -m tools.make_synthetic_mpii."""
    return load_tool('make_synthetic_mpii')


def test_cli_renders_once_then_is_a_no_op(tmp_path, capsys):
    tool = _tool()
    out = str(tmp_path / 'cli')
    argv = ['--out', out, '--num-train', '3', '--num-val', '2', '--seed', '5']
    tool.main(tool.parse_args(argv))
    assert 'rendered 3 train + 2 val images' in capsys.readouterr().out
    with open(osp.join(out, 'synthetic_meta.json')) as f:
        meta = json.load(f)
    assert (meta['num_train'], meta['num_val'], meta['seed']) == (3, 2, 5)
    stamps = {name: os.stat(osp.join(out, 'images', name)).st_mtime_ns
              for name in os.listdir(osp.join(out, 'images'))}

    tool.main(tool.parse_args(argv))
    assert 'nothing to do' in capsys.readouterr().out
    assert stamps == {name: os.stat(osp.join(out, 'images', name)).st_mtime_ns
                      for name in os.listdir(osp.join(out, 'images'))}

    # Other arguments, or an incomplete directory, render again.
    os.remove(osp.join(out, 'images', sorted(stamps)[0]))
    tool.main(tool.parse_args(argv))
    assert 'rendered' in capsys.readouterr().out
    assert len(os.listdir(osp.join(out, 'images'))) == 5


@pytest.mark.parametrize('bad', [['--num-train', '0'], ['--num-val', '-2'], ['--seed', '-1'],
                                 ['--num-train', 'many']])
def test_cli_rejects_invalid_arguments(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as error:
        _tool().parse_args(['--out', str(tmp_path / 'cli'), *bad])
    assert error.value.code == 2
    assert bad[0] in capsys.readouterr().err
    assert not osp.exists(tmp_path / 'cli')


def test_mmpose_mpii_dataset_reads_it(rendered):
    datasets = pytest.importorskip('mmpose.datasets')
    root, summary = rendered
    for split, test_mode, headbox_file in (('train', False, None),
                                           ('val', True, summary['headbox_file'])):
        records = _load(root, split)
        dataset = datasets.MpiiDataset(
            ann_file=f'annotations/mpii_{split}.json', data_root=root,
            data_prefix=dict(img='images/'), headbox_file=headbox_file, test_mode=test_mode,
            pipeline=[])
        assert len(dataset) == len(records)
        for index, record in enumerate(records):
            info = dataset.get_data_info(index)
            assert info['img_path'] == osp.join(root, 'images', record['image'])
            assert info['keypoints'].shape == (1, NUM_JOINTS, 2)
            # mmpose 1.3.2 passes MPII's 1-based joints through as they are (it moves only the
            # centre to 0-based), the same for the real files and these.
            np.testing.assert_allclose(info['keypoints'][0], record['joints'], rtol=1e-6)
            np.testing.assert_array_equal(info['keypoints_visible'][0], record['joints_vis'])
            side = 200 * record['scale']
            np.testing.assert_allclose(
                info['bbox_center'][0],
                np.array(record['center']) + (0, 15 / 200 * side) - 1, rtol=1e-5)
            np.testing.assert_allclose(info['bbox_scale'][0], (side, side), rtol=1e-5)
            if headbox_file:
                (x1, y1), (x2, y2) = loadmat(headbox_file)['headboxes_src'][:, :, index]
                np.testing.assert_allclose(info['head_size'][0],
                                           0.6 * np.hypot(x2 - x1, y2 - y1), rtol=1e-5)


def test_mmpose_topdown_pipeline_crops_the_person(rendered):
    """Through mmpose's top-down pipeline every visible joint lands inside the 256x256 input and
    gets a heatmap peak: centre, scale and the image agree."""
    datasets = pytest.importorskip('mmpose.datasets')
    from mmpose.datasets.transforms import (GenerateTarget, GetBBoxCenterScale, LoadImage,
                                            TopdownAffine)
    root, _ = rendered
    codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
    pipeline = [LoadImage(), GetBBoxCenterScale(), TopdownAffine(input_size=(256, 256)),
                GenerateTarget(encoder=codec)]
    dataset = datasets.MpiiDataset(ann_file='annotations/mpii_train.json', data_root=root,
                                   data_prefix=dict(img='images/'), pipeline=pipeline)
    for index, record in enumerate(_load(root, 'train')):
        sample = dataset[index]
        assert sample['img'].shape == (256, 256, 3)
        vis = np.array(record['joints_vis'], dtype=bool)
        keypoints = sample['transformed_keypoints'][0][vis]
        assert ((keypoints >= 0) & (keypoints < 256)).all()
        assert (sample['heatmaps'].reshape(NUM_JOINTS, -1).max(1)[vis] > 0.5).all()
