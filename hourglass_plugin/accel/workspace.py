"""The pre-activation units' workspace: one map per thread and shape, reused by every unit.

A unit writes ``relu(batch_norm(x))`` into it in forward and again in backward (see
:mod:`.conv_norm_act`), instead of keeping one such map per unit for backward. Inside
:func:`workspace_off` units make a new map each time and free it after use (what activation
checkpointing wants: there only the regions' inputs should be kept).
"""
import contextlib
import threading
from typing import Iterator

import torch

_workspaces = threading.local()  # .maps: {(shape, stride, dtype, device): tensor}; .off: bool
#: at most this many workspace maps per thread: inputs of ever new sizes (multi-scale training)
#: start a new set instead of growing it without end
MAX_WORKSPACE_MAPS = 64


def release_workspace() -> None:
    """Frees this thread's workspace maps (they are made again when next needed)."""
    _workspaces.maps = {}


@contextlib.contextmanager
def workspace_off() -> Iterator[None]:
    """Units run inside make relu(bn(x)) as a new map, freed after use, not in the workspace
    (their backward does too)."""
    previous = getattr(_workspaces, 'off', False)
    _workspaces.off = True
    try:
        yield
    finally:
        _workspaces.off = previous


def use_workspace() -> bool:
    return not getattr(_workspaces, 'off', False)


def workspace(like: torch.Tensor) -> torch.Tensor:
    """This thread's map of ``like``'s shape and strides: a temporary, valid until the next call
    for the same shape (the units use it within one forward or one backward)."""
    maps = getattr(_workspaces, 'maps', None)
    if maps is None:
        maps = _workspaces.maps = {}
    key = (tuple(like.shape), like.stride(), like.dtype, like.device)
    if key not in maps:
        if len(maps) >= MAX_WORKSPACE_MAPS:
            maps.clear()
        maps[key] = torch.empty_strided(like.shape, like.stride(), dtype=like.dtype,
                                        device=like.device)
    return maps[key]


def kept_bytes() -> int:
    """Bytes this thread's workspace holds between steps."""
    maps = getattr(_workspaces, 'maps', None) or {}
    return sum(m.numel() * m.element_size() for m in maps.values())
