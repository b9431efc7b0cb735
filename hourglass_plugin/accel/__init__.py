"""Opt-in CPU training speed-ups for :class:`~hourglass_plugin.models.StackedHourglass`.

The model files are the plain network. :func:`accelerate` turns the units of a built model into
their fast forms (:mod:`.units`): the same instances with the same parameters and buffers, so
state dicts, outputs, gradients and BatchNorm statistics are those of the plain model
(``tests/test_accel.py``; gradients to rounding). What differs is memory traffic in CPU
training: BN-ReLU(-conv) units whose backward writes in place (:mod:`.conv_norm_act`), a shared
workspace instead of one kept map per pre-activation unit (:mod:`.workspace`), and the
hourglass's upsample-add as a broadcast (:mod:`.upsample_add`). Each fast path steps aside where
it does not apply (GPU, inference, autocast, other norms or activations, hooks).

Switched on by configuration: ``custom_hooks = [..., dict(type='AccelerateHook')]``
(``hourglass_plugin.engine``), as the demo config does; or ``accelerate(model)`` in code, as
``tools/benchmark.py`` does. ``docs/benchmarks.md`` has what it gives.
"""
from torch import nn

from .units import FAST_UNITS, UsesWorkspace
from .workspace import release_workspace


def accelerate(model: nn.Module) -> int:
    """Turn every unit of every ``StackedHourglass`` in ``model`` into its fast form, in place;
    return how many units changed. Calling it again changes nothing."""
    from ..models.backbones import StackedHourglass
    changed = 0
    for backbone in (m for m in model.modules() if isinstance(m, StackedHourglass)):
        for module in backbone.modules():
            fast = FAST_UNITS.get(type(module))
            if fast is not None:
                module.__class__ = fast
                changed += 1
            if isinstance(module, UsesWorkspace):
                # checkpointed models keep only their regions' inputs: no shared maps either
                module.workspace = backbone.cp_mode is None
    return changed


__all__ = ['accelerate', 'release_workspace']
