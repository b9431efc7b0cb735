"""The paper's residual module (Newell et al. 2016, Fig. 4 left)."""
from typing import Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType
from torch import nn

from .checkpointing import checkpointed, needs_checkpoint

#: ``ConvModule``'s order for a pre-activation unit (He et al. 2016): norm, act, then conv
PRE_ACTIVATION = ('norm', 'act', 'conv')


class Residual(BaseModule):
    """Pre-activation bottleneck: BN-ReLU-1x1 (f -> f/2), BN-ReLU-3x3, BN-ReLU-1x1 (-> f).

    The skip path is the identity, or a 1x1 conv only where the widths (or the stride) differ, so
    no parameter is ever left unused.

    Args:
        in_channels (int): Input width.
        out_channels (int): Output width ``f``; the bottleneck is ``f // 2`` wide.
        stride (int): Stride of the 3x3 conv (and of the skip conv), 1 or 2.
        norm_cfg (dict): Norm layer config, e.g. ``dict(type='BN')``.
        act_cfg (dict): Activation config, e.g. ``dict(type='ReLU')``.
        conv_bias (bool | str): Conv biases; ``True`` as in pose-hg-train, ``'auto'`` for
            mmcv's rule.
        with_cp (bool): Activation checkpointing: keep only the input for backward and recompute
            the rest there (BatchNorm running statistics are updated once, as without it).

    Shape:
        x: (B, in_channels, H, W) -> (B, out_channels, H / stride, W / stride)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 conv_bias: Union[bool, str] = True,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        mid_channels = out_channels // 2
        common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg, bias=conv_bias, order=PRE_ACTIVATION)
        self.conv1 = ConvModule(in_channels, mid_channels, 1, **common)
        self.conv2 = ConvModule(mid_channels, mid_channels, 3, stride=stride, padding=1, **common)
        self.conv3 = ConvModule(mid_channels, out_channels, 1, **common)
        if in_channels != out_channels or stride != 1:
            # pose-hg-train's skipLayer: a plain 1x1 conv (no norm, no activation).
            bias = True if conv_bias == 'auto' else conv_bias
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)
        else:
            self.skip = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if needs_checkpoint(self.with_cp):
            return checkpointed(self, self._forward, x)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # BN-ReLU-1x1: (B, f/2, H, W)
        out = self.conv2(out)  # BN-ReLU-3x3: (B, f/2, H / stride, W / stride)
        out = self.conv3(out)  # BN-ReLU-1x1: (B, f, H / stride, W / stride)
        out += self.skip(x)  # a conv's fresh output, not kept for backward: added to in place
        return out
