"""Whether a checkpoint's weights fit a model exactly, and loading them only when they do.

mmengine loads checkpoints non-strictly and only warns, so the weights of another architecture
would be silently half-loaded. :func:`check_fit` refuses them instead, listing the missing,
unexpected and mis-shaped keys; the tools (through :mod:`hourglass_plugin.run`), the converters
and the resume hook all use it.
"""
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.runner import CheckpointLoader, load_state_dict
from torch import nn

from ..errors import CheckpointError
from .rename import Rule, rename

#: mmengine's ``Runner.load_checkpoint`` default: a DDP wrapper's prefix goes
REVISE_KEYS: Sequence[Rule] = ((r'^module\.', ''), )
#: what a model built from the config is called in messages
CONFIG_MODEL = 'the model of this config'
#: how to load a backbone alone, the usual reason for unexpected or missing keys
BACKBONE_HINT = ("It must hold the whole model's weights; for a backbone alone use model."
                 "backbone.init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...)")


def state_dict_of(checkpoint: Any, filename: str,
                  revise_keys: Sequence[Rule] = REVISE_KEYS) -> Dict[str, Any]:
    """The weights of a loaded checkpoint (its ``state_dict``, or the whole file when it is a
    bare state dict), with ``revise_keys`` applied to the names."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise CheckpointError(f'checkpoint {filename} holds no state_dict (a '
                              f'{type(checkpoint).__name__})')
    return {rename(key, revise_keys): value for key, value in state_dict.items()}


def check_fit(model: nn.Module, state_dict: Mapping[str, Any], what: str,
              target: str = CONFIG_MODEL, hint: str = BACKBONE_HINT,
              shown: Optional[Callable[[str], str]] = None) -> None:
    """Raise a CheckpointError when ``state_dict`` is not exactly ``model``'s: what strict
    loading refuses (a BatchNorm without ``num_batches_tracked`` passes, as torch lets it).

    Args:
        what: the weights' name in the message (``'checkpoint work_dirs/x.pth'``).
        target: the model's name in the message.
        hint: a second line of the message.
        shown: how a key of ``state_dict`` is shown (e.g. its name in the source checkpoint).
    """
    expected = model.state_dict()
    missing = [k for k in expected
               if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in expected]
    misshaped = [f'{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(v.shape)}'
                 for k, v in expected.items() if k in state_dict
                 and hasattr(state_dict[k], 'shape') and state_dict[k].shape != v.shape]
    if not (missing or unexpected or misshaped):
        return
    shown = shown or (lambda key: key)
    parts = [f'{len(keys)} {kind} ({_summary([shown(k) for k in keys])})' for kind, keys in (
        ('missing keys', missing), ('unexpected keys', unexpected)) if keys]
    if misshaped:
        parts.append(f'{len(misshaped)} mis-shaped ({"; ".join(misshaped[:3])}'
                     f'{"; ..." if len(misshaped) > 3 else ""})')
    raise CheckpointError(f'{what} does not fit {target}: {", ".join(parts)}.'
                          + (f'\n{hint}' if hint else ''))


def load_checked(model: nn.Module, filename: str,
                 revise_keys: Sequence[Rule] = REVISE_KEYS) -> dict:
    """Load ``filename`` into ``model`` if its weights fit exactly (:func:`check_fit`), as
    mmengine's ``Runner.load_checkpoint`` reads it (truncated and unsafe files are refused by
    :mod:`.safe_loading`); return the loaded checkpoint (``meta`` and all)."""
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu', logger='silent')
    state_dict = state_dict_of(checkpoint, filename, revise_keys)
    check_fit(model, state_dict, f'checkpoint {filename}')
    # strict=False: a BatchNorm may lack num_batches_tracked (older checkpoints); all else fits
    load_state_dict(model, state_dict, strict=False)
    return checkpoint if isinstance(checkpoint, dict) else {'state_dict': checkpoint}


def _summary(keys: List[str], limit: int = 4) -> str:
    """Keys grouped by their first three parts (``backbone.hourglasses.2.* x48``), a few."""
    groups: Dict[str, List[str]] = OrderedDict()
    for key in keys:
        parts = key.split('.')
        groups.setdefault('.'.join(parts[:3]) + '.*' if len(parts) > 4 else key, []).append(key)
    shown: List[Tuple[str, List[str]]] = list(groups.items())[:limit]
    return ', '.join(f'{group} x{len(members)}' if len(members) > 1 else members[0]
                     for group, members in shown) + (', ...' if len(groups) > limit else '')
