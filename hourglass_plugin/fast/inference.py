"""The inference fast path of a :class:`StackedHourglass`: norms folded, ops fused.

``fold_for_inference(model)`` returns a module that computes what ``model.eval()`` computes
(``tests/test_fast_paths.py``: max abs difference <= 1e-4 of the heatmap range), faster on CPU:

* every BatchNorm that follows a conv with nothing in between is folded into that conv's weight
  and bias; in the paper's pre-activation unit (BN-ReLU-conv three times) that is the second and
  third BN, folded into conv1 and conv2. The first BN acts on a sum (the unit's input) and stays
  as one ``relu(x * scale + shift)``;
* ReLUs and residual sums run as post-ops of the conv that produces them (see ``fused_ops``), the
  nearest upsampling is a broadcast add into the upper branch, everything is channels-last;
* the batch runs in micro-batches (``micro_batch`` images at a time, 2 by default, 0 for the
  whole batch at once; BatchNorm in eval mode treats images independently, so the outputs are
  the same). Smaller maps stay in cache: on the quiet 2-core CPU, hg8 at batch 8 runs faster in
  micro-batches of 2 than whole (``tools/benchmark.py --scenarios pose_infer``, README).

The folded weights are copies taken at fold time: fold again after changing the model's weights.
"""
from typing import List, Optional, Tuple

import torch
from torch import nn

from ..models.backbones import BasicBlock, Hourglass, Residual, StackedHourglass
from ..models.backbones.feature_merge import FeatureMerge
from ..models.backbones.prediction_merge import PredictionMerge
from ..models.backbones.stack_output import StackOutput
from ..models.backbones.stem import Stem
from .fused_ops import AffineReLU, FoldedConv


def _parts(conv_module: nn.Module) -> Tuple[nn.Conv2d, Optional[nn.Module], bool]:
    """(conv, BatchNorm or None, has ReLU) of an mmcv ConvModule; ValueError if not foldable."""
    norm = conv_module.norm if conv_module.with_norm else None
    if norm is not None and not isinstance(norm, nn.modules.batchnorm._BatchNorm):
        raise ValueError(f'the inference fast path folds BatchNorm only, found {norm!r}')
    act = conv_module.activate if conv_module.with_activation else None
    if act is not None and not isinstance(act, nn.ReLU):
        raise ValueError(f'the inference fast path fuses ReLU only, found {act!r}')
    return conv_module.conv, norm, act is not None


class FoldedResidual(nn.Module):
    """The paper's pre-activation unit: ``relu(bn1(x))``, then conv1 (+bn2, relu), conv2 (+bn3,
    relu), conv3 summed with the skip path in the same conv."""

    def __init__(self, unit: Residual) -> None:
        super().__init__()
        (c1, n1, r1), (c2, n2, r2), (c3, n3, r3) = (_parts(unit.conv1), _parts(unit.conv2),
                                                    _parts(unit.conv3))
        if list(unit.conv1.order) != ['norm', 'act', 'conv'] or not (r1 and r2 and r3) or \
                None in (n1, n2, n3):
            raise ValueError('FoldedResidual expects pre-activation BN-ReLU-conv units')
        self.pre = AffineReLU(n1)
        self.conv1 = FoldedConv(c1, n2, relu=True)
        self.conv2 = FoldedConv(c2, n3, relu=True)
        self.conv3 = FoldedConv(c3)
        self.skip = FoldedConv(unit.skip) if isinstance(unit.skip, nn.Conv2d) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(self.pre(x)))
        if self.skip is None:
            return self.conv3(h, x)  # x is read again by the caller: a new output
        return self.conv3(h, self.skip(x), into_residual=True)


class FoldedBasicBlock(nn.Module):
    """CornerNet's unit: conv1 (+bn1, relu), then conv2 (+bn2) summed with the skip, relu."""

    def __init__(self, unit: BasicBlock) -> None:
        super().__init__()
        if not isinstance(unit.act, nn.ReLU):
            raise ValueError(f'the inference fast path fuses ReLU only, found {unit.act!r}')
        c1, n1, r1 = _parts(unit.conv1)
        c2, n2, _ = _parts(unit.conv2)
        self.conv1 = FoldedConv(c1, n1, relu=r1)
        self.conv2 = FoldedConv(c2, n2, relu=True)
        self.skip = FoldedConv(*_parts(unit.skip)[:2]) if not isinstance(unit.skip, nn.Identity) \
            else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        if self.skip is None:
            return self.conv2(h, x)
        return self.conv2(h, self.skip(x), into_residual=True)


def _fold_unit(unit: nn.Module) -> nn.Module:
    if isinstance(unit, Residual):
        return FoldedResidual(unit)
    if isinstance(unit, BasicBlock):
        return FoldedBasicBlock(unit)
    if isinstance(unit, (nn.MaxPool2d, nn.Identity)):
        return unit
    raise ValueError(f'no folded form for {type(unit).__name__}')


def _fold_units(units: nn.Module) -> nn.Module:
    if isinstance(units, nn.Sequential):
        return nn.Sequential(*[_fold_unit(u) for u in units])
    return _fold_unit(units)


