"""Test helper, imported into training subprocesses through ``custom_imports``: a hook that
writes every process's own losses to ``<work_dir>/losses_rank<R>.json``.

mmengine logs the losses of rank 0 only, which in a 2-process run are those of half the global
batch; comparing with a 1-process run needs both halves.
"""
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordLossesHook(Hook):

    def __init__(self) -> None:
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append({name: float(value) for name, value in outputs.items()
                            if name.startswith('loss')})
        with open(osp.join(runner.work_dir, f'losses_rank{get_rank()}.json'), 'w') as f:
            json.dump(self.losses, f)
