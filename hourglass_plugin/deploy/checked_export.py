"""An export that is kept only when the graph computes what the PyTorch model computes.

The check: a real image resized to the input size and its mirror image, normalised by the
model's data preprocessor, go through the exported graph in an engine and through the PyTorch
model; the export is kept only when no output differs by more than
:data:`~.export.PARITY_TOLERANCE` of its range. For pose, the keypoints the head's codec decodes
from both are compared too. On a failed check nothing is left at the destination.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import nn

from ..checkpoint import atomic_output
from ..errors import ExportError, UsageError
from .engines import load_engine
from .export import PARITY_TOLERANCE, ExportedNetwork, as_list, export_onnx, parity, task_of


def preprocess(model: nn.Module, image: np.ndarray, input_size: Tuple[int, int]) -> torch.Tensor:
    """The BGR ``image`` at ``input_size`` (H, W) and its mirror image, through the model's data
    preprocessor (mmengine's ``ImgDataPreprocessor`` part of it, which mmpose's and mmdet's
    extend with what only concerns data samples): (2, 3, H, W)."""
    from mmengine.model import ImgDataPreprocessor
    height, width = input_size
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    inputs = [torch.from_numpy(img.copy()).permute(2, 0, 1) for img in
              (resized, resized[:, ::-1])]  # (3, H, W) uint8 BGR each
    with torch.no_grad():
        return ImgDataPreprocessor.forward(model.data_preprocessor, dict(inputs=inputs),
                                           False)['inputs']


def keypoint_shift(model: nn.Module, expected: torch.Tensor, got: torch.Tensor) -> float:
    """Largest distance, in heatmap pixels, between keypoints decoded from two (B, K, h, w)
    heatmap batches by the head's codec (as mmpose decodes them)."""
    decoder = model.head.decoder
    worst = 0.0
    for e, g in zip(expected, got):  # (K, h, w) each
        kp_e, _ = decoder.decode(e.numpy())
        kp_g, _ = decoder.decode(g.numpy())
        worst = max(worst, float(abs(kp_e - kp_g).max()))
    return worst


def export_checked(model: nn.Module, out: str, input_size: Sequence[int], image: np.ndarray,
                   all_stacks: bool = False, batch_size: Optional[int] = None,
                   check_backend: str = 'onnxruntime') -> Dict[str, object]:
    """Export ``model`` (eval mode, weights loaded) to ``out`` (``.onnx``), put in place
    (:func:`~hourglass_plugin.checkpoint.atomic_output`) only when the parity check on
    ``image`` (BGR) passes in ``check_backend``. Returns the output names, the parity and,
    for pose, the largest keypoint shift in heatmap pixels (``keypoint_shift``)."""
    if not out.endswith('.onnx'):
        raise UsageError(f'--out {out}: the exported file must end in .onnx')
    if batch_size is not None and batch_size < 1:
        raise UsageError(f'--fixed-batch must be >= 1, got {batch_size}')
    with atomic_output(out) as (partial, ):
        names = export_onnx(model, partial, tuple(input_size), all_stacks, batch_size)
        x = preprocess(model, image, tuple(input_size))
        if batch_size:
            x = x[:1].expand(batch_size, -1, -1, -1).contiguous()
        with torch.no_grad():
            expected = as_list(ExportedNetwork(model, all_stacks)(x))
        got = load_engine(check_backend, partial)(x)
        check = parity(expected, got)
        if check['max_rel_diff'] > PARITY_TOLERANCE:
            raise ExportError(
                f'{out}: the exported graph in {check_backend} differs from PyTorch by '
                f"{check['max_abs_diff']:.3g} ({check['max_rel_diff']:.2e} of the output range, "
                f'more than {PARITY_TOLERANCE:g}); nothing was written')
    report = dict(names=names, **check)
    if task_of(model) == 'pose':
        report['keypoint_shift'] = keypoint_shift(model, expected[-1], got[-1])
    return report


IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def first_test_image(cfg) -> str:
    """The first image (by name) in the folder of the config's test set: the default image of
    the parity check."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    folder = osp.join(dataset.get('data_root') or '',
                      (dataset.get('data_prefix') or {}).get('img', ''))
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)) \
        if osp.isdir(folder) else []
    if not names:
        raise FileNotFoundError(f'no image in the test set folder {folder or "(none)"} of the '
                                'config: give one with --image')
    return osp.join(folder, names[0])
