"""mmengine's Runner on the objects the tools checked before the run (``preflight``)."""
import contextvars
from typing import Any, Dict, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader

_MODEL = contextvars.ContextVar('prepared_model', default=None)


class PreparedRunner(Runner):
    """A ``Runner`` that takes the checked model and datasets of
    :func:`hourglass_plugin.preflight.check_before_run` instead of building them (and loading
    ``load_from``) a second time; everything else is mmengine's."""

    @classmethod
    def from_prepared(cls, cfg, prepared) -> 'PreparedRunner':
        """``Runner.from_cfg(cfg)`` with ``prepared``'s model and datasets; a checkpoint to
        resume from is checked when the Runner loads it (:class:`CheckpointFitHook`)."""
        token = _MODEL.set(prepared.model)
        try:
            runner = cls.from_cfg(cfg)
        finally:
            _MODEL.reset(token)
        runner.prepared_datasets = list(prepared.datasets)
        if cfg.get('resume') and cfg.get('load_from'):
            runner.register_hook(CheckpointFitHook(cfg.load_from), priority='VERY_HIGH')
        return runner

    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        prepared = _MODEL.get()
        return super().build_model(prepared if prepared is not None else model)

    def build_dataloader(self, dataloader: Union[DataLoader, Dict], seed=None,
                         diff_rank_seed: bool = False) -> DataLoader:
        if isinstance(dataloader, dict):
            for dataset_cfg, dataset in getattr(self, 'prepared_datasets', ()):
                if dataloader.get('dataset') == dataset_cfg:
                    dataloader = dict(dataloader, dataset=dataset)
                    break
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)


class CheckpointFitHook(Hook):
    """Refuses, in one line, the checkpoint ``filename`` when the Runner loads it and its
    weights do not fit the model (missing, unexpected or mis-shaped keys), before they go in."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        from ..preflight import check_state_dict
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_state_dict(model, checkpoint, self.filename)
