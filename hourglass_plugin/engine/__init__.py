"""Training that loses nothing to a crash: atomic checkpoint files, a resume that finds the newest
complete checkpoint, and a stop with a clear message when the loss stops being finite."""
from mmengine.registry import HOOKS

from . import atomic_files
from .atomic_files import AtomicLocalBackend, atomic_write
from .checkpoint_hook import CrashSafeCheckpointHook
from .finite_loss_hook import StopOnNonFiniteLossHook
from .resume import find_resumable_checkpoint, is_complete_checkpoint


def install() -> None:
    """Atomic writes for mmengine's local files, and the hooks in mmengine's root registry (so
    mmpose and mmdet configs both find them); calling it again changes nothing."""
    atomic_files.install()
    for hook in (CrashSafeCheckpointHook, StopOnNonFiniteLossHook):
        if HOOKS.module_dict.get(hook.__name__) is not hook:
            HOOKS.register_module(module=hook)


__all__ = [
    'AtomicLocalBackend', 'CrashSafeCheckpointHook', 'StopOnNonFiniteLossHook', 'atomic_write',
    'find_resumable_checkpoint', 'install', 'is_complete_checkpoint'
]
