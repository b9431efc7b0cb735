"""Per-joint heatmaps of every stack for one input crop, as one picture.

mmpose's visualizer overlays the last stack's heatmaps summed over joints; to see what
intermediate supervision does, this draws each stack (rows) and each joint (columns) over the
crop the network saw.
"""
from typing import Sequence

import cv2
import numpy as np
import torch


def draw_stack_heatmaps(crop: np.ndarray,
                        heatmaps: Sequence[torch.Tensor],
                        joint_names: Sequence[str],
                        cell: int = 96) -> np.ndarray:
    """One BGR picture: the crop, then one row per stack with one heatmap overlay per joint.

    Args:
        crop: (H, W, 3) uint8 BGR image the network was fed.
        heatmaps: num_stacks tensors of shape (K, h, w).
        joint_names: K names, written above the columns.
        cell: Side of each tile in pixels.

    Returns:
        (rows, cols, 3) uint8 BGR image.
    """
    num_joints = heatmaps[0].shape[0]
    if len(joint_names) != num_joints:
        raise ValueError(f'{len(joint_names)} joint names for {num_joints} heatmaps')
    base = cv2.resize(crop, (cell, cell), interpolation=cv2.INTER_AREA)
    header = 18
    canvas = np.full((header + cell * len(heatmaps), cell * (num_joints + 1), 3), 255, np.uint8)
    for s, stack in enumerate(heatmaps):
        y = header + s * cell
        canvas[y:y + cell, :cell] = base
        cv2.putText(canvas, f'stack {s}', (4, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        for k in range(num_joints):
            hm = stack[k].detach().float().cpu().numpy()
            hm = cv2.resize(np.clip(hm, 0, 1), (cell, cell), interpolation=cv2.INTER_LINEAR)
            colour = cv2.applyColorMap((hm * 255).astype(np.uint8), cv2.COLORMAP_JET)
            tile = cv2.addWeighted(base, 0.45, colour, 0.55, 0)
            canvas[y:y + cell, (k + 1) * cell:(k + 2) * cell] = tile
    for k, name in enumerate(joint_names):
        cv2.putText(canvas, name[:12], ((k + 1) * cell + 2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return canvas
