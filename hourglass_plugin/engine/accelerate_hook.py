"""Switches on :mod:`hourglass_plugin.accel` for a run's model, from the config."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


class AccelerateHook(Hook):
    """``custom_hooks = [dict(type='AccelerateHook')]``: before the run, the model's
    ``StackedHourglass`` units take their CPU training fast paths (``accel.accelerate``); state
    dicts and results are those of the plain model. On a GPU the fast paths step aside."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        from ..accel import accelerate
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        changed = accelerate(model)
        runner.logger.info(f'AccelerateHook: {changed} units of the backbone on their CPU '
                           'training fast paths (hourglass_plugin.accel)')
