"""mmdet's / mmpose's ``HourglassNet`` (CornerNet HG-104, hourglass52) -> ``StackedHourglass``.

Both share one layout: ``stem.0`` ConvModule, ``stem.1`` ResLayer of one BasicBlock,
``hourglass_modules.{i}`` with ``up1, low1, low2, low3`` ResLayers, ``inters`` (a ResLayer with
one BasicBlock per merge), ``conv1x1s``, ``remap_convs`` and ``out_convs`` ConvModules. Their
BasicBlock has ``conv1, bn1, conv2, bn2, downsample.{0: conv, 1: norm}``.
"""
import re
from typing import Dict, List, Tuple

from ..checkpoint.rename import Rule

MMLAB_RULES: List[Rule] = [
    (r'^stem\.0\.', 'stem.conv.'),
    (r'^stem\.1\.(\d+)\.', r'stem.layers.\1.'),
    (r'^hourglass_modules\.', 'hourglasses.'),
    (r'^inters\.(\d+)\.', r'merges.\1.blocks.0.'),
    (r'^conv1x1s\.(\d+)\.', r'merges.\1.inter.'),
    (r'^remap_convs\.(\d+)\.', r'merges.\1.features.'),
    (r'^out_convs\.(\d+)\.', r'stack_outputs.\1.conv.'),
    # inside every BasicBlock
    (r'\.conv([12])\.weight$', r'.conv\1.conv.weight'),
    (r'\.bn([12])\.', r'.conv\1.bn.'),
    (r'\.downsample\.0\.', '.skip.conv.'),
    (r'\.downsample\.1\.', '.skip.bn.'),
]


def _count(prefix: str, state_dict: Dict) -> int:
    """Number of consecutive indices ``prefix{i}.`` among the keys."""
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    found = {int(m.group(1)) for k in state_dict for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def drop_unused_inters(state_dict: Dict) -> Tuple[Dict, list]:
    """Remove ``inters`` blocks that ``HourglassNet`` builds but never runs.

    It runs ``inters[i]`` only between stacks (i < num_stacks - 1), but its ``ResLayer`` always
    builds at least one block: mmpose's hourglass52 (one stack) carries an ``inters.0`` that
    never runs.
    """
    num_stacks = _count('hourglass_modules.', state_dict)
    unused = sorted({f'inters.{i}.' for i in range(num_stacks - 1, _count('inters.', state_dict))})
    kept = {k: v for k, v in state_dict.items() if not any(k.startswith(u) for u in unused)}
    return kept, unused


def infer_mmlab_backbone_cfg(state_dict: Dict) -> Dict:
    """The ``StackedHourglass`` config that reproduces a ``HourglassNet`` state dict.

    Raises:
        ValueError: the keys are not those of a ``HourglassNet``.
    """
    num_stacks = _count('hourglass_modules.', state_dict)
    if not num_stacks or 'stem.0.conv.weight' not in state_dict:
        raise ValueError('not an mmdet/mmpose HourglassNet state dict: no '
                         "'hourglass_modules.{i}' or 'stem.0.conv.weight' keys")
    level = 'hourglass_modules.0.'
    channels, blocks = [], []
    while f'{level}up1.0.conv1.weight' in state_dict:
        channels.append(state_dict[f'{level}up1.0.conv1.weight'].shape[0])
        blocks.append(_count(f'{level}up1.', state_dict))
        level += 'low2.'
    channels.append(state_dict[f'{level}0.conv1.weight'].shape[0])  # the lowest level's units
    blocks.append(_count(level, state_dict))
    return dict(
        type='StackedHourglass',
        num_stacks=num_stacks,
        order=len(channels) - 1,
        stage_channels=tuple(channels),
        stage_blocks=tuple(blocks),
        block='BasicBlock',
        downsample='strided_conv',
        stem=dict(conv_channels=state_dict['stem.0.conv.weight'].shape[0],
                  block_channels=(channels[0], ), downsample_before=0),
        feat_channels=state_dict['out_convs.0.conv.weight'].shape[0],
        out_blocks=0,
        out_kernel_size=state_dict['out_convs.0.conv.weight'].shape[-1],
        merge='features',
        merge_blocks=1,
        conv_bias='auto')
