"""Residual units by name, and runs of them (what mmdet calls a ``ResLayer``)."""
from typing import Union

from mmpose.utils.typing import ConfigType
from torch import nn

from .basic_block import BasicBlock
from .residual import Residual

#: ``block`` values a :class:`StackedHourglass` accepts.
BLOCKS = {'Residual': Residual, 'BasicBlock': BasicBlock}


def get_block(name: str) -> type:
    """The block class called ``name``; a ValueError lists the known names otherwise."""
    if name not in BLOCKS:
        raise ValueError(f'block={name!r} is not a residual unit; choose one of {sorted(BLOCKS)}')
    return BLOCKS[name]


def make_blocks(block: str,
                num_blocks: int,
                in_channels: int,
                out_channels: int,
                norm_cfg: ConfigType,
                act_cfg: ConfigType,
                conv_bias: Union[bool, str],
                stride: int = 1,
                change_first: bool = True,
                with_cp: bool = False) -> nn.Sequential:
    """``num_blocks`` residual units from ``in_channels`` to ``out_channels``.

    Args:
        change_first (bool): Change width (and apply ``stride``) in the first unit, as on the way
            down an hourglass; otherwise in the last one, as on the way up (mmdet's
            ``downsample_first=False``).
        with_cp (bool): Checkpoint every unit (activation checkpointing).

    Shape:
        (B, in_channels, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride))
    """
    if num_blocks < 1:
        raise ValueError(f'num_blocks must be >= 1, got {num_blocks}')
    cls = get_block(block)
    common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg, conv_bias=conv_bias, with_cp=with_cp)
    widths = [in_channels] + [out_channels] * num_blocks if change_first else \
        [in_channels] * num_blocks + [out_channels]
    changing = 0 if change_first else num_blocks - 1
    return nn.Sequential(*[
        cls(widths[i], widths[i + 1], stride=stride if i == changing else 1, **common)
        for i in range(num_blocks)
    ])
