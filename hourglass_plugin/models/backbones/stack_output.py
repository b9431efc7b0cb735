"""What each stack computes from its hourglass: features, and predictions where supervised."""
from typing import Optional, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType
from torch import nn

from .blocks import make_blocks


class StackOutput(BaseModule):
    """Residual units, a conv-norm-act, and (paper) a 1x1 conv to K heatmaps.

    Paper: Residual, 1x1 conv-BN-ReLU, 1x1 conv to K (``num_blocks=1``, ``kernel_size=1``,
    ``num_keypoints=K``). CornerNet: 3x3 conv-BN-ReLU to the feature width (``num_blocks=0``,
    ``kernel_size=3``, ``num_keypoints=None``).

    Shape:
        x: (B, in_channels, H, W) -> features (B, feat_channels, H, W) and predictions
        (B, num_keypoints, H, W) or None.
    """

    def __init__(self,
                 in_channels: int,
                 feat_channels: int,
                 num_blocks: int,
                 kernel_size: int,
                 num_keypoints: Optional[int],
                 block: str,
                 norm_cfg: ConfigType,
                 act_cfg: ConfigType,
                 conv_bias: Union[bool, str],
                 with_cp: bool = False) -> None:
        super().__init__()
        common = dict(norm_cfg=norm_cfg, act_cfg=act_cfg, conv_bias=conv_bias, with_cp=with_cp)
        self.blocks = make_blocks(block, num_blocks, in_channels, in_channels, **common) \
            if num_blocks else nn.Identity()
        self.conv = ConvModule(
            in_channels, feat_channels, kernel_size, padding=kernel_size // 2,
            norm_cfg=norm_cfg, act_cfg=act_cfg, bias=conv_bias)
        self.predict = nn.Conv2d(feat_channels, num_keypoints, 1) if num_keypoints else None

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        features = self.conv(self.blocks(x))  # (B, F, H, W)
        predictions = self.predict(features) if self.predict is not None else None  # (B, K, H, W)
        return features, predictions
