"""Mean squared error between predicted and target heatmaps, with per-keypoint visibility."""
from typing import Optional

from torch import Tensor, nn


class HeatmapMSELoss(nn.Module):
    """MSE heatmap loss of Newell et al. 2016, with visibility weights that really apply.

    ``loss = loss_weight * sum_{b,k,y,x} w[b,k] * (pred - target)^2 / (B * K * H * W)``

    with ``w[b,k]`` the keypoint weight when ``use_target_weight`` is True and 1 otherwise. The
    normalisation is the plain mean over every heatmap pixel (as in pose-hg-train's
    ``MSECriterion`` and mmpose's ``KeypointMSELoss``), so a batch whose keypoints are all
    invisible gives exactly 0 (never NaN), and down-weighting a joint does not inflate the others.
    Unlike mmpose's ``KeypointMSELoss``, which stores ``use_target_weight`` and never reads it,
    the flag decides here whether the weights are applied.

    Args:
        use_target_weight (bool): Multiply each keypoint's squared error by its weight.
        loss_weight (float): Scale of the loss.

    Note:
        - B: batch size, K: keypoints, H, W: heatmap size
        - output: (B, K, H, W) predicted heatmaps
        - target: (B, K, H, W) target heatmaps
        - target_weights: (B, K) keypoint weights (visibility), required if use_target_weight
    """

    def __init__(self, use_target_weight: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self,
                output: Tensor,
                target: Tensor,
                target_weights: Optional[Tensor] = None) -> Tensor:
        if output.shape != target.shape or output.dim() != 4:
            raise ValueError(f'output {tuple(output.shape)} and target {tuple(target.shape)} '
                             'must both be (B, K, H, W)')
        squared = (output - target)**2  # (B, K, H, W)
        if self.use_target_weight:
            if target_weights is None:
                raise ValueError('use_target_weight=True needs target_weights of shape (B, K)')
            if target_weights.shape != output.shape[:2]:
                raise ValueError(f'target_weights {tuple(target_weights.shape)} must be '
                                 f'(B, K) = {tuple(output.shape[:2])}')
            squared = squared * target_weights[:, :, None, None].to(squared.dtype)
        return squared.mean() * self.loss_weight
