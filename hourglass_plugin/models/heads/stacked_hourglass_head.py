"""Intermediate supervision for stacked hourglasses, on top of mmpose's multi-stage ``CPMHead``."""
from typing import Dict, List, Optional, Sequence

import torch
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.heads import CPMHead
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor


class StackedHourglassHead(CPMHead):
    """Supervises every stack's heatmaps against the same targets; predicts from the last stack.

    Reused from ``CPMHead``: per-stack final layers, ``predict`` (decode through the codec, e.g.
    ``MSRAHeatmap`` with its quarter-offset refinement, flip test with heatmap shift, optional
    heatmap output) and the default initialisation. Added here: per-stack loss weights, a logged
    loss per stack (``loss_stack{i}``; mmengine logs their sum as ``loss``), a ValueError when the
    backbone's stack count differs, and heatmap backbones without any extra layer.

    Two uses:

    * a backbone that already outputs heatmaps (the paper's ``StackedHourglass`` with
      ``num_keypoints``, whose predictions are re-injected): ``final_layer=None``, no parameters;
    * a backbone that outputs features: ``final_layer=dict(kernel_size=1)`` gives each stack its
      own 1x1 prediction conv from ``in_channels`` to ``out_channels``.

    Args:
        in_channels (int): Channels of each stack's output (K for heatmap backbones).
        out_channels (int): Number of keypoints K.
        num_stacks (int): Number of stacks the backbone returns.
        final_layer (dict, optional): Per-stack 1x1 conv config, or None for heatmap inputs.
        stack_loss_weights (Sequence[float], optional): Weight of each stack's loss; all 1 when
            None (the paper).
        loss (dict): Heatmap loss config; ``HeatmapMSELoss`` by default.
        decoder (dict, optional): Codec config for ``predict``.
        init_cfg (dict, optional): Initialisation config.

    Shape:
        feats: sequence of num_stacks tensors (B, in_channels, h, w) ->
        forward: list of num_stacks heatmaps (B, K, h, w)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_stacks: int,
                 final_layer: Optional[Dict] = None,
                 stack_loss_weights: Optional[Sequence[float]] = None,
                 loss: ConfigType = dict(type='HeatmapMSELoss', use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if final_layer is None and in_channels != out_channels:
            raise ValueError(
                f'final_layer=None expects heatmap inputs, so in_channels ({in_channels}) must '
                f'equal out_channels ({out_channels}); set final_layer=dict(kernel_size=1) for '
                'a feature backbone')
        if stack_loss_weights is None:
            stack_loss_weights = [1.0] * num_stacks
        if len(stack_loss_weights) != num_stacks:
            raise ValueError(f'stack_loss_weights has {len(stack_loss_weights)} values '
                             f'{list(stack_loss_weights)} but num_stacks={num_stacks}')
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            num_stages=num_stacks,
            final_layer=final_layer,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg)
        self.num_stacks = num_stacks
        self.stack_loss_weights = [float(w) for w in stack_loss_weights]

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Each stack's heatmaps (B, K, h, w), in fp32 also under autocast: the loss's accuracy,
        the codec's decoding and the returned heatmaps go through NumPy, which has no bf16."""
        if len(feats) != self.num_stacks:
            raise ValueError(f'{type(self).__name__} was built for num_stacks={self.num_stacks} '
                             f'but the backbone returned {len(feats)} outputs; make the head\'s '
                             "num_stacks equal the backbone's")
        return [heatmaps.float() for heatmaps in super().forward(feats)]

    def loss(self,
             feats: Sequence[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: OptConfigType = {}) -> Dict[str, Tensor]:
        """Weighted heatmap loss of every stack, and PCK accuracy of the last stack.

        Returns:
            dict: ``loss_stack{i}`` for each stack i (weighted; their sum is the total loss that
            mmengine optimises and logs as ``loss``) and ``acc_pose``.
        """
        heatmaps = self.forward(feats)  # num_stacks x (B, K, h, w)
        gt_heatmaps = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat(
            [d.gt_instance_labels.keypoint_weights for d in batch_data_samples])  # (B, K)
        losses = dict()
        for i, (pred, weight) in enumerate(zip(heatmaps, self.stack_loss_weights)):
            loss_func = self.loss_module[i] if isinstance(
                self.loss_module, torch.nn.ModuleList) else self.loss_module
            losses[f'loss_stack{i}'] = weight * loss_func(pred, gt_heatmaps, keypoint_weights)
        _, avg_acc, _ = pose_pck_accuracy(
            output=to_numpy(heatmaps[-1]),
            target=to_numpy(gt_heatmaps),
            mask=to_numpy(keypoint_weights) > 0)
        losses['acc_pose'] = torch.tensor(avg_acc, device=gt_heatmaps.device)
        return losses
