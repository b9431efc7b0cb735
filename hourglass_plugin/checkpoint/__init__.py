"""Checkpoints and written files, in one place.

* :mod:`.atomic`: every file of the project written whole or not at all (``atomic_output``,
  ``atomic_write``), and mmengine's file backend written so (``'atomic_local'``);
* :mod:`.safe_loading`: OpenMMLab checkpoints loaded under torch >= 2.6 without unpickling code;
* :mod:`.fit`: a checkpoint's weights checked against a model before they go in;
* :mod:`.rename`: the key-renaming rules that the fit check and the converters share;
* :mod:`.resume`: the newest complete checkpoint of a work dir, for ``--resume``;
* :mod:`.hooks`: what configs name: ``CrashSafeCheckpointHook`` and the resume's
  ``CheckpointFitHook``.
"""
from mmengine.registry import HOOKS

from . import safe_loading
from .atomic import (BACKEND_NAME, AtomicLocalBackend, atomic_output, atomic_write,
                     register_backend_once, remove_orphaned_temporaries)
from .fit import check_fit, load_checked, state_dict_of
from .hooks import CheckpointFitHook, CrashSafeCheckpointHook
from .resume import check_resumable, find_resumable_checkpoint, is_complete_checkpoint
from .safe_loading import load_checkpoint_safely


def register() -> None:
    """Safe loading installed, the ``'atomic_local'`` backend and ``CrashSafeCheckpointHook``
    registered (in mmengine's root registry: mmpose and mmdet configs both find it); calling
    it again changes nothing."""
    safe_loading.install()
    register_backend_once()
    if HOOKS.module_dict.get('CrashSafeCheckpointHook') is not CrashSafeCheckpointHook:
        HOOKS.register_module(module=CrashSafeCheckpointHook)


__all__ = [
    'BACKEND_NAME', 'AtomicLocalBackend', 'CheckpointFitHook', 'CrashSafeCheckpointHook',
    'atomic_output', 'atomic_write', 'check_fit', 'check_resumable', 'find_resumable_checkpoint',
    'is_complete_checkpoint', 'load_checked', 'load_checkpoint_safely', 'register',
    'remove_orphaned_temporaries', 'state_dict_of'
]
