"""Refuses a checkpoint to resume from whose weights do not fit the run's model."""
from typing import Any, Dict

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..checkpoint_fit import REVISE_KEYS, check_fit, state_dict_of


class CheckpointFitHook(Hook):
    """Refuses, in one line, the checkpoint ``filename`` when the Runner loads it (to resume)
    and its weights do not fit the model (missing, unexpected or mis-shaped keys), before they
    go in (:func:`hourglass_plugin.checkpoint_fit.check_fit`)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_fit(model, state_dict_of(checkpoint, self.filename, REVISE_KEYS),
                  f'checkpoint {self.filename}')
