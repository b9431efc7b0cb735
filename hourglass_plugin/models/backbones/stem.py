"""The stem: from the image to the first hourglass's input at 1/4 resolution."""
from typing import Sequence, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType
from torch import nn

from .blocks import get_block
from .checkpointing import checkpointed, needs_checkpoint


class Stem(BaseModule):
    """7x7/2 conv-norm-act, then residual units with one more halving among them.

    Paper: conv(64), Residual(64->128), max-pool, Residual(128->128), Residual(128->256)
    (``block_channels=(128, 128, 256)``, ``downsample_before=1``, ``downsample='max_pool'``).
    CornerNet: conv(128), BasicBlock(128->256, stride 2)
    (``block_channels=(256,)``, ``downsample_before=0``, ``downsample='strided_conv'``).

    Args:
        conv_channels (int): Width of the 7x7 conv.
        block_channels (Sequence[int]): Output width of each residual unit in turn.
        downsample_before (int): Index of the unit before which the resolution halves again.
        downsample (str): ``'max_pool'`` (a pool before that unit) or ``'strided_conv'``
            (that unit has stride 2).
        block (str): Residual unit name.
        with_cp (bool): Activation checkpointing of the 7x7 conv-norm-act too: its output, at
            half the input resolution, is the largest map of the network; with it only the
            image is kept for backward.

    Shape:
        x: (B, in_channels, H, W) -> (B, block_channels[-1], H / 4, W / 4)
    """

    stride = 4

    def __init__(self,
                 in_channels: int,
                 conv_channels: int,
                 block_channels: Sequence[int],
                 downsample_before: int,
                 downsample: str,
                 block: str,
                 norm_cfg: ConfigType,
                 act_cfg: ConfigType,
                 conv_bias: Union[bool, str],
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        if not 0 <= downsample_before < len(block_channels):
            raise ValueError(f'stem downsample_before={downsample_before} must index '
                             f'block_channels={list(block_channels)}')
        self.conv = ConvModule(
            in_channels, conv_channels, 7, stride=2, padding=3, norm_cfg=norm_cfg,
            act_cfg=act_cfg, bias=conv_bias)
        cls = get_block(block)
        layers = []
        widths = [conv_channels, *block_channels]
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
            stride = 1
            if i == downsample_before:
                if downsample == 'max_pool':
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    stride = 2
            layers.append(
                cls(cin, cout, stride=stride, norm_cfg=norm_cfg, act_cfg=act_cfg,
                    conv_bias=conv_bias, with_cp=with_cp))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if needs_checkpoint(self.with_cp):
            x = checkpointed(self.conv, self.conv, x)
        else:
            x = self.conv(x)  # (B, conv_channels, H / 2, W / 2)
        return self.layers(x)  # (B, block_channels[-1], H / 4, W / 4)
