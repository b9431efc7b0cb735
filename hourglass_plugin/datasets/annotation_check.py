"""Validation of MPII annotations (mmpose's json records and ``mpii_gt_val.mat``) at build time.

What it is for: mmpose's ``MpiiDataset`` trusts its files. A record with 15 joints, a NaN
coordinate or a zero scale passes its loading and fails (or silently trains on garbage) when
the record is drawn, hours later; malformed json is reported without the file's name. These
functions read the same files and raise a :class:`DatasetError` that names the file, the record
index and the value, before any training. Loading itself stays mmpose's.

Legal, hence not refused: joints outside the image (MPII has them; mmpose weights them 0 when
they leave the crop), joints ``[-1, -1]`` with ``joints_vis`` 0 (MPII's unannotated joints).
"""
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import DatasetError

#: The keys mmpose's MpiiDataset reads from each record.
RECORD_KEYS = ('image', 'center', 'scale', 'joints', 'joints_vis')


def load_json(path: str) -> Any:
    """``json.load`` of ``path``; malformed json raises a DatasetError with line and column."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise DatasetError(f'annotation file {path} is not valid JSON: {error.msg} at line '
                           f'{error.lineno}, column {error.colno}') from None
    except UnicodeDecodeError as error:
        raise DatasetError(f'annotation file {path} is not a UTF-8 text file (byte '
                           f'{error.start}: {error.reason})') from None


def _numbers(value: Any, shape: Tuple[int, ...]) -> Optional[np.ndarray]:
    """``value`` as a float array of ``shape``, or None if it is not numbers of that shape."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):  # ragged lists, strings, objects
        return None
    return array if array.shape == shape else None


def _first_not_finite(array: np.ndarray) -> Optional[int]:
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def record_problem(record: Any, num_keypoints: int) -> Optional[str]:
    """What is wrong with one MPII record (mmpose's json layout), or None."""
    if not isinstance(record, dict):
        return f'is a JSON {type(record).__name__}, not an object with keys {list(RECORD_KEYS)}'
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        return f'lacks the key(s) {missing}'
    image = record['image']
    if not isinstance(image, str) or not image.split('.')[0].isdigit():
        return (f'image {image!r}: mmpose\'s MpiiDataset needs a file name whose stem is a '
                "number (its image id), e.g. '000001163.jpg'")
    joints = _numbers(record['joints'], (num_keypoints, 2))
    if joints is None:
        return (f'joints must be {num_keypoints} [x, y] pairs of numbers, got '
                f'{_describe(record["joints"])}')
    index = _first_not_finite(joints)
    if index is not None:
        return f'joints[{index}] = {joints[index].tolist()} is not finite'
    visible = _numbers(record['joints_vis'], (num_keypoints, ))
    if visible is None:
        return (f'joints_vis must be {num_keypoints} numbers (0 or 1), got '
                f'{_describe(record["joints_vis"])}')
    index = _first_not_finite(visible)
    if index is not None:
        return f'joints_vis[{index}] = {visible[index]} is not finite'
    center = _numbers(record['center'], (2, ))
    if center is None:
        return f'center must be [x, y], got {record["center"]!r}'
    if not np.isfinite(center).all():
        return f'center = {center.tolist()} is not finite'
    scale = _numbers(record['scale'], ())
    if scale is None or not np.isfinite(scale) or scale <= 0:
        return (f'scale = {record["scale"]!r} must be a finite number > 0 (the person box side '
                'is 200 * scale pixels)')
    return None


def _describe(value: Any) -> str:
    """A short description of a value that has the wrong shape."""
    if isinstance(value, list):
        return f'a list of {len(value)}: {json.dumps(value)[:80]}'
    return repr(value)[:80]


def check_records(records: Any, num_keypoints: int, ann_file: str) -> None:
    """Raise a DatasetError naming the first bad record of ``records`` (and how many are bad).

    Args:
        records: the parsed annotation file: a non-empty list of MPII records.
        num_keypoints: joints per record (16 for MPII).
        ann_file: the file's path, for the message.
    """
    if not isinstance(records, list):
        raise DatasetError(f'annotation file {ann_file} must hold a JSON list of records, got a '
                           f'{type(records).__name__}')
    if not records:
        raise DatasetError(f'annotation file {ann_file} holds no records (an empty list): '
                           'there is nothing to train or evaluate on')
    problems = [(index, problem) for index, problem in
                ((i, record_problem(r, num_keypoints)) for i, r in enumerate(records)) if problem]
    if problems:
        index, problem = problems[0]
        more = f' ({len(problems) - 1} more bad records)' if len(problems) > 1 else ''
        raise DatasetError(f'annotation file {ann_file}, record {index}: {problem}{more}')


def check_image_files(problems: Sequence[Tuple[str, str]], records: List[Dict],
                      images: Dict[str, str], ann_file: str) -> None:
    """Raise a DatasetError naming the first image of ``problems`` and the record that uses it.

    Args:
        problems: ``(path, problem)`` from :func:`image_file_problems`.
        records: the annotation records.
        images: each record's image name -> its path.
        ann_file: the annotation file, for the message.
    """
    if not problems:
        return
    path, problem = problems[0]
    index = next(i for i, r in enumerate(records) if images[r['image']] == path)
    more = f'; {len(problems) - 1} more images are missing or broken' if len(problems) > 1 else ''
    raise DatasetError(f'image {path} (record {index} of {ann_file}) {problem}{more}')


def check_head_boxes(headbox_file: str, num_records: int, ann_file: str) -> None:
    """``mpii_gt_val.mat``: readable, ``headboxes_src`` (2, 2, N) with one finite box of
    positive size per record of ``ann_file`` (PCKh divides by the box diagonal)."""
    from scipy.io import loadmat
    try:
        boxes = loadmat(headbox_file)['headboxes_src']
    except FileNotFoundError:
        raise FileNotFoundError(f'head-box file {headbox_file} does not exist (the PCKh '
                                'evaluation needs it: MPII\'s mpii_gt_val.mat)') from None
    except KeyError:
        raise DatasetError(f'head-box file {headbox_file} has no headboxes_src array') from None
    except Exception as error:  # scipy raises several types for a file that is not a .mat
        raise DatasetError(f'head-box file {headbox_file} cannot be read as a MATLAB file '
                           f'({type(error).__name__}: {error})') from None
    if boxes.ndim != 3 or boxes.shape[:2] != (2, 2):
        raise DatasetError(f'head-box file {headbox_file}: headboxes_src must be (2, 2, N), got '
                           f'{boxes.shape}')
    if boxes.shape[2] != num_records:
        raise DatasetError(f'head-box file {headbox_file} has {boxes.shape[2]} boxes but '
                           f'{ann_file} has {num_records} records; they correspond one to one')
    boxes = np.transpose(boxes, (2, 0, 1)).astype(float)  # (N, 2 corners, xy)
    sizes = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    bad = ~np.isfinite(sizes) | (sizes <= 0)
    if bad.any():
        index = int(np.argmax(bad))
        raise DatasetError(f'head-box file {headbox_file}: the box of record {index} '
                           f'{boxes[index].tolist()} is not finite or has no size')
