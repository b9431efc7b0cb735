"""Which checkpoint ``tools/train.py --resume`` continues from, whatever moment the run was killed.

mmengine's auto-resume reads ``<work_dir>/last_checkpoint`` and loads the path written there,
trusting it. It can be wrong after a kill: ``CheckpointHook`` writes it with a plain ``open``
(empty if killed during that write), and with ``max_keep_ckpts=1`` it removes the checkpoint the
file names *before* writing the next one, so a kill in between leaves a pointer to nothing (then
mmengine stops with "checkpoint ... can not be found"). A checkpoint file itself may be truncated
if it was written without :mod:`.atomic` (e.g. by another tool). So the pointer is checked,
and if it does not name a complete checkpoint the newest complete one in the directory is taken.
"""
import glob
import os.path as osp
import zipfile
from typing import List, Optional

from mmengine.logging import print_log

from ..errors import CheckpointError
from .atomic import remove_orphaned_temporaries

POINTER = 'last_checkpoint'
_ZIP_MAGIC = b'PK\x03\x04'


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file (cheap: reads the zip's directory only).

    ``torch.save`` writes a zip archive whose directory is at the end, so a truncated file has
    none. A file in torch's legacy (non-zip) format is not judged here: the loader will.
    """
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    with open(path, 'rb') as f:
        if f.read(4) != _ZIP_MAGIC:
            return True
    try:
        with zipfile.ZipFile(path):
            return True
    except (zipfile.BadZipFile, OSError):
        return False


def _read_pointer(work_dir: str) -> Optional[str]:
    try:
        with open(osp.join(work_dir, POINTER)) as f:
            return f.read().strip() or None
    except OSError:
        return None


def _candidates(directories: List[str]) -> List[str]:
    """Every ``*.pth`` in ``directories``, newest first."""
    paths = {osp.abspath(p) for d in directories for p in glob.glob(osp.join(d, '*.pth'))}
    return sorted(paths, key=osp.getmtime, reverse=True)


def find_resumable_checkpoint(work_dir: str, clean_up: bool = True) -> Optional[str]:
    """The checkpoint to resume the run in ``work_dir`` from, or None if it has none.

    ``last_checkpoint`` when it names a complete checkpoint; else the most recently written
    complete ``*.pth`` in the pointer's directory and in ``work_dir`` (a ``best_*.pth`` holds the
    same training state as the epoch checkpoint written just before it). With ``clean_up`` the
    temporaries of killed checkpoint writes in those directories are removed.
    """
    pointer = _read_pointer(work_dir)
    directories = [work_dir]
    if pointer is not None and osp.isdir(osp.dirname(pointer) or '.'):
        directories.insert(0, osp.dirname(pointer) or '.')
    if clean_up:
        for directory in directories:
            for path in remove_orphaned_temporaries(directory):
                print_log(f'removed {path}, the temporary of a checkpoint write that was killed',
                          logger='current')
    if pointer is not None and is_complete_checkpoint(pointer):
        return pointer
    for path in _candidates(directories):
        if is_complete_checkpoint(path):
            if pointer is None:
                why = f'{osp.join(work_dir, POINTER)} is missing or empty'
            elif not osp.exists(pointer):
                why = f'{POINTER} names {pointer}, which does not exist'
            else:
                why = f'{POINTER} names {pointer}, which is incomplete'
            print_log(f'{why}: resuming from {path}, the newest complete checkpoint',
                      logger='current', level=30)
            return path
    return None


def check_resumable(filename: str) -> None:
    """The checkpoint to resume from exists and is whole (its zip directory is read, nothing
    is unpickled); else one error naming it."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} to resume from does not exist')
    if not is_complete_checkpoint(filename):
        raise CheckpointError(f'checkpoint {filename} is truncated (its zip directory is '
                              'missing): resume from an earlier one')
