"""CornerNet's residual unit: the 3x3 basic block of ResNet (post-activation)."""
from typing import Union

import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType
from torch import nn

from .checkpointing import checkpointed, needs_checkpoint

# mmcv's ConvModule rule: these activations take no ``inplace`` argument
_NO_INPLACE = ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU')


class BasicBlock(BaseModule):
    """conv3x3-BN-ReLU, conv3x3-BN, added to the skip path, then ReLU (mmdet's ``BasicBlock``).

    The skip path is the identity, or a 1x1 conv + norm where the width or the stride differs.

    Args:
        in_channels (int): Input width.
        out_channels (int): Output width.
        stride (int): Stride of the first conv (and of the skip conv), 1 or 2.
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation config.
        conv_bias (bool | str): Conv biases; ``'auto'`` (none before a norm) as in mmdet.
        with_cp (bool): Activation checkpointing (see :class:`Residual`).

    Shape:
        x: (B, in_channels, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 conv_bias: Union[bool, str] = 'auto',
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        common = dict(norm_cfg=norm_cfg, bias=conv_bias)
        self.conv1 = ConvModule(
            in_channels, out_channels, 3, stride=stride, padding=1, act_cfg=act_cfg, **common)
        self.conv2 = ConvModule(out_channels, out_channels, 3, padding=1, act_cfg=None, **common)
        if in_channels != out_channels or stride != 1:
            self.skip = ConvModule(
                in_channels, out_channels, 1, stride=stride, act_cfg=None, **common)
        else:
            self.skip = nn.Identity()
        act_cfg = dict(act_cfg)
        if act_cfg['type'] not in _NO_INPLACE:
            act_cfg.setdefault('inplace', True)  # as ConvModule's own activations
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if needs_checkpoint(self.with_cp):
            return checkpointed(self, self._forward, x)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))  # (B, C_out, H', W')
        out += self.skip(x)  # in place: the norm's output is not kept for backward
        return self.act(out)
