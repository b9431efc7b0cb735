"""The inference fast path of a :class:`StackedHourglass`: norms folded, ops fused.

``fold_for_inference(model)`` returns a module that computes what ``model.eval()`` computes
(``tests/test_fast_paths.py``: max abs difference <= 1e-4 of the heatmap range), faster on CPU:

* every BatchNorm that follows a conv with nothing in between is folded into that conv's weight
  and bias; in the paper's pre-activation unit (BN-ReLU-conv three times) that is the second and
  third BN, folded into conv1 and conv2. The first BN acts on a sum (the unit's input) and stays
  as one ``relu(x * scale + shift)``;
* ReLUs and residual sums run as post-ops of the conv that produces them (see ``fused_ops``), the
  nearest upsampling is a broadcast add into the upper branch, everything is channels-last;
* the batch runs whole by default, or in micro-batches (``micro_batch`` images at a time;
  BatchNorm in eval mode treats images independently, so the outputs are the same). With the
  kept maps below, hg8 at batch 8 runs faster whole than in micro-batches of 2 or 4 on the
  2-core CPU (``tools/benchmark.py --scenarios pose_infer``, README); before them, micro-batches
  of 2 were faster, their smaller maps faulting less;
* maps of 4 MiB or more (e.g. 256 x 64 x 64 is 32 MiB at batch 8) are kept between uses and
  calls (:class:`KeptMaps`): glibc hands such maps back to the kernel when they are freed, so a
  new one is faulted in page by page (``tools/benchmark.py`` counts the faults). Temporaries
  (a unit's BN-ReLU and inner convs, the conv after each hourglass) are written into kept maps,
  sums go into maps that are dead otherwise, and a map that must survive is copied into a kept
  one rather than made anew. ``release_maps()`` frees them.

The folded weights are copies taken at fold time: fold again after changing the model's weights.
"""
import math
import threading
from typing import Dict, List, Optional, Tuple

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


class KeptMaps:
    """Channels-last maps of 4 MiB or more, kept for reuse (one free list per thread and shape).

    Written by hand because torch's CPU allocator caches nothing and glibc hands large blocks
    back to the kernel on free (every block above its mmap threshold, which moves between 128 KiB
    and 32 MiB, and the top of its heap beyond the trim threshold): the next map of that size is
    faulted in and zeroed page by page, which on this project's 2-core machine costs more than a
    pass over the map (README, Performance). Smaller maps are left to the allocator.
    """
    MIN_BYTES = 4 * 2**20
    #: free lists of at most this many shapes; inputs of ever new sizes start a new set
    MAX_SHAPES = 16

    def __init__(self) -> None:
        self._local = threading.local()

    def _free(self) -> Dict:
        free = getattr(self._local, 'free', None)
        if free is None:
            free = self._local.free = {}
        return free

    def _kept(self, shape: Tuple[int, ...], like: torch.Tensor) -> bool:
        return (like.device.type == 'cpu' and len(shape) == 4
                and math.prod(shape) * like.element_size() >= self.MIN_BYTES)

    def take(self, shape: Tuple[int, ...], like: torch.Tensor) -> Optional[torch.Tensor]:
        """A map of ``shape`` (contents undefined) with ``like``'s dtype, channels-last, or None
        if maps of that size are not kept (the caller makes its own)."""
        shape = tuple(shape)
        if not self._kept(shape, like):
            return None
        free = self._free().get((shape, like.dtype))
        if free:
            return free.pop()
        return torch.empty(shape, dtype=like.dtype, device=like.device,
                           memory_format=torch.channels_last)

    def give(self, t: torch.Tensor) -> None:
        """Takes back ``t``, which nobody may read or write afterwards (its contents will be
        overwritten by a later :meth:`take`); maps of sizes not kept are left to the allocator."""
        whole = (t.is_contiguous(memory_format=torch.channels_last) and t.storage_offset() == 0
                 and t.untyped_storage().nbytes() == t.numel() * t.element_size())
        if not (whole and self._kept(tuple(t.shape), t)):  # views of other maps are not taken
            return
        free = self._free()
        key = (tuple(t.shape), t.dtype)
        if key not in free and len(free) >= self.MAX_SHAPES:
            free.clear()
        free.setdefault(key, []).append(t)

    def release(self) -> None:
        """Frees this thread's kept maps."""
        self._local.free = {}

    def kept_bytes(self) -> int:
        """Bytes of the maps this thread keeps now (held between calls, until :meth:`release`)."""
        return sum(t.untyped_storage().nbytes() for free in self._free().values() for t in free)


