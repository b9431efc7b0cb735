"""Convert a published checkpoint's backbone into a ``StackedHourglass`` and verify it loads."""
from typing import Dict, Optional, Tuple

from ..checkpoint import check_fit
from ..checkpoint.rename import rename, rename_all
from ..errors import CheckpointError
from .mmlab_hourglassnet import MMLAB_RULES, drop_unused_inters, infer_mmlab_backbone_cfg
from .princeton_posenet import PRINCETON_RULES, drop_unused_skips, infer_princeton_backbone_cfg

#: source name -> (anchor key that tells where the backbone keys start, rules, config inference,
#: removal of weights the source builds but never runs)
SOURCES = {
    'mmdet': ('stem.0.conv.weight', MMLAB_RULES, infer_mmlab_backbone_cfg, drop_unused_inters),
    'mmpose': ('stem.0.conv.weight', MMLAB_RULES, infer_mmlab_backbone_cfg, drop_unused_inters),
    'princeton': ('pre.0.conv.weight', PRINCETON_RULES, infer_princeton_backbone_cfg,
                  drop_unused_skips),
}


def _split_backbone(state_dict: Dict, anchor: str) -> Tuple[str, Dict, Dict]:
    """Find the prefix before the backbone's keys (``''``, ``'backbone.'``, ``'module.model.'``
    ...) and split the state dict into (prefix, backbone keys without it, other keys)."""
    prefixes = [k[:-len(anchor)] for k in state_dict if k.endswith(anchor)]
    if len(prefixes) != 1:
        raise CheckpointError(f'expected exactly one key ending in {anchor!r}, found '
                              f'{len(prefixes)}: is this checkpoint of the source you named?')
    prefix = prefixes[0]
    backbone = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    others = {k: v for k, v in state_dict.items() if not k.startswith(prefix)}
    return prefix, backbone, others


def convert_state_dict(state_dict: Dict,
                       source: str,
                       backbone_cfg: Optional[Dict] = None) -> Tuple[Dict, Dict, Dict]:
    """Convert the backbone keys of ``state_dict`` (from ``source``) to ``StackedHourglass``.

    Args:
        state_dict: A full model's (e.g. a CornerNet detector, keys ``backbone.*`` and
            ``bbox_head.*``) or a bare backbone's state dict, possibly behind a wrapper prefix
            such as ``module.``.
        source: ``'mmdet'``, ``'mmpose'`` or ``'princeton'``.
        backbone_cfg: Our backbone config; inferred from the weights' shapes when None.

    Returns:
        (converted, backbone_cfg, report): ``converted`` has the backbone under ``backbone.`` and
        every non-backbone key unchanged; ``report`` lists what was dropped.

    Raises:
        ValueError: unknown source. CheckpointError: keys that do not fit, listed.
    """
    from ..models import StackedHourglass
    if source not in SOURCES:
        raise ValueError(f'source={source!r}; choose one of {sorted(SOURCES)}')
    anchor, rules, infer, drop_unused = SOURCES[source]
    prefix, backbone, others = _split_backbone(state_dict, anchor)
    backbone, dropped = drop_unused(backbone)
    try:
        cfg = dict(backbone_cfg) if backbone_cfg is not None else infer(backbone)
        renamed = rename_all(backbone, rules)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    model_cfg = {k: v for k, v in cfg.items() if k != 'type'}
    model = StackedHourglass(**model_cfg)
    source_keys = {rename(k, rules): k for k in backbone}
    check_fit(model, renamed, 'the converted checkpoint',
              target='the StackedHourglass built for it', hint='',
              shown=lambda key: source_keys.get(key, key))
    out_prefix = prefix if prefix.endswith('backbone.') else 'backbone.'
    converted = {f'{out_prefix}{k}': v for k, v in renamed.items()}
    converted.update(others)
    return converted, cfg, dict(prefix=prefix, dropped_unused=dropped)
