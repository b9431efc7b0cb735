"""A cheap test that image files are whole, fast enough for all of MPII's 25k images at build.

What it is for: a missing, empty, truncated (interrupted download or copy) or non-image file is
found when the dataset is built, before any training, instead of when a worker first draws it.

It reads the first 16 and the last 4096 bytes of each file, never decodes: the format's
signature at the start and, for JPEG and PNG, the end marker (JPEG's EOI ``FF D9``, PNG's
``IEND`` chunk) near the end, which a file cut short lacks; BMP and WebP declare their size in
the header. Files are read by a small thread pool (the reads wait on the disk, not the GIL).
A file that passes can still be corrupt inside; :class:`CheckedMpiiDataset` names it when
decoding fails at load time.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, List, Optional, Tuple

#: Bytes read from the end of a file for the end marker (JPEGs may carry a little padding).
TAIL = 4096
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'  # the IEND chunk's type and CRC
_FORMATS = 'JPEG, PNG, BMP, TIFF or WebP'


def _problem_in(head: bytes, tail: bytes, size: int) -> Optional[str]:
    """What is wrong with a file of ``size`` bytes that starts with ``head`` and ends with
    ``tail``, or None if it looks like a whole image."""
    if size == 0:
        return 'is empty (0 bytes)'
    if head.startswith(b'\xff\xd8\xff'):
        return None if b'\xff\xd9' in tail else \
            f'is a truncated JPEG ({size} bytes, no end-of-image marker FF D9 at its end)'
    if head.startswith(_PNG_SIGNATURE):
        return None if _PNG_END in tail else \
            f'is a truncated PNG ({size} bytes, no IEND chunk at its end)'
    if head.startswith(b'BM') and len(head) >= 6:
        declared = int.from_bytes(head[2:6], 'little')
        return None if size >= declared else \
            f'is a truncated BMP ({size} of the {declared} bytes its header declares)'
    if head.startswith(b'RIFF') and head[8:12] == b'WEBP':
        declared = int.from_bytes(head[4:8], 'little') + 8
        return None if size >= declared else \
            f'is a truncated WebP ({size} of the {declared} bytes its header declares)'
    if head[:4] in (b'II*\x00', b'MM\x00*'):
        return None  # TIFF: its layout is a chain of offsets, no end marker to look for
    return f'is not an image: it starts with {head[:8]!r}, not a {_FORMATS} signature'


def image_file_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a whole image file (``'does not exist'``, ``'is a truncated JPEG
    ...'``, ...), or None if it looks fine."""
    try:
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(16)
            f.seek(max(size - TAIL, 0))
            tail = f.read()
    except FileNotFoundError:
        return 'does not exist'
    except IsADirectoryError:
        return 'is a directory, not an image'
    except OSError as error:
        return f'cannot be read ({error.strerror or error})'
    return _problem_in(head, tail, size)


def image_file_problems(paths: Iterable[str], workers: int = 8) -> List[Tuple[str, str]]:
    """``(path, problem)`` for every file of ``paths`` that is not a whole image, in order."""
    paths = list(paths)
    chunks = [paths[i:i + 512] for i in range(0, len(paths), 512)]  # few tasks, little overhead
    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [p for chunk in pool.map(_problems_of, chunks) for p in chunk]
    return [(path, problem) for path, problem in zip(paths, problems) if problem]


def _problems_of(paths: List[str]) -> List[Optional[str]]:
    return [image_file_problem(path) for path in paths]
