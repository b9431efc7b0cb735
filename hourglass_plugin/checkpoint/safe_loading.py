"""Load OpenMMLab checkpoints under torch >= 2.6 without ever unpickling code.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 calls ``torch.load``
without saying more, so torch refuses mmengine's own checkpoints: their ``message_hub`` holds
``HistoryBuffer`` objects and numpy arrays and scalars, and ``meta`` holds numpy values too.
Instead of ``weights_only=False`` (which lets a checkpoint run arbitrary code) this module allows
exactly the globals that OpenMMLab checkpoints need, and replaces mmengine's loader of local files
with one that explains a refusal: which file, which global.
"""
import datetime
import os.path as osp
import pickle
import re
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..errors import CheckpointError, UnsafeCheckpointError


def _numpy_globals() -> List[Any]:
    """The numpy callables and types that pickled arrays, dtypes and scalars reference."""
    try:  # numpy >= 2 moved the pickling helpers to numpy._core
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    # every dtype but 'O': an object array would unpickle arbitrary elements
    codes = np.typecodes['All'].replace('O', '')
    dtype_types = {type(np.dtype(code)) for code in codes}
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtype_types]


_DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')  # HistoryBuffer._set_default_statistics


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while unpickling, for exactly one use.

    mmengine's ``HistoryBuffer.__getstate__`` pickles its statistics methods, which pickle
    writes as ``getattr(HistoryBuffer, 'min')`` (and 'max', 'current', 'mean', plus any method
    registered with ``HistoryBuffer.register_statistics``). Allowing the real ``getattr`` would
    let a pickle reach e.g. ``numpy.ndarray.tofile`` and write files; this resolves only those
    statistics methods and refuses anything else.
    """
    if obj is HistoryBuffer and name in _DEFAULT_STATISTICS + tuple(
            HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'GLOBAL builtins.getattr is allowed only for HistoryBuffer statistics methods, not for '
        f'getattr({getattr(obj, "__qualname__", type(obj).__qualname__)}, {name!r})')


def _literal_bytes(*args: Any) -> bytes:
    """Stands in for ``builtins.bytes`` while unpickling: pickle protocol 2 (``torch.save``'s)
    writes empty bytes as a call of ``bytes()``, e.g. the data of an empty numpy array. Only that
    call, and a copy of a bytes literal or an encoded str literal, are allowed: ``bytes(n)`` of a
    huge int would allocate as much, and any other argument has no business in a checkpoint."""
    if not args:
        return b''
    if len(args) == 1 and isinstance(args[0], bytes):
        return bytes(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ('latin1', 'latin-1',
                                                                   'utf-8', 'utf8', 'ascii'):
        return bytes(args[0], args[1])
    raise pickle.UnpicklingError(
        'GLOBAL builtins.bytes is allowed only as bytes(), bytes(<bytes>) or bytes(<str>, '
        f'<encoding>), not with arguments of types {[type(a).__name__ for a in args]}')


#: Everything beyond torch's own defaults that an mmengine Runner checkpoint pickles, and the
#: datetime types (built from bytes, nothing else) that a user's ``meta`` may hold.
OPENMMLAB_SAFE_GLOBALS = [
    HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
    (_literal_bytes, 'builtins.bytes'), *_numpy_globals(),
    datetime.date, datetime.datetime, datetime.time, datetime.timedelta, datetime.timezone
]
_ALLOWED_NAMES = {
    entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'
    for entry in OPENMMLAB_SAFE_GLOBALS
}

_GLOBAL_IN_MESSAGE = re.compile(r'GLOBAL ([\w.]+)')


def _offending_globals(filename: str, message: str) -> str:
    """Name the globals that made torch refuse ``filename`` (read from the pickle, not run)."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        unsafe = [name for name in unsafe if name not in _ALLOWED_NAMES]
        if unsafe:
            return ', '.join(unsafe)
    except Exception:  # a legacy (non-zip) file: fall back to torch's message
        pass
    found = _GLOBAL_IN_MESSAGE.findall(message)
    return ', '.join(found) if found else 'an object torch does not allow'


def _explain(filename: str, message: str) -> str:
    """Why torch refused ``filename``, in one line."""
    detail = re.search(r'WeightsUnpickler error:\s*(.*?)(?:\n\n|$)', message, re.S)
    if detail and re.search(r'builtins\.(getattr|bytes) is allowed only', detail.group(1)):
        return detail.group(1).strip()
    return f'its pickle needs {_offending_globals(filename, message)}, which could run code'


def load_checkpoint_safely(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` with the OpenMMLab globals allowed.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        UnsafeCheckpointError: its pickle references a global that could run code (nothing ran).
        CheckpointError: the file is truncated or not a torch checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        with torch.serialization.safe_globals(OPENMMLAB_SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'weights_only' not in str(error) and 'global' not in str(error).lower():
            raise CheckpointError(
                f'checkpoint {filename} is truncated or corrupt: {error}') from None
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: {_explain(filename, str(error))}. Only '
            'tensors and the globals of OpenMMLab checkpoints are allowed; nothing was '
            'executed.') from None
    except (RuntimeError, EOFError, ValueError) as error:
        raise CheckpointError(f'checkpoint {filename} is truncated or not a torch checkpoint '
                              f'({type(error).__name__}: {error})') from None


def install() -> None:
    """Allow the OpenMMLab globals in every ``torch.load`` and route mmengine's local loads here.

    Called when ``hourglass_plugin`` is imported; calling it again changes nothing.
    """
    torch.serialization.add_safe_globals(OPENMMLAB_SAFE_GLOBALS)
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_safely, force=True)
