"""What configs name for a run besides checkpoints (:mod:`hourglass_plugin.checkpoint`): the
bf16 optimizer wrapper, a stop at a non-finite loss, the test progress bar and a pipeline switch
at an iteration."""
from mmengine.registry import HOOKS, OPTIM_WRAPPERS

from .bf16_optim_wrapper import (BF16OptimWrapper, amp_precision, cpu_has_native_bf16, use_amp,
                                 use_amp_in_test)
from .finite_loss_hook import StopOnNonFiniteLossHook
from .pipeline_switch_hook import IterPipelineSwitchHook
from .progress_bar_hook import TestProgressBarHook

HOOK_TYPES = (StopOnNonFiniteLossHook, TestProgressBarHook, IterPipelineSwitchHook)


def register() -> None:
    """The hooks and the wrapper in mmengine's root registries (so mmpose and mmdet configs both
    find them); calling it again changes nothing."""
    for hook in HOOK_TYPES:
        if HOOKS.module_dict.get(hook.__name__) is not hook:
            HOOKS.register_module(module=hook)
    if OPTIM_WRAPPERS.module_dict.get('BF16OptimWrapper') is not BF16OptimWrapper:
        OPTIM_WRAPPERS.register_module(module=BF16OptimWrapper)


__all__ = [
    'BF16OptimWrapper', 'IterPipelineSwitchHook', 'StopOnNonFiniteLossHook', 'TestProgressBarHook',
    'amp_precision', 'cpu_has_native_bf16',
    'register', 'use_amp', 'use_amp_in_test'
]
