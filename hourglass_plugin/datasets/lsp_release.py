"""Leeds Sports Pose as released (``images/``, ``joints.mat``) converted to mmpose's COCO-style
top-down files: the standard split, a validation split of training photos, boxes from the joints
(``tools/dataset_converters/lsp2coco.py`` describes the files)."""
import json
import os
import os.path as osp

import numpy as np

from ..checkpoint import atomic_write
from ..errors import DatasetError

NUM_JOINTS = 14
TRAIN_IMAGES = 1000  # the standard protocol: the first 1000 images train, the rest test


def load_joints(path: str) -> np.ndarray:
    """(N, 14, 3) joints (x, y, visible) from LSP's ``joints.mat`` (3, 14, N)."""
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise DatasetError(f'{path} does not exist')
    try:
        joints = loadmat(path)['joints']
    except Exception as error:  # scipy raises several types for files that are not .mat
        raise DatasetError(f'{path} is not a MATLAB file with a "joints" array: {error}')
    if joints.ndim != 3 or joints.shape[:2] != (3, NUM_JOINTS):
        raise DatasetError(f'{path}: joints has shape {joints.shape}, expected (3, 14, N) as '
                           'in the original LSP release (LSP-extended is (14, 3, N))')
    joints = np.transpose(joints, (2, 1, 0)).astype(np.float64)  # (N, 14, 3)
    bad = np.argwhere(~np.isfinite(joints))
    if len(bad):
        raise DatasetError(f'{path}: image {bad[0][0] + 1} joint {bad[0][1]} is not finite')
    joints[..., 2] = joints[..., 2] == 0  # the release's flag: 0 = visible
    return joints


def image_size(path: str, index: int):
    """(width, height) of the image, read from its header."""
    from PIL import Image
    if not osp.isfile(path):
        raise DatasetError(f'image {path} (record {index}) does not exist')
    try:
        with Image.open(path) as image:
            return image.size
    except Exception as error:
        raise DatasetError(f'image {path} (record {index}) cannot be read: {error}')


def person_box(joints: np.ndarray, margin: float):
    """[x, y, w, h] of the tight box of ``joints`` (14, 2) widened by ``margin`` on each side."""
    low, high = joints.min(axis=0), joints.max(axis=0)
    pad = (high - low) * margin
    low, high = low - pad, high + pad
    return [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])]


def val_indices(num_val: int) -> list:
    """0-based indices of ``num_val`` training photos, evenly spaced, the last one included."""
    step = TRAIN_IMAGES / num_val if num_val else 0
    return [int(round((k + 1) * step)) - 1 for k in range(num_val)]


def coco_split(joints: np.ndarray, indices, src: str, margin: float) -> dict:
    """COCO-style dict of the images at ``indices`` (0-based)."""
    images, annotations = [], []
    for index in indices:
        name = f'im{index + 1:04d}.jpg'
        width, height = image_size(osp.join(src, 'images', name), index + 1)
        xy = joints[index, :, :2] - 1  # MATLAB's 1-based pixels
        visible = joints[index, :, 2]
        keypoints = np.concatenate([xy, np.where(visible > 0, 2, 1)[:, None]], axis=1)
        box = person_box(xy, margin)
        images.append(dict(id=index + 1, file_name=name, width=width, height=height))
        annotations.append(
            dict(id=index + 1, image_id=index + 1, category_id=1, iscrowd=0,
                 keypoints=keypoints.reshape(-1).round(3).tolist(), num_keypoints=NUM_JOINTS,
                 bbox=[round(v, 3) for v in box], area=round(box[2] * box[3], 3)))
    return dict(images=images, annotations=annotations,
                categories=[dict(id=1, name='person', supercategory='person')])


def convert(src: str, dst: str, margin: float, num_val: int = 100) -> None:
    joints = load_joints(osp.join(src, 'joints.mat'))
    if len(joints) <= TRAIN_IMAGES:
        raise DatasetError(f'{osp.join(src, "joints.mat")} has {len(joints)} people; the '
                           f'standard split needs more than {TRAIN_IMAGES}')
    val = val_indices(num_val)
    train = sorted(set(range(TRAIN_IMAGES)) - set(val))
    splits = {'lsp_train.json': coco_split(joints, train, src, margin),
              'lsp_test.json': coco_split(joints, range(TRAIN_IMAGES, len(joints)), src, margin)}
    if val:
        splits['lsp_val.json'] = coco_split(joints, val, src, margin)
    os.makedirs(osp.join(dst, 'annotations'), exist_ok=True)
    for name, split in splits.items():
        path = osp.join(dst, 'annotations', name)
        atomic_write(path, json.dumps(split))  # never a half-written file under the final name
        print(f'{path}: {len(split["annotations"])} people')
    link = osp.join(dst, 'images')
    if osp.realpath(src) != osp.realpath(dst) and not osp.exists(link):
        os.symlink(osp.abspath(osp.join(src, 'images')), link)
        print(f'{link} -> {osp.abspath(osp.join(src, "images"))}')
