"""glibc's allocator told to keep freed memory: for the entry points, never on import.

Under glibc's defaults a freed block of 32 MiB or more goes back to the kernel (``munmap``), so
the next map of that size is a fresh ``mmap`` whose pages the kernel faults in and zeroes, one by
one; a training step or a forward of a stacked hourglass makes hundreds of such maps. With
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` large, freed blocks stay in the heap and
are reused (``docs/benchmarks.md`` has what that gives each contender). glibc reads these
variables when the process starts, so an entry point that wants them re-executes itself with them
set (:func:`reexec_with`); ``HOURGLASS_ALLOCATOR=default`` in the environment switches that off.
"""
import os
import sys
from typing import Dict, Optional

#: The tuned setting: keep up to 4 GiB blocks in the heap, return memory only past 16 GiB free.
TUNED = {'MALLOC_MMAP_THRESHOLD_': '4294967296', 'MALLOC_TRIM_THRESHOLD_': '17179869184'}
#: ``--allocator`` values of the entry points that offer the choice.
SETTINGS = ('default', 'tuned')
SWITCH = 'HOURGLASS_ALLOCATOR'


def environment(setting: str, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """``base`` (default: this process's environment) with glibc's variables as ``setting``
    wants them: :data:`TUNED`'s values, or none of them for glibc's defaults."""
    if setting not in SETTINGS:
        raise ValueError(f'allocator={setting!r}; choose one of {SETTINGS}')
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in TUNED}
    if setting == 'tuned':
        env.update(TUNED)
    env[SWITCH] = setting
    return env


def current() -> str:
    """The setting this process runs under: 'tuned' only if every variable has its value."""
    return 'tuned' if all(os.environ.get(k) == v for k, v in TUNED.items()) else 'default'


def reexec_with(setting: str) -> None:
    """Re-execute this Python program (same arguments) under ``setting`` unless it already runs
    so; ``HOURGLASS_ALLOCATOR`` in the environment, where set, overrides ``setting``."""
    setting = os.environ.get(SWITCH, setting)
    if current() == setting:
        return
    env = environment(setting)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
