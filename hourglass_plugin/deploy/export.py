"""ONNX export of a model's network, checked against the PyTorch model before it is kept.

What is exported (:class:`ExportedNetwork`) is the network between mmpose's (or mmdet's) data
preprocessor and its decoding: the normalised image batch in, and out

* pose (an mmpose estimator): the head's heatmaps, the last stack's (``heatmaps``) or, with
  ``all_stacks``, every stack's (``heatmaps_0`` ... ``heatmaps_{N-1}``), each (B, K, H/4, W/4);
* detection (an mmdet detector): the backbone's features of every stack (``features_0`` ...),
  each (B, C, H/4, W/4); CornerHead's decoding is not part of it;
* a bare backbone: its last stack's output (``outputs``), or every stack's.

Decoding (argmax with the quarter offset, the flip test) stays in Python, in mmpose's codec, so
exported and eager keypoints come from the same code. The exporter is torch's own
(``torch.onnx.export(..., dynamo=True)``), opset 18; the batch dimension is dynamic unless a fixed
batch size is asked for.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..checkpoint import atomic_output

#: A graph passes the parity check when no output differs from PyTorch's by more than this
#: fraction of that output's range (max - min). fp32 engines sum in other orders (fused
#: conv + BN, other conv algorithms), which moves each conv's output by ~1e-7 of its scale; over
#: the ~100 convs of a Newell hg8 that grows to a few 1e-6 of the range (6e-5 absolute on heatmaps
#: of range ~30, measured with ONNX Runtime and OpenVINO). 1e-4 leaves a 10x margin above that,
#: and still catches any real mismatch (a wrong weight, a BatchNorm left in training mode, a
#: dropped stack), each of which moves outputs by a large part of their range.
PARITY_TOLERANCE = 1e-4
OPSET = 18


def task_of(model: nn.Module) -> str:
    """'pose' (an mmpose estimator), 'detection' (an mmdet detector) or 'backbone', by the
    model's class."""
    from mmdet.models.detectors import BaseDetector
    from mmpose.models.pose_estimators.base import BasePoseEstimator
    if isinstance(model, BasePoseEstimator):
        return 'pose'
    if isinstance(model, BaseDetector):
        return 'detection'
    return 'backbone'


class ExportedNetwork(nn.Module):
    """The part of ``model`` that is exported (see the module docstring).

    Shape:
        x: (B, 3, H, W) -> one tensor (B, K, H/4, W/4) (pose, last stack) or a tuple of one
        tensor per stack
    """

    def __init__(self, model: nn.Module, all_stacks: bool = False) -> None:
        super().__init__()
        self.model = model.eval()
        self.task = task_of(model)
        self.all_stacks = all_stacks or self.task == 'detection'
        self.eval()

    def forward(self, x: torch.Tensor):
        if self.task == 'pose':
            outs = self.model.head.forward(self.model.extract_feat(x))  # N x (B, K, h, w)
        elif self.task == 'detection':
            outs = self.model.backbone(x)  # N x (B, C, h, w)
        else:
            outs = self.model(x)
        return tuple(outs) if self.all_stacks else outs[-1]

    def output_names(self, num_outputs: int) -> List[str]:
        name = {'pose': 'heatmaps', 'detection': 'features'}.get(self.task, 'outputs')
        return [f'{name}_{i}' for i in range(num_outputs)] if self.all_stacks else [name]


def as_list(outputs) -> List[torch.Tensor]:
    return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def parity(expected: Sequence[torch.Tensor], got: Sequence[torch.Tensor]) -> Dict[str, float]:
    """How far ``got`` is from ``expected``: the largest absolute difference of any output, and
    the largest relative to that output's range (see :data:`PARITY_TOLERANCE`)."""
    if len(expected) != len(got):
        raise ValueError(f'the graph has {len(got)} outputs, the model {len(expected)}')
    worst_abs = worst_rel = 0.0
    for e, g in zip(expected, got):
        if tuple(e.shape) != tuple(g.shape):
            raise ValueError(f'output shape {tuple(g.shape)} differs from the model\'s '
                             f'{tuple(e.shape)}')
        diff = (e.float() - g.float()).abs().max().item()
        scale = max((e.max() - e.min()).item(), 1e-12)
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, diff / scale)
    return dict(max_abs_diff=worst_abs, max_rel_diff=worst_rel)


def export_onnx(model: nn.Module,
                path: str,
                input_size: Tuple[int, int],
                all_stacks: bool = False,
                batch_size: Optional[int] = None) -> List[str]:
    """Export ``model``'s network (see :class:`ExportedNetwork`) to the ONNX file ``path``.

    Args:
        model: an mmpose estimator, an mmdet detector or a backbone, on the CPU.
        path: the ``.onnx`` file to write (whole or not at all: :func:`atomic_output`).
        input_size: (H, W) of the input.
        all_stacks: pose: every stack's heatmaps instead of the last one's.
        batch_size: a fixed batch size; None: the batch dimension is dynamic.

    Returns:
        The graph's output names, in order.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f'batch_size must be >= 1 (or None: dynamic), got {batch_size}')
    network = ExportedNetwork(model, all_stacks)
    height, width = input_size
    # two images where the batch is dynamic: an example of size 1 would be specialised to 1
    x = torch.randn(batch_size or 2, 3, height, width)
    with torch.no_grad():
        names = network.output_names(len(as_list(network(x))))
    dynamic = None if batch_size else {'x': {0: torch.export.Dim('batch', min=1, max=4096)}}
    with atomic_output(path) as (partial, ):
        program = torch.onnx.export(
            network, (x, ), dynamo=True, opset_version=OPSET, input_names=['image'],
            output_names=names, dynamic_shapes=dynamic, verbose=False)
        program.save(partial)
    return names
