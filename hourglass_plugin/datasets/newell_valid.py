"""Newell et al.'s MPII validation set (``valid.h5``) converted to mmpose's MPII validation
files and head boxes (``tools/dataset_converters/newell_valid2mpii.py`` describes them)."""
import io
import json
import os
import os.path as osp

import numpy as np

from ..checkpoint import atomic_output, atomic_write
from ..errors import DatasetError
from .head_boxes import write_mpii_gt_mat

SC_BIAS = 0.6  # MPII's head size: 0.6 times the head box's diagonal
KEYS = ('imgname', 'center', 'scale', 'part', 'normalize')


def read_h5(path: str, keys) -> dict:
    import h5py
    if not osp.isfile(path):
        raise DatasetError(f'{path} does not exist')
    try:
        with h5py.File(path, 'r') as f:
            missing = [key for key in keys if key not in f]
            if missing:
                raise DatasetError(f'{path} has no {", ".join(missing)} (has {sorted(f)})')
            return {key: f[key][()] for key in keys}
    except OSError as error:
        raise DatasetError(f'{path} is not an HDF5 file: {error}')


def records_and_boxes(valid: dict, path: str):
    """mmpose's MPII records and (N, 2, 2) 0-based head boxes of ``valid``."""
    part = np.asarray(valid['part'], dtype=np.float64)
    num = len(part)
    if part.shape != (num, 16, 2):
        raise DatasetError(f'{path}: part has shape {part.shape}, expected (N, 16, 2)')
    for key in ('center', 'scale', 'normalize', 'imgname'):
        if len(valid[key]) != num:
            raise DatasetError(f'{path}: {key} has {len(valid[key])} entries, part {num}')
    normalize = np.asarray(valid['normalize'], dtype=np.float64)
    bad = np.flatnonzero(~(normalize > 0))
    if len(bad):
        raise DatasetError(f'{path}: person {bad[0]} has normalize {normalize[bad[0]]}')
    labelled = (part > 0).all(axis=-1)  # (N, 16)
    records, boxes = [], []
    for i in range(num):
        name = valid['imgname'][i]
        name = name.decode() if isinstance(name, bytes) else str(name)
        records.append(dict(image=name, center=[float(v) for v in valid['center'][i]],
                            scale=float(valid['scale'][i]), joints=part[i].tolist(),
                            joints_vis=labelled[i].astype(int).tolist()))
        side = normalize[i] / SC_BIAS / np.sqrt(2)  # a square of diagonal normalize / 0.6
        centre = np.asarray(valid['center'][i], dtype=np.float64) - 1
        boxes.append([centre - side / 2, centre + side / 2])
    return records, np.asarray(boxes)


def convert(valid_h5: str, dst: str, preds_h5: str = None) -> None:
    valid = read_h5(valid_h5, KEYS)
    records, boxes = records_and_boxes(valid, valid_h5)
    preds = None
    if preds_h5:
        preds = np.asarray(read_h5(preds_h5, ('preds', ))['preds'], dtype=np.float64)
        if preds.shape != (len(records), 16, 2):
            raise DatasetError(f'{preds_h5}: preds has shape {preds.shape}, expected '
                               f'({len(records)}, 16, 2) like {valid_h5}')
    out = osp.join(dst, 'annotations')
    os.makedirs(out, exist_ok=True)
    json_path, mat_path = osp.join(out, 'mpii_val.json'), osp.join(out, 'mpii_gt_val.mat')
    # the head boxes and the records they belong to, put in place as one
    with atomic_output(mat_path, json_path) as (mat_part, json_part):
        write_mpii_gt_mat(mat_part, records, boxes)
        with open(json_part, 'w') as f:
            json.dump(records, f)
    print(f'{json_path}, {mat_path}: {len(records)} people')
    if preds is not None:
        preds_path = osp.join(out, 'mpii_val_preds.npy')
        buffer = io.BytesIO()
        np.save(buffer, preds - 1)
        atomic_write(preds_path, buffer.getvalue())
        print(f'{preds_path}: {preds_h5} 0-based')
