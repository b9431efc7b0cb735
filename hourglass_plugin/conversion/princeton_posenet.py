"""princeton-vl/pytorch_stacked_hourglass ``PoseNet(nstack, 256, K)`` -> our Newell variant.

Its layout: ``pre.0`` Conv(3, 64, 7, 2, bn, relu) (``.conv`` with bias, ``.bn``), ``pre.1``
Residual(64, 128), ``pre.2`` max-pool, ``pre.3`` Residual(128, 128), ``pre.4`` Residual(128, f);
``hgs.{i}.0`` Hourglass(4, f) with ``up1, low1, low2 (Hourglass or Residual), low3``;
``features.{i}.0`` Residual, ``features.{i}.1`` Conv(1x1, bn, relu); ``outs.{i}`` Conv(1x1);
``merge_features.{i}.conv.conv`` and ``merge_preds.{i}.conv.conv``. Its Residual has ``bn1,
conv1.conv, bn2, conv2.conv, bn3, conv3.conv, skip_layer.conv`` in pre-activation order (bn_k
normalises conv_k's input), and builds ``skip_layer`` even where the widths agree and it is never
run: those keys are dropped. Its model takes NHWC input; ours takes NCHW.
"""
import re
from typing import Dict, List, Tuple

from ..checkpoint.rename import Rule

_RESIDUAL_ATTR = r'(?=(?:bn\d|conv\d|skip_layer)\.)'

PRINCETON_RULES: List[Rule] = [
    (r'^pre\.0\.', 'stem.conv.'),
    # pre.1 .. pre.4 are our stem.layers.0 .. 3 (our 7x7 conv is stem.conv, not a layer)
    (r'^pre\.(\d+)\.', lambda m: f'stem.layers.{int(m.group(1)) - 1}.'),
    (r'^hgs\.(\d+)\.0\.', r'hourglasses.\1.'),
    (r'\.(up1|low1|low2|low3)\.' + _RESIDUAL_ATTR, r'.\1.0.'),
    (r'^features\.(\d+)\.0\.', r'stack_outputs.\1.blocks.0.'),
    (r'^features\.(\d+)\.1\.', r'stack_outputs.\1.conv.'),
    (r'^outs\.(\d+)\.conv\.', r'stack_outputs.\1.predict.'),
    (r'^merge_features\.(\d+)\.conv\.conv\.', r'merges.\1.features.'),
    (r'^merge_preds\.(\d+)\.conv\.conv\.', r'merges.\1.predictions.'),
    # inside every Residual
    (r'\.bn([123])\.', r'.conv\1.bn.'),
    (r'\.skip_layer\.conv\.', '.skip.'),
]


def drop_unused_skips(state_dict: Dict) -> Tuple[Dict, list]:
    """Remove ``skip_layer`` weights of Residuals whose widths agree (PoseNet never runs them)."""
    unused = set()
    for key, value in state_dict.items():
        if key.endswith('skip_layer.conv.weight') and value.shape[0] == value.shape[1]:
            unused.add(key[:-len('conv.weight')])
    kept = {k: v for k, v in state_dict.items() if not any(k.startswith(u) for u in unused)}
    return kept, sorted(unused)


def infer_princeton_backbone_cfg(state_dict: Dict) -> Dict:
    """The ``StackedHourglass`` config that reproduces a ``PoseNet`` state dict.

    Raises:
        ValueError: the keys are not those of a ``PoseNet``.
    """
    if 'pre.0.conv.weight' not in state_dict or 'outs.0.conv.weight' not in state_dict:
        raise ValueError("not a princeton-vl PoseNet state dict: no 'pre.0.conv.weight' or "
                         "'outs.0.conv.weight' keys")
    stacks = {int(m.group(1)) for k in state_dict for m in [re.match(r'hgs\.(\d+)\.', k)] if m}
    order = max(k.count('low2.') for k in state_dict if k.startswith('hgs.0.'))
    width = state_dict['pre.4.conv3.conv.weight'].shape[0]
    return dict(
        type='StackedHourglass',
        num_stacks=max(stacks) + 1,
        order=order,
        stage_channels=(width, ) * (order + 1),
        stage_blocks=(1, ) * (order + 1),
        block='Residual',
        downsample='max_pool',
        stem=dict(conv_channels=state_dict['pre.0.conv.weight'].shape[0],
                  block_channels=(state_dict['pre.1.conv3.conv.weight'].shape[0],
                                  state_dict['pre.3.conv3.conv.weight'].shape[0], width),
                  downsample_before=1),
        feat_channels=width,
        out_blocks=1,
        out_kernel_size=1,
        num_keypoints=state_dict['outs.0.conv.weight'].shape[0],
        merge='predictions',
        conv_bias=True)
