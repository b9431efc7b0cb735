"""One hourglass of order n (Newell et al. 2016, Fig. 3), recursive."""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from mmpose.utils.typing import ConfigType
from .blocks import make_blocks

#: ``downsample`` values: how the lower branch halves the resolution.
DOWNSAMPLES = ('max_pool', 'strided_conv')


class Hourglass(BaseModule):
    """An hourglass of order ``len(stage_channels) - 1``.

    ``up1`` keeps the full scale; the lower branch halves the resolution (max-pool as in the paper
    or a strided first unit as in CornerNet), runs ``low1``, then ``low2`` (the hourglass of one
    order less, or units at the lowest level), then ``low3``, and is upsampled (nearest) back to
    ``up1``'s size; the branches are added. ``norm_cfg``/``act_cfg`` reach every level.

    Args:
        stage_channels (Sequence[int]): Width at this level and every level below (order + 1).
        stage_blocks (Sequence[int]): Residual units per position at each level (order + 1); the
            last entry is the number of units at the lowest level.
        block (str): ``'Residual'`` (paper) or ``'BasicBlock'`` (CornerNet).
        downsample (str): ``'max_pool'`` or ``'strided_conv'``.
        with_cp (bool): Checkpoint every residual unit (activation checkpointing).

    Shape:
        x: (B, stage_channels[0], H, W) -> same shape
    """

    def __init__(self,
                 stage_channels: Sequence[int],
                 stage_blocks: Sequence[int],
                 block: str,
                 downsample: str,
                 norm_cfg: ConfigType,
                 act_cfg: ConfigType,
                 conv_bias: Union[bool, str],
                 with_cp: bool = False) -> None:
        super().__init__()
        if downsample not in DOWNSAMPLES:
            raise ValueError(f'downsample={downsample!r}; choose one of {DOWNSAMPLES}')
        if len(stage_channels) < 2 or len(stage_channels) != len(stage_blocks):
            raise ValueError('an hourglass needs stage_channels and stage_blocks of equal length '
                             f'>= 2 (order + 1), got {list(stage_channels)} and '
                             f'{list(stage_blocks)}')
        cur, low = stage_channels[:2]
        n_cur = stage_blocks[0]
        common = dict(block=block, norm_cfg=norm_cfg, act_cfg=act_cfg, conv_bias=conv_bias,
                      with_cp=with_cp)
        strided = downsample == 'strided_conv'
        # a Residual's output is a sum nobody keeps for backward: the branches add into it
        self.sum_into_up1 = block == 'Residual'
        self.up1 = make_blocks(num_blocks=n_cur, in_channels=cur, out_channels=cur, **common)
        self.down = nn.Identity() if strided else nn.MaxPool2d(2, 2)
        self.low1 = make_blocks(
            num_blocks=n_cur, in_channels=cur, out_channels=low, stride=2 if strided else 1,
            **common)
        if len(stage_channels) > 2:
            self.low2 = Hourglass(stage_channels[1:], stage_blocks[1:], downsample=downsample,
                                  **common)
        else:
            self.low2 = make_blocks(
                num_blocks=stage_blocks[1], in_channels=low, out_channels=low, **common)
        self.low3 = make_blocks(
            num_blocks=n_cur, in_channels=low, out_channels=cur, change_first=False, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up1 = self.up1(x)  # (B, C, H, W)
        low1 = self.low1(self.down(x))  # (B, C', H/2, W/2)
        low3 = self.low3(self.low2(low1))  # (B, C, H/2, W/2)
        # up1 + nearest-upsampled low3: (B, C, H, W)
        return add_upsampled(up1, low3, in_place=self.sum_into_up1)


def add_upsampled(up1: torch.Tensor, low3: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    """``up1 + F.interpolate(low3, size=up1.shape[-2:], mode='nearest')``.

    Channels-last, where ``up1`` is exactly twice ``low3``'s size (always with max-pool
    downsampling), the upsampled map is never written: ``low3`` is broadcast over 2x2 views of
    ``up1`` (one pass instead of three, one full-resolution tensor fewer; the backward sum-pools
    2x2 windows, the nearest upsampling's backward; the channels, innermost, keep it vectorised).
    There, with ``in_place``, the sum is written into ``up1``'s memory: for callers whose ``up1``
    is used nowhere else and not saved for backward (a pre-activation Residual's output, a sum;
    a BasicBlock's ends in a ReLU, which keeps it), else autograd raises.
    Otherwise (NCHW, where the innermost broadcast dim would be 2 long, or odd sizes from strided
    convs, e.g. 511) the upsampled map is added to in place (interpolate keeps nothing for
    backward).

    Shape:
        up1: (B, C, H, W), low3: (B, C, h, w) -> (B, C, H, W), in ``up1``'s memory format
    """
    b, c, h, w = low3.shape
    if up1.shape[-2:] != (2 * h, 2 * w) or \
            not up1.is_contiguous(memory_format=torch.channels_last) or up1.is_contiguous():
        up2 = F.interpolate(low3, size=up1.shape[-2:], mode='nearest')  # (B, C, H, W)
        if up2.stride() != up1.stride():
            return up1 + up2
        up2 += up1
        return up2
    return _BroadcastUpsampleAdd.apply(up1, low3, in_place)


class _BroadcastUpsampleAdd(torch.autograd.Function):
    """``up1 + nearest-upsampled low3`` by broadcasting over 2x2 views (channels-last only).

    Written by hand for its backward: autograd's own backward of the broadcast is a sum over the
    two size-2 dims of a channels-last 6-D view, which PyTorch's CPU reduction runs many times
    slower than 2x2 sum-pooling, the same sums (``avg_pool2d`` with ``divisor_override=1``); the
    README's pose section has what it changed in the demo's iteration time.

    Shape:
        up1: (B, C, 2h, 2w) channels-last, low3: (B, C, h, w) -> (B, C, 2h, 2w)
    """

    @staticmethod
    def forward(ctx, up1: torch.Tensor, low3: torch.Tensor, in_place: bool) -> torch.Tensor:
        b, c, h, w = low3.shape
        if in_place:  # no new full-resolution map (autograd checks nobody saved up1)
            up1.view(b, c, h, 2, w, 2).add_(low3.view(b, c, h, 1, w, 1))
            ctx.mark_dirty(up1)
            return up1
        out = up1.view(b, c, h, 2, w, 2) + low3.view(b, c, h, 1, w, 1)  # (B, C, h, 2, w, 2)
        return out.view(up1.shape) if _viewable(out) else out.reshape(up1.shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # d/d up1 is the gradient itself; d/d low3 sums each 2x2 window (nearest's backward).
        return grad, F.avg_pool2d(grad, 2, divisor_override=1), None


def _viewable(t: torch.Tensor) -> bool:
    """Whether (B, C, h, 2, w, 2) merges back to (B, C, H, W) without a copy."""
    s = t.stride()
    return s[2] == 2 * s[3] and s[4] == 2 * s[5]
