"""glibc's allocator told to keep freed memory: called by the entry points, never on import.

Under glibc's defaults a freed block of 32 MiB or more goes back to the kernel (``munmap``), so
the next map of that size is a fresh ``mmap`` whose pages the kernel faults in and zeroes, one by
one; a training step or a forward of a stacked hourglass makes hundreds of such maps. With the
mmap threshold and the trim threshold raised (``mallopt``), freed blocks stay in the heap and are
reused: ``docs/benchmarks.md`` has what that gives each contender, the demo included.

The tools (``tools/train.py``, ``test.py``, ``infer.py``, ``demo.py``, ``benchmark.py``) call
:func:`apply` first thing, with ``--allocator`` (default ``tuned``); ``HOURGLASS_ALLOCATOR=default``
in the environment switches it off for every tool. Elsewhere than glibc it does nothing.
"""
import ctypes
import ctypes.util
import os
from typing import Optional

#: ``--allocator`` values: glibc as it comes, or told to keep freed memory.
SETTINGS = ('default', 'tuned')
#: the environment variable that overrides the tools' ``--allocator``
SWITCH = 'HOURGLASS_ALLOCATOR'
#: mallopt's parameters (malloc.h) and the values of the tuned setting: blocks up to 2 GiB come
#: from the heap, and freed memory is returned to the kernel only past 2 GiB free at its top
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TUNED = {M_MMAP_THRESHOLD: 2**31 - 1, M_TRIM_THRESHOLD: 2**31 - 1}

_applied: Optional[str] = None


def _libc():
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, 'mallopt') else None
    except OSError:
        return None


def apply(setting: str = 'tuned') -> str:
    """Put this process under ``setting`` (``HOURGLASS_ALLOCATOR`` in the environment wins) and
    return the setting in force: 'tuned', 'default', or 'default' where there is no glibc."""
    global _applied
    setting = os.environ.get(SWITCH) or setting
    if setting not in SETTINGS:
        from .errors import UsageError
        raise UsageError(f'allocator={setting!r} (or {SWITCH}); choose one of {SETTINGS}')
    if setting == 'tuned':
        libc = _libc()
        if libc is None or not all(libc.mallopt(p, v) == 1 for p, v in TUNED.items()):
            setting = 'default'
    _applied = setting
    return setting


def current() -> str:
    """The setting :func:`apply` put this process under ('default' if it was not called)."""
    return _applied or 'default'
