"""Activation checkpointing (``with_cp``) that leaves BatchNorm's running statistics as without it.

``torch.utils.checkpoint`` recomputes a region's forward during backward; a BatchNorm in training
mode would update its running mean and variance a second time there (mmcv's ``with_cp`` blocks
do). Here the recomputation runs with those buffers restored afterwards, so a step with
checkpointing leaves the model exactly as one without it: same outputs, same gradients, same
running statistics (``tests/test_with_cp.py``).
"""
import contextlib
from functools import partial
from typing import Callable, Iterator, Union

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

#: ``with_cp`` values of :class:`StackedHourglass`: what one checkpointed region is.
CP_MODES = {False: None, True: 'block', 'block': 'block', 'hourglass': 'hourglass'}


def cp_mode(with_cp: Union[bool, str]) -> Union[str, None]:
    """``None``, ``'block'`` or ``'hourglass'`` for a ``with_cp`` value; ValueError otherwise."""
    if isinstance(with_cp, (bool, str)) and with_cp in CP_MODES:
        return CP_MODES[with_cp]
    raise ValueError(f"with_cp={with_cp!r}; choose False, True (= 'block': every residual "
                     "unit) or 'hourglass' (every hourglass)")


@contextlib.contextmanager
def _norm_stats_kept(module: nn.Module) -> Iterator[None]:
    """Restore the running statistics of ``module``'s BatchNorms on exit."""
    norms = [m for m in module.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [[b.clone() for b in (m.running_mean, m.running_var, m.num_batches_tracked)]
             for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in zip(norms, saved):
                for live, kept in zip((m.running_mean, m.running_var, m.num_batches_tracked),
                                      buffers):
                    live.copy_(kept)


def _contexts(module: nn.Module):
    """(forward's context, recomputation's context) for ``checkpoint``'s ``context_fn``."""
    return contextlib.nullcontext(), _norm_stats_kept(module)


def checkpointed(module: nn.Module, function: Callable, *args: torch.Tensor):
    """``function(*args)`` keeping only ``args`` for backward; ``module`` owns its norms."""
    return checkpoint(function, *args, use_reentrant=False,
                      context_fn=partial(_contexts, module))


def needs_checkpoint(enabled: bool) -> bool:
    """Checkpoint only where autograd records (not under ``no_grad``/``inference_mode``)."""
    return enabled and torch.is_grad_enabled()
