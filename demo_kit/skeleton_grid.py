"""Pictures side by side: a grid of predicted skeletons to look at in one image."""
from typing import Sequence

import numpy as np


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
    cv2.imwrite(out_file, grid)
