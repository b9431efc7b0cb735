"""Stacked Hourglass Networks (Newell, Yang, Deng, ECCV 2016), one class for pose and detection."""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType, OptMultiConfig
from torch import nn

from .blocks import get_block
from .checkpointing import checkpointed, cp_mode, needs_checkpoint
from .feature_merge import FeatureMerge
from .hourglass import DOWNSAMPLES, Hourglass
from .prediction_merge import PredictionMerge
from .stack_output import StackOutput
from .stem import Stem

#: ``merge`` values: what flows from stack i into stack i+1.
MERGES = ('predictions', 'features')


class StackedHourglass(BaseModule):
    """N hourglasses in a row, each one's output supervised and merged into the next one's input.

    Variants are configurations (see ``configs/``):

    * Newell et al. 2016 (pose): ``block='Residual'``, ``downsample='max_pool'``, ``order=4``,
      256 channels and one unit per position, a Residual + 1x1 conv-BN-ReLU + 1x1 conv to K
      heatmaps after each hourglass, ``merge='predictions'``: the next stack's input is
      ``x + 1x1(features) + 1x1(heatmaps)``. Returns the heatmaps of every stack.
    * CornerNet's Hourglass-104 (detection; mmdet's ``HourglassNet``): ``block='BasicBlock'``,
      ``downsample='strided_conv'``, ``order=5``, wider deep levels, a 3x3 conv-BN-ReLU after each
      hourglass, ``merge='features'``. Returns the features of every stack.

    Contract: one output per stack, each ``(B, C, H / 4, W / 4)`` with ``C = num_keypoints`` if
    set, else ``feat_channels`` (see :meth:`output_shape`). Input sizes: with max-pool
    downsampling H and W must be divisible by :attr:`size_divisibility` (``4 * 2 ** order``);
    with strided convs any size works, odd ones included (ceil division, upsampling to size, as
    in mmdet). Anything else raises a ValueError naming the sizes before any layer runs.

    Args:
        num_stacks (int): Number of hourglasses N (8 in the paper, 2 in Hourglass-104).
        order (int): Order of each hourglass, i.e. how often it halves the resolution.
        stage_channels (Sequence[int]): Width at each level of an hourglass (order + 1 values).
        stage_blocks (Sequence[int]): Residual units per position at each level (order + 1).
        block (str): ``'Residual'`` (paper's pre-activation bottleneck) or ``'BasicBlock'``.
        downsample (str): ``'max_pool'`` (paper) or ``'strided_conv'`` (CornerNet).
        stem (dict): ``conv_channels``, ``block_channels`` and ``downsample_before`` of the
            :class:`Stem`; its last width must equal ``stage_channels[0]``.
        feat_channels (int): Width of the features after each hourglass.
        out_blocks (int): Residual units after each hourglass (paper 1, CornerNet 0).
        out_kernel_size (int): Kernel of the conv-norm-act after them (paper 1, CornerNet 3).
        num_keypoints (int, optional): K; when set, each stack ends in a 1x1 conv to K heatmaps
            and returns them; when None, stacks return features.
        merge (str, optional): ``'predictions'`` (paper; needs ``num_keypoints``) or
            ``'features'``; None: ``'predictions'`` where ``num_keypoints`` is set, else
            ``'features'``.
        merge_blocks (int): Residual units after a feature merge (CornerNet 1).
        in_channels (int): Image channels.
        norm_cfg (dict): Norm config, passed to every level of every hourglass.
        act_cfg (dict): Activation config, passed everywhere too.
        conv_bias (bool | str): ``True``: every conv has a bias (pose-hg-train); ``'auto'``: none
            before a norm (mmcv's ``ConvModule`` rule, as in mmdet).
        channels_last (bool): Run on channels-last (NHWC) activations, with the conv weights
            stored channels-last too (no per-call weight reorder). Same function
            (``tests/test_backbone.py``), faster on CPU, where oneDNN's 1x1 convs are much faster
            in NHWC (``python -m tools.benchmark``, ``docs/benchmarks.md``).
        with_cp (bool | str): Activation checkpointing (OpenMMLab's ``with_cp``): ``True`` or
            ``'block'`` keeps only each residual unit's input for backward, ``'hourglass'`` only
            each hourglass's; the rest is recomputed during backward. Same outputs, gradients
            and BatchNorm statistics as without it; less activation memory for the time of
            recomputing the forward (``python -m tools.benchmark`` measures both).
        init_cfg (dict | list[dict], optional): mmengine initialisation config.

    Shape:
        x: (B, in_channels, H, W) -> tuple of num_stacks tensors (B, C, H / 4, W / 4)
    """

    def __init__(self,
                 num_stacks: int = 8,
                 order: int = 4,
                 stage_channels: Sequence[int] = (256, 256, 256, 256, 256),
                 stage_blocks: Sequence[int] = (1, 1, 1, 1, 1),
                 block: str = 'Residual',
                 downsample: str = 'max_pool',
                 stem: Optional[Dict] = None,
                 feat_channels: int = 256,
                 out_blocks: int = 1,
                 out_kernel_size: int = 1,
                 num_keypoints: Optional[int] = None,
                 merge: Optional[str] = None,
                 merge_blocks: int = 1,
                 in_channels: int = 3,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 conv_bias: Union[bool, str] = True,
                 channels_last: bool = False,
                 with_cp: Union[bool, str] = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        stem = dict(conv_channels=64, block_channels=(128, 128, 256), downsample_before=1) \
            if stem is None else dict(stem)
        if merge is None:
            merge = 'predictions' if num_keypoints else 'features'
        self._check_args(num_stacks, order, stage_channels, stage_blocks, block, downsample,
                         stem, num_keypoints, merge)
        self.num_stacks = num_stacks
        self.order = order
        self.downsample = downsample
        self.num_keypoints = num_keypoints
        self.feat_channels = feat_channels
        self.channels_last = channels_last
        self.cp_mode = cp_mode(with_cp)
        common = dict(block=block, norm_cfg=norm_cfg, act_cfg=act_cfg, conv_bias=conv_bias,
                      with_cp=self.cp_mode == 'block')
        with warnings.catch_warnings():
            # pose-hg-train puts a bias on every conv, also before a norm; mmcv warns each time
            warnings.filterwarnings('ignore', message='Unnecessary conv bias')
            self._build(num_stacks, stage_channels, stage_blocks, downsample, stem,
                        feat_channels, out_blocks, out_kernel_size, num_keypoints, merge,
                        merge_blocks, in_channels, conv_bias, common)
        if channels_last:
            # 4-D weights only; load_state_dict copies into them and keeps the format
            self.to(memory_format=torch.channels_last)

    def _build(self, num_stacks, stage_channels, stage_blocks, downsample, stem, feat_channels,
               out_blocks, out_kernel_size, num_keypoints, merge, merge_blocks, in_channels,
               conv_bias, common) -> None:
        """Build the stem, the hourglasses, what follows each, and the merges between them."""
        width = stage_channels[0]

        self.stem = Stem(in_channels=in_channels, downsample=downsample, **stem, **common)
        self.hourglasses = nn.ModuleList(
            Hourglass(stage_channels, stage_blocks, downsample=downsample, **common)
            for _ in range(num_stacks))
        self.stack_outputs = nn.ModuleList(
            StackOutput(width, feat_channels, out_blocks, out_kernel_size, num_keypoints,
                        **common) for _ in range(num_stacks))
        # No merge after the last stack: every parameter is used (DDP without find_unused).
        if merge == 'predictions':
            merges = [PredictionMerge(width, feat_channels, num_keypoints, conv_bias)
                      for _ in range(num_stacks - 1)]
        else:
            merges = [FeatureMerge(width, feat_channels, merge_blocks, **common)
                      for _ in range(num_stacks - 1)]
        self.merges = nn.ModuleList(merges)

    @staticmethod
    def _check_args(num_stacks, order, stage_channels, stage_blocks, block, downsample, stem,
                    num_keypoints, merge) -> None:
        """Raise a ValueError naming the argument for every inconsistent configuration."""
        if not isinstance(num_stacks, int) or num_stacks < 1:
            raise ValueError(f'num_stacks must be a positive int, got {num_stacks!r}')
        if not isinstance(order, int) or order < 1:
            raise ValueError(f'order must be a positive int, got {order!r}')
        for name, values in (('stage_channels', stage_channels), ('stage_blocks', stage_blocks)):
            if len(values) != order + 1:
                raise ValueError(f'{name} needs order + 1 = {order + 1} values (one per level), '
                                 f'got {len(values)}: {list(values)}')
            if any(not isinstance(v, int) or v < 1 for v in values):
                raise ValueError(f'{name} must hold positive ints, got {list(values)}')
        get_block(block)
        if downsample not in DOWNSAMPLES:
            raise ValueError(f'downsample={downsample!r}; choose one of {DOWNSAMPLES}')
        if merge not in MERGES:
            raise ValueError(f'merge={merge!r}; choose one of {MERGES}')
        if merge == 'predictions' and not num_keypoints:
            raise ValueError("merge='predictions' re-injects the heatmaps, so it needs "
                             f'num_keypoints, got {num_keypoints!r}')
        unknown = set(stem) - {'conv_channels', 'block_channels', 'downsample_before'}
        if unknown:
            raise ValueError(f'stem got unknown keys {sorted(unknown)}; it takes conv_channels, '
                             'block_channels and downsample_before')
        if stem['block_channels'][-1] != stage_channels[0]:
            raise ValueError(f"stem block_channels[-1]={stem['block_channels'][-1]} must equal "
                             f'stage_channels[0]={stage_channels[0]}')

    @property
    def stride(self) -> int:
        """Output stride of every stack (the stem's)."""
        return Stem.stride

    @property
    def size_divisibility(self) -> int:
        """H and W must be multiples of this (1: any size)."""
        return self.stride * 2**self.order if self.downsample == 'max_pool' else 1

    def output_shape(self) -> List[Dict[str, int]]:
        """Channels and stride of each stack's output, in order."""
        channels = self.num_keypoints or self.feat_channels
        return [dict(channels=channels, stride=self.stride) for _ in range(self.num_stacks)]

    def check_input_size(self, height: int, width: int) -> None:
        """Raise a ValueError if an input of ``height`` x ``width`` cannot pass the network."""
        d = self.size_divisibility
        if height < 1 or width < 1 or height % d or width % d:
            raise ValueError(
                f'input size {height}x{width} (HxW) cannot pass this StackedHourglass: with '
                f"downsample='{self.downsample}' and order={self.order}, H and W must be "
                f'multiples of {d}; e.g. {max(d, height // d * d)}x{max(d, width // d * d)}')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input_size(*x.shape[-2:])
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)  # every conv follows the input
        x = self.stem(x)  # (B, C, H/4, W/4)
        outs = []
        per_hourglass = needs_checkpoint(self.cp_mode == 'hourglass')
        for i in range(self.num_stacks):
            hourglass = self.hourglasses[i]
            x_hg = checkpointed(hourglass, hourglass, x) if per_hourglass else hourglass(x)
            features, predictions = self.stack_outputs[i](x_hg)
            outs.append(features if predictions is None else predictions)  # (B, K or F, H/4, W/4)
            if i < self.num_stacks - 1:
                x = self.merges[i](x, features, predictions)  # (B, C, H/4, W/4)
        return tuple(outs)
