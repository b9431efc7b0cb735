"""What configs name for a run: the bf16 optimizer wrapper, the hooks (crash-safe checkpoints, a
stop at a non-finite loss, the test progress bar) and the atomic file backend checkpoints are
written with; the resume that finds the newest complete checkpoint, and the hook that checks it
fits the model."""
from mmengine.registry import HOOKS, OPTIM_WRAPPERS

from . import atomic_files
from .atomic_files import AtomicLocalBackend, atomic_write
from .bf16_optim_wrapper import BF16OptimWrapper, cpu_has_native_bf16, use_amp, use_amp_in_test
from .checkpoint_fit_hook import CheckpointFitHook
from .checkpoint_hook import CrashSafeCheckpointHook
from .finite_loss_hook import StopOnNonFiniteLossHook
from .progress_bar_hook import TestProgressBarHook
from .resume import find_resumable_checkpoint, is_complete_checkpoint

HOOK_TYPES = (CrashSafeCheckpointHook, StopOnNonFiniteLossHook, TestProgressBarHook)


def register() -> None:
    """The hooks in mmengine's root registry (so mmpose and mmdet configs both find them) and
    the ``'atomic_local'`` file backend; calling it again changes nothing."""
    atomic_files.register()
    for hook in HOOK_TYPES:
        if HOOKS.module_dict.get(hook.__name__) is not hook:
            HOOKS.register_module(module=hook)
    if OPTIM_WRAPPERS.module_dict.get('BF16OptimWrapper') is not BF16OptimWrapper:
        OPTIM_WRAPPERS.register_module(module=BF16OptimWrapper)


__all__ = [
    'AtomicLocalBackend', 'BF16OptimWrapper', 'CheckpointFitHook', 'CrashSafeCheckpointHook',
    'StopOnNonFiniteLossHook', 'TestProgressBarHook', 'atomic_write',
    'cpu_has_native_bf16', 'find_resumable_checkpoint', 'is_complete_checkpoint', 'register',
    'use_amp', 'use_amp_in_test'
]