def _out_shape(conv: FoldedConv, x: torch.Tensor) -> Tuple[int, ...]:
    """(B, C_out, H', W') of ``conv`` on ``x``."""
    b, _, h, w = x.shape
    kh, kw = conv.weight.shape[-2:]
    (ph, pw), (sh, sw), (dh, dw) = conv.padding, conv.stride, conv.dilation
    return (b, conv.weight.shape[0], (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
            (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)


def _conv_into_kept(conv: FoldedConv, x: torch.Tensor, maps: KeptMaps) -> torch.Tensor:
    """``conv(x)``, written into a kept map where maps of its size are kept."""
    return conv(x, out=maps.take(_out_shape(conv, x), x))


def _sum_into(conv: FoldedConv, h: torch.Tensor, x: torch.Tensor, owned: bool,
              maps: KeptMaps) -> torch.Tensor:
    """``conv(h) + x`` (and the conv's ReLU): into x if the caller owns it, else into a kept copy
    of x, else into a new map."""
    if owned:
        return conv(h, x, into_residual=True)
    out = maps.take(tuple(x.shape), x)
    if out is None:
        return conv(h, x)
    return conv(h, out.copy_(x), into_residual=True)


def _skip_sum(conv: FoldedConv, h: torch.Tensor, x: torch.Tensor, skip: Optional[FoldedConv],
              owned: bool, maps: KeptMaps) -> torch.Tensor:
    """A unit's last conv summed with its skip path: ``conv(h) + x`` (identity, ``skip`` None)
    or ``conv(h) + skip(x)``; x is given back if the caller owns it and nothing else needs it."""
    if skip is None:
        return _sum_into(conv, h, x, owned, maps)
    summed = _conv_into_kept(skip, x, maps)
    if owned:
        maps.give(x)
    return conv(h, summed, into_residual=True)


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

    def forward(self, x: torch.Tensor, maps: Optional[KeptMaps] = None,
                owned: bool = False) -> torch.Tensor:
        """``owned``: nobody reads x afterwards (the result may be summed into it)."""
        maps = maps or KeptMaps()
        pre = self.pre(x, out=maps.take(tuple(x.shape), x))  # relu(bn1(x)), a temporary
        h1 = _conv_into_kept(self.conv1, pre, maps)
        maps.give(pre)
        h2 = _conv_into_kept(self.conv2, h1, maps)
        maps.give(h1)
        out = _skip_sum(self.conv3, h2, x, self.skip, owned, maps)
        maps.give(h2)
        return out


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

    def forward(self, x: torch.Tensor, maps: Optional[KeptMaps] = None,
                owned: bool = False) -> torch.Tensor:
        """``owned``: nobody reads x afterwards (the result may be summed into it)."""
        maps = maps or KeptMaps()
        h = _conv_into_kept(self.conv1, x, maps)
        out = _skip_sum(self.conv2, h, x, self.skip, owned, maps)
        maps.give(h)
        return out


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


def _is_max_pool_2x2(unit: nn.Module) -> bool:
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    return (isinstance(unit, nn.MaxPool2d) and pair(unit.kernel_size) == (2, 2)
            and pair(unit.stride) == (2, 2) and pair(unit.padding) == (0, 0)
            and pair(unit.dilation) == (1, 1) and not unit.ceil_mode
            and not unit.return_indices)


def _max_pool(unit: nn.Module, x: torch.Tensor, maps: KeptMaps) -> torch.Tensor:
    """``unit(x)``; the paper's 2x2 max-pool (stride 2) as the maximum of x's four 2x2
    corners, written into a kept map where maps of its size are kept."""
    if not _is_max_pool_2x2(unit):
        return unit(x)
    b, c, h, w = x.shape
    out = maps.take((b, c, h // 2, w // 2), x)
    if out is None:
        return unit(x)
    h, w = h - h % 2, w - w % 2  # floor, as MaxPool2d

    def corner(i, j):
        return x[:, :, i:h:2, j:w:2]

    torch.maximum(corner(0, 0), corner(0, 1), out=out)
    torch.maximum(out, corner(1, 0), out=out)
    return torch.maximum(out, corner(1, 1), out=out)


def _run_units(units: nn.Module, x: torch.Tensor, maps: KeptMaps,
               owned: bool) -> Tuple[torch.Tensor, bool]:
    """Folded units (or max-pools, identities) one after the other: (output, whether the
    caller owns it); ``owned``: whether the caller owns x (it may then be overwritten or kept)."""
    for unit in (units if isinstance(units, nn.Sequential) else [units]):
        if isinstance(unit, (FoldedResidual, FoldedBasicBlock)):
            x, owned = unit(x, maps, owned), True
        elif not isinstance(unit, nn.Identity):  # a max-pool
            y = _max_pool(unit, x, maps)
            if owned:
                maps.give(x)
            x, owned = y, True
    return x, owned


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

    def forward(self, x: torch.Tensor, maps: Optional[KeptMaps] = None) -> torch.Tensor:
        """x is read, not written; the result is the caller's (a new or kept map)."""
        maps = maps or KeptMaps()
        up1, up1_owned = _run_units(self.up1, x, maps, owned=False)  # (B, C, H, W)
        low, owned = _run_units(self.low1, _max_pool(self.down, x, maps), maps,
                                owned=not isinstance(self.down, nn.Identity))
        if isinstance(self.low2, FoldedHourglass):
            low2 = self.low2(low, maps)
            if owned:
                maps.give(low)
            low, owned = low2, True
        else:
            low, owned = _run_units(self.low2, low, maps, owned)
        low3, owned = _run_units(self.low3, low, maps, owned)  # (B, C, h, w)
        b, c, h, w = low3.shape
        if not up1_owned or up1.shape[-2:] != (2 * h, 2 * w):
            up1 = up1 + nn.functional.interpolate(low3, size=up1.shape[-2:], mode='nearest')
        else:  # the nearest upsampling as a broadcast add over 2x2 views, into up1
            up1.view(b, c, h, 2, w, 2).add_(low3.view(b, c, h, 1, w, 1))
        if owned:
            maps.give(low3)
        return up1


class FoldedStackedHourglass(nn.Module):
    """What :func:`fold_for_inference` returns; call it like the model (eval mode only).

    Args:
        model (StackedHourglass): The model; its weights and statistics are copied.
        micro_batch (int): Images per pass through the network (0, the default: the whole
            batch at once; see the module docstring).

    Shape:
        x: (B, in_channels, H, W) -> tuple of num_stacks tensors (B, C, H / 4, W / 4)
    """

    def __init__(self, model: StackedHourglass, micro_batch: int = 0) -> None:
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
        self.maps = KeptMaps()
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

    def _run(self, image: torch.Tensor) -> List[torch.Tensor]:
        maps = self.maps
        x, owned = _run_units(self.stem_layers, _conv_into_kept(self.stem_conv, image, maps),
                              maps, owned=True)  # (b, C, H/4, W/4)
        outs = []
        for i, hourglass in enumerate(self.hourglasses):
            y, _ = _run_units(self.out_blocks[i], hourglass(x, maps), maps, owned=True)
            features = _conv_into_kept(self.out_convs[i], y, maps)  # (b, F, H/4, W/4)
            maps.give(y)
            predictions = self.predicts[i](features) if self.has_predictions[i] else None
            outs.append(features if predictions is None else predictions)
            if i < len(self.merges):
                merge = self.merges[i]
                if 'predictions' in merge:  # x + 1x1(features) + 1x1(predictions)
                    merged = _sum_into(merge['features'], features, x, owned, maps)
                    x = merge['predictions'](predictions, merged, into_residual=True)
                else:  # blocks(relu(norm(1x1(x)) + norm(1x1(features)))); features: an output
                    merged = _conv_into_kept(merge['inter'], x, maps)
                    if owned:
                        maps.give(x)
                    x, _ = _run_units(merge['blocks'], merge['features'](
                        features, merged, into_residual=True), maps, owned=True)
                owned = True
            if predictions is not None:  # the features are not an output: the predictions are
                maps.give(features)
        if owned:
            maps.give(x)
        return outs

    def release_maps(self) -> None:
        """Frees the maps kept between calls (this thread's)."""
        self.maps.release()

    def kept_bytes(self) -> int:
        """Bytes of the maps kept between calls (this thread's): the memory the keeping costs."""
        return self.maps.kept_bytes()

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


def fold_for_inference(model: StackedHourglass, micro_batch: int = 0) -> FoldedStackedHourglass:
    """The inference fast path of ``model`` (see the module docstring)."""
    return FoldedStackedHourglass(model, micro_batch=micro_batch)
