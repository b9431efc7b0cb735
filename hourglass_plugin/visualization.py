"""Pictures the tools write, each written whole (through
:func:`~hourglass_plugin.checkpoint.atomic_write`): an image, a matplotlib figure, and a grid of
pictures to look at in one."""
import io
import os.path as osp
from typing import Sequence

import numpy as np

from .checkpoint import atomic_write


def write_image(path: str, image: np.ndarray, params: Sequence[int] = ()) -> None:
    """Write ``image`` (H, W, 3) BGR uint8 to ``path`` in the format its extension names
    (OpenCV's encoder ``params``, e.g. ``[cv2.IMWRITE_JPEG_QUALITY, 90]``), whole or not at
    all."""
    import cv2
    ok, encoded = cv2.imencode(osp.splitext(path)[1] or '.png', image, list(params))
    if not ok:
        raise ValueError(f'{path}: OpenCV cannot write an image of this extension')
    atomic_write(path, encoded.tobytes())


def save_figure(figure, path: str) -> None:
    """Save the matplotlib ``figure`` to ``path`` in the format its extension names, whole or
    not at all, and close it."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format=osp.splitext(path)[1][1:] or 'png')
    plt.close(figure)
    atomic_write(path, buffer.getvalue())


def tile_images(paths: Sequence[str], out_file: str, columns: int = 4, height: int = 240) -> None:
    """Write the images at ``paths`` into ``out_file`` as a grid, each scaled to ``height``
    pixels and centred in a cell as wide as the widest; empty cells stay white."""
    import cv2
    if not paths:
        raise ValueError('no images to tile')
    images = []
    for path in paths:
        image = cv2.imread(path)
        if image is None:
            raise FileNotFoundError(f'image {path} cannot be read')
        scale = height / image.shape[0]
        images.append(cv2.resize(image, (max(1, round(image.shape[1] * scale)), height),
                                 interpolation=cv2.INTER_AREA))
    width = max(image.shape[1] for image in images)
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    grid = np.full((rows * height, columns * width, 3), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        top, left = index // columns * height, index % columns * width
        left += (width - image.shape[1]) // 2
        grid[top:top + height, left:left + image.shape[1]] = image
    write_image(out_file, grid)
