"""CornerNet's merge between stacks: features only, normalised, then a residual unit."""
from typing import Optional, Union

import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType

from .blocks import make_blocks


class FeatureMerge(BaseModule):
    """``blocks(act(norm(1x1(x)) + norm(1x1(features))))`` (mmdet's ``HourglassNet``).

    Shape:
        x: (B, C, H, W), features: (B, F, H, W) -> (B, C, H, W); predictions are not used.
    """

    def __init__(self,
                 in_channels: int,
                 feat_channels: int,
                 num_blocks: int,
                 block: str,
                 norm_cfg: ConfigType,
                 act_cfg: ConfigType,
                 conv_bias: Union[bool, str],
                 with_cp: bool = False) -> None:
        super().__init__()
        common = dict(norm_cfg=norm_cfg, act_cfg=None, bias=conv_bias)
        self.inter = ConvModule(in_channels, in_channels, 1, **common)
        self.features = ConvModule(feat_channels, in_channels, 1, **common)
        self.act = build_activation_layer(act_cfg)
        self.blocks = make_blocks(block, num_blocks, in_channels, in_channels, norm_cfg=norm_cfg,
                                  act_cfg=act_cfg, conv_bias=conv_bias, with_cp=with_cp)

    def forward(self, x: torch.Tensor, features: torch.Tensor,
                predictions: Optional[torch.Tensor] = None) -> torch.Tensor:
        merged = self.inter(x)
        merged += self.features(features)  # in place: the norm's output is not kept for backward
        return self.blocks(self.act(merged))