class FoldedHourglass(nn.Module):
    """:class:`Hourglass` with folded units; the upsampled branch is added in place."""

    def __init__(self, hourglass: Hourglass) -> None:
        super().__init__()
        self.up1 = _fold_units(hourglass.up1)
        self.down = hourglass.down
        self.low1 = _fold_units(hourglass.low1)
        self.low2 = FoldedHourglass(hourglass.low2) if isinstance(hourglass.low2, Hourglass) \
            else _fold_units(hourglass.low2)
        self.low3 = _fold_units(hourglass.low3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up1 = self.up1(x)  # (B, C, H, W), a fresh tensor: summed into in place
        low3 = self.low3(self.low2(self.low1(self.down(x))))  # (B, C, h, w)
        b, c, h, w = low3.shape
        if up1.shape[-2:] != (2 * h, 2 * w):
            return up1 + nn.functional.interpolate(low3, size=up1.shape[-2:], mode='nearest')
        up1.view(b, c, h, 2, w, 2).add_(low3.view(b, c, h, 1, w, 1))
        return up1


class FoldedStackedHourglass(nn.Module):
    """What :func:`fold_for_inference` returns; call it like the model (eval mode only).

    Args:
        model (StackedHourglass): The model; its weights and statistics are copied.
        micro_batch (int): Images per pass through the network (0: the whole batch at once;
            default 2, see the module docstring).

    Shape:
        x: (B, in_channels, H, W) -> tuple of num_stacks tensors (B, C, H / 4, W / 4)
    """

    def __init__(self, model: StackedHourglass, micro_batch: int = 2) -> None:
        super().__init__()
        if not isinstance(model, StackedHourglass):
            raise ValueError(f'fold_for_inference takes a StackedHourglass, got '
                             f'{type(model).__name__}')
        if micro_batch < 0:
            raise ValueError(f'micro_batch must be >= 0, got {micro_batch}')
        self.micro_batch = micro_batch
        self.check_input_size = model.check_input_size
        stem: Stem = model.stem
        self.stem_conv = FoldedConv(*_parts(stem.conv))
        self.stem_layers = _fold_units(stem.layers)
        self.hourglasses = nn.ModuleList(FoldedHourglass(h) for h in model.hourglasses)
        self.out_blocks = nn.ModuleList(_fold_units(s.blocks) for s in model.stack_outputs)
        self.out_convs = nn.ModuleList(
            FoldedConv(*_parts(s.conv)) for s in model.stack_outputs)
        self.predicts = nn.ModuleList(
            FoldedConv(s.predict) if s.predict is not None else nn.Identity()
            for s in model.stack_outputs)
        self.has_predictions = [s.predict is not None for s in model.stack_outputs]
        self.merges = nn.ModuleList(self._fold_merge(m) for m in model.merges)
        self.eval()

    @staticmethod
    def _fold_merge(merge: nn.Module) -> nn.ModuleDict:
        if isinstance(merge, PredictionMerge):
            return nn.ModuleDict(dict(features=FoldedConv(merge.features),
                                      predictions=FoldedConv(merge.predictions)))
        if isinstance(merge, FeatureMerge):
            if not isinstance(merge.act, nn.ReLU):
                raise ValueError(f'the inference fast path fuses ReLU only, found {merge.act!r}')
            return nn.ModuleDict(dict(inter=FoldedConv(*_parts(merge.inter)[:2]),
                                      features=FoldedConv(*_parts(merge.features)[:2], relu=True),
                                      blocks=_fold_units(merge.blocks)))
        raise ValueError(f'no folded form for {type(merge).__name__}')

    def _run(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.stem_layers(self.stem_conv(x))  # (b, C, H/4, W/4)
        outs = []
        for i, hourglass in enumerate(self.hourglasses):
            features = self.out_convs[i](self.out_blocks[i](hourglass(x)))  # (b, F, H/4, W/4)
            predictions = self.predicts[i](features) if self.has_predictions[i] else None
            outs.append(features if predictions is None else predictions)
            if i < len(self.merges):
                merge = self.merges[i]
                if 'predictions' in merge:  # x + 1x1(features) + 1x1(predictions)
                    merged = merge['features'](features, x)
                    x = merge['predictions'](predictions, merged, into_residual=True)
                else:  # blocks(relu(norm(1x1(x)) + norm(1x1(features))))
                    merged = merge['inter'](x)
                    x = merge['blocks'](merge['features'](features, merged, into_residual=True))
        return outs

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input_size(*x.shape[-2:])
        if x.device.type == 'cpu':
            x = x.contiguous(memory_format=torch.channels_last)
        chunks = [x] if not self.micro_batch else x.split(self.micro_batch)
        per_chunk = [self._run(c) for c in chunks]
        if len(per_chunk) == 1:
            return tuple(per_chunk[0])
        return tuple(torch.cat(stack, 0) for stack in zip(*per_chunk))


def fold_for_inference(model: StackedHourglass, micro_batch: int = 2) -> FoldedStackedHourglass:
    """The inference fast path of ``model`` (see the module docstring)."""
    return FoldedStackedHourglass(model, micro_batch=micro_batch)
