"""One hourglass of order n (Newell et al. 2016, Fig. 3), recursive."""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType
from torch import nn

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
        low2 = self.low2(low1)  # (B, C', H/2, W/2)
        low3 = self.low3(low2)  # (B, C, H/2, W/2)
        up2 = F.interpolate(low3, size=up1.shape[-2:], mode='nearest')  # (B, C, H, W)
        return up1 + up2
