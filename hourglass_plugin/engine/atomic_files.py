"""Files that are never half-written: write a temporary in the same directory, then rename it.

mmengine writes a checkpoint with ``LocalBackend.put``, i.e. ``open(path, 'wb').write(...)``
under its final name: a run killed during the write (SIGKILL, out of memory, a full disk) leaves a
truncated ``epoch_N.pth`` behind, and ``last_checkpoint`` may point at it. ``os.replace`` within
one directory is atomic on POSIX and Windows, so a reader sees the old file or the whole new one.
"""
import contextlib
import os
import os.path as osp
import re
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

#: ``.<name>.<pid>.tmp``: the temporary of ``<name>`` written by process ``<pid>``.
TEMPORARY_NAME = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$')


def temporary_path(path: str) -> str:
    """The temporary that :func:`atomic_write` renames to ``path`` (same directory, hidden)."""
    directory, name = osp.split(osp.abspath(path))
    return osp.join(directory, f'.{name}.{os.getpid()}.tmp')


def atomic_write(path: Union[str, Path], data: Union[bytes, str], encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of ``data``.

    The bytes go to :func:`temporary_path` first, are flushed to the disk (``fsync``), and the
    temporary is renamed over ``path``. If anything fails the temporary is removed and ``path``
    is untouched; a process killed before the rename leaves only the temporary (see
    :func:`remove_orphaned_temporaries`). A symlink at ``path`` is replaced, not written through.
    """
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = temporary_path(path)
    mode = 'wb' if isinstance(data, bytes) else 'w'
    try:
        with open(temporary, mode, **({} if mode == 'wb' else {'encoding': encoding})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_directory(directory)  # the rename itself survives a power cut


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows, where directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_orphaned_temporaries(directory: str) -> list:
    """Remove the temporaries left in ``directory`` by killed processes; return their paths.

    A temporary whose writer is still running (its pid is alive) is kept.
    """
    removed = []
    if not osp.isdir(directory):
        return removed
    for name in os.listdir(directory):
        match = TEMPORARY_NAME.match(name)
        if match is None or _is_running(int(match['pid'])):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.remove(osp.join(directory, name))
            removed.append(osp.join(directory, name))
    return removed


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` and ``put_text`` go through :func:`atomic_write`.

    Everything mmengine writes to local paths through its file backends goes through these two
    methods, checkpoints included (``mmengine.runner.checkpoint.save_checkpoint``).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj, encoding=encoding)


#: the name configs give the atomic backend: ``backend_args=dict(backend='atomic_local')``
BACKEND_NAME = 'atomic_local'


def register() -> None:
    """Register :class:`AtomicLocalBackend` in mmengine's file backends as ``'atomic_local'``
    (what :class:`~.checkpoint_hook.CrashSafeCheckpointHook` writes with); mmengine's own
    ``'local'`` backend stays as it is. Calling it again changes nothing."""
    from mmengine.fileio.backends.registry_utils import backends
    if backends.get(BACKEND_NAME) is not AtomicLocalBackend:
        register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)
