"""The paper's merge between stacks: input + 1x1(features) + 1x1(predictions)."""
import torch
from mmengine.model import BaseModule
from torch import nn


class PredictionMerge(BaseModule):
    """``x + features_conv(features) + predictions_conv(predictions)`` (Newell et al., Fig. 4).

    Re-injecting the supervised predictions is what lets stack i+1 reason about stack i's guesses.

    Shape:
        x: (B, C, H, W), features: (B, F, H, W), predictions: (B, K, H, W) -> (B, C, H, W)
    """

    def __init__(self, in_channels: int, feat_channels: int, num_keypoints: int,
                 conv_bias: bool = True) -> None:
        super().__init__()
        bias = conv_bias is not False
        self.features = nn.Conv2d(feat_channels, in_channels, 1, bias=bias)
        self.predictions = nn.Conv2d(num_keypoints, in_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor, features: torch.Tensor,
                predictions: torch.Tensor) -> torch.Tensor:
        merged = self.features(features)  # a fresh conv output: summed into in place
        merged += self.predictions(predictions)
        merged += x
        return merged
