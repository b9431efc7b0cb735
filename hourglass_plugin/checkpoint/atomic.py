"""Files that are never half-written: every writer of the project writes through here.

A file is written to a temporary in its own directory, flushed to the disk, and renamed over
its final name (``os.replace`` within one directory is atomic on POSIX and Windows): a reader
sees the old file or the whole new one, never a truncated one, whatever kills the writer
(SIGKILL, out of memory, a full disk). mmengine writes checkpoints with
``open(path, 'wb').write(...)`` under the final name; :class:`AtomicLocalBackend` is its file
backend written this way (``'atomic_local'``).

Files that belong together (OpenVINO's ``.xml`` and ``.bin``) are written as one unit by
:func:`atomic_output`: the last path (the one a reader opens) is removed first and put in
place last, so a crash between the renames leaves no pair rather than a mismatched one.
"""
import contextlib
import os
import os.path as osp
import re
from pathlib import Path
from typing import Iterator, List, Tuple, Union

from mmengine.fileio import LocalBackend, register_backend

#: ``.<stem>.<pid>.tmp<ext>``: the temporary of ``<stem><ext>`` written by process ``<pid>``
#: (the extension kept last, for writers that choose the format by it)
TEMPORARY_NAME = re.compile(r'^\.(?P<stem>.+)\.(?P<pid>\d+)\.tmp(?P<ext>\.[^.]+)?$')
#: the name configs give the atomic backend: ``backend_args=dict(backend='atomic_local')``
BACKEND_NAME = 'atomic_local'

PathLike = Union[str, Path]


def temporary_path(path: PathLike) -> str:
    """Where ``path`` is written before it is renamed into place (same directory, hidden)."""
    directory, name = osp.split(osp.abspath(os.fspath(path)))
    stem, ext = osp.splitext(name)
    return osp.join(directory, f'.{stem}.{os.getpid()}.tmp{ext}')


@contextlib.contextmanager
def atomic_output(*paths: PathLike) -> Iterator[Tuple[str, ...]]:
    """Temporary paths to write ``paths`` to, renamed into place together when the block ends.

    Usage::

        with atomic_output('model.xml', 'model.bin') as (xml, bin_):
            openvino.save_model(model, xml)  # writes xml and, beside it, bin_

    Every temporary must exist when the block ends; each is flushed to the disk, the last of
    ``paths`` is removed, the others are renamed into place and the last one after them. If
    the block raises, the temporaries are removed and ``paths`` are untouched. A process killed
    before the renames leaves only temporaries (:func:`remove_orphaned_temporaries`).
    """
    if not paths:
        raise ValueError('atomic_output needs at least one path')
    finals = [osp.abspath(os.fspath(path)) for path in paths]
    temporaries = [temporary_path(path) for path in finals]
    for directory in {osp.dirname(path) for path in finals}:
        os.makedirs(directory, exist_ok=True)
    try:
        yield tuple(temporaries)
        missing = [final for final, temporary in zip(finals, temporaries)
                   if not osp.isfile(temporary)]
        if missing:
            raise FileNotFoundError(f'{missing[0]} was not written')
        for temporary in temporaries:
            _fsync_file(temporary)
        if len(finals) > 1 and osp.lexists(finals[-1]):
            os.remove(finals[-1])  # no reader pairs the old index file with new data
        for final, temporary in zip(finals, temporaries):
            os.replace(temporary, final)
    finally:
        for temporary in temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
    for directory in {osp.dirname(path) for path in finals}:
        _fsync_directory(directory)  # the renames survive a power cut


def atomic_write(path: PathLike, data: Union[bytes, str], encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that ``path`` holds its old content or all of ``data``.
    A symlink at ``path`` is replaced, not written through."""
    mode = 'wb' if isinstance(data, bytes) else 'w'
    with atomic_output(path) as (temporary, ):
        with open(temporary, mode, **({} if mode == 'wb' else {'encoding': encoding})) as f:
            f.write(data)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def remove_orphaned_temporaries(directory: str) -> List[str]:
    """Remove the temporaries left in ``directory`` by killed processes; return their paths.
    A temporary whose writer is still running (its pid is alive) is kept."""
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
    """mmengine's ``LocalBackend`` whose ``put`` and ``put_text`` go through :func:`atomic_write`:
    everything mmengine writes to local paths through its file backends, checkpoints included
    (``mmengine.runner.checkpoint.save_checkpoint``)."""

    def put(self, obj: bytes, filepath: PathLike) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: PathLike, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj, encoding=encoding)


def register_backend_once() -> None:
    """:class:`AtomicLocalBackend` in mmengine's file backends as ``'atomic_local'``; mmengine's
    own ``'local'`` stays as it is. Calling it again changes nothing."""
    from mmengine.fileio.backends.registry_utils import backends
    if backends.get(BACKEND_NAME) is not AtomicLocalBackend:
        register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)
