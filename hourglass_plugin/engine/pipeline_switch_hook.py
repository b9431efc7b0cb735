"""Switch the training pipeline at an iteration: strong augmentation first, weaker at the end.

RTMPose trains its last epochs on a weaker pipeline through mmdet's ``PipelineSwitchHook``, which
switches at an *epoch*; an iteration-based run (``IterBasedTrainLoop`` over an ``InfiniteSampler``)
starts one epoch only, so that hook never fires there. This one switches at ``switch_iter``:

    custom_hooks = [dict(type='IterPipelineSwitchHook', switch_iter=5200,
                         switch_pipeline=weak_train_pipeline)]
"""
from typing import Any, List, Optional

from mmcv.transforms import Compose
from mmdet.engine.hooks import PipelineSwitchHook

from ..errors import ConfigError


class IterPipelineSwitchHook(PipelineSwitchHook):
    """From iteration ``switch_iter`` on, the training dataset runs ``switch_pipeline``.

    The loops fetch an iteration's batch before its hooks run, so the switch is made after
    iteration ``switch_iter - 1`` (or before training, for a run resumed at or past it). The
    training data must be made in the training process (``num_workers=0``): a loader worker
    holds its own copy of the dataset, which a switch in the trainer never reaches.

    Args:
        switch_iter (int): the first iteration (0-based, as ``runner.iter``) on the new pipeline.
        switch_pipeline (list[dict]): the transforms from then on.
    """

    def __init__(self, switch_iter: int, switch_pipeline: List[dict]) -> None:
        if not isinstance(switch_iter, int) or switch_iter < 0:
            raise ValueError(f'switch_iter must be an iteration >= 0, got {switch_iter!r}')
        super().__init__(switch_epoch=0, switch_pipeline=switch_pipeline)
        self.switch_iter = switch_iter

    def before_train(self, runner: Any) -> None:
        workers = runner.cfg.get('train_dataloader', {}).get('num_workers', 0)
        if workers:
            raise ConfigError(
                f'IterPipelineSwitchHook needs train_dataloader.num_workers=0, got {workers}: '
                'a loader worker keeps its own copy of the pipeline')
        self._switch_from(runner, runner.iter)  # a run resumed at or past the switch

    def before_train_epoch(self, runner: Any) -> None:
        """mmdet's switch by epoch is not used."""

    def after_train_iter(self,
                         runner: Any,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        # the loops fetch an iteration's batch before its hooks run: switch before the fetch
        self._switch_from(runner, runner.iter + 1)

    def _switch_from(self, runner: Any, next_iter: int) -> None:
        """Switch when the batch of iteration ``next_iter`` is the first to be made after it."""
        if next_iter >= self.switch_iter and not self._has_switched:
            runner.logger.info(f'from iteration {next_iter} on, the training pipeline is '
                               f'{[t["type"] for t in self.switch_pipeline]}')
            runner.train_dataloader.dataset.pipeline = Compose(self.switch_pipeline)
            self._has_switched = True
