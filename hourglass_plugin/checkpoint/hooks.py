"""The hooks configs name for checkpoints: crash-safe saving and a fit check on resuming.

``CrashSafeCheckpointHook`` is mmengine's CheckpointHook, reordered so that a kill at any
moment leaves a checkpoint to resume.

mmengine 0.10.7's ``CheckpointHook._save_checkpoint_with_step`` (1) removes the oldest kept
checkpoint, (2) writes the new one, (3) writes ``last_checkpoint`` with a plain ``open``. With
``max_keep_ckpts=1`` a kill between (1) and the end of (2) leaves no checkpoint at all, and a kill
during (3) leaves ``last_checkpoint`` empty. Here the new checkpoint is written first (atomically,
through :mod:`.atomic`'s ``'atomic_local'`` backend), then ``last_checkpoint`` (atomically),
and only then is the oldest removed.

The plugin's configs name it (``default_hooks.checkpoint.type``), so mmpose's and mmdet's own
``tools/train.py`` get the same crash safety as ``tools/train.py`` here. It overrides
``_save_checkpoint_with_step``, a private method, as mmengine 0.10.7 writes it: ``setup.cfg``
accepts that mmengine only, and the crash tests run against it.
"""
import os.path as osp
from collections import deque
from typing import Any, Dict

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from .atomic import BACKEND_NAME, atomic_write
from .fit import REVISE_KEYS, check_fit, state_dict_of


class CrashSafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments, same files) that writes checkpoints atomically and
    removes old ones last. ``backend_args`` defaults to the atomic local backend; a config that
    sets it (e.g. for remote storage) gets that backend.
    """

    def __init__(self, *args, backend_args=None, **kwargs) -> None:
        if backend_args is None and kwargs.get('file_client_args') is None:
            backend_args = dict(backend=BACKEND_NAME)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        dropped = []
        # (keep_ckpt_ids exists only when max_keep_ckpts > 0; its last id is this step when
        # both the epoch's end and the end of training save it)
        if self.max_keep_ckpts > 0 and list(self.keep_ckpt_ids)[-1:] != [step]:
            ids = list(self.keep_ckpt_ids) + [step]
            dropped = ids[:-self.max_keep_ckpts]
            # the new checkpoint lists the ids to be dropped too: if a kill stops their removal
            # below, CheckpointHook.before_train of the resumed run removes them
            runner.message_hub.update_info('keep_ckpt_ids', ids)
            self.keep_ckpt_ids = deque(ids[-self.max_keep_ckpts:], self.max_keep_ckpts)

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if self.max_keep_ckpts > 0:
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in dropped:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed writes directories
                self.file_backend.rmtree(path)


class CheckpointFitHook(Hook):
    """Refuses, in one line, the checkpoint ``filename`` when the Runner loads it (to resume)
    and its weights do not fit the model (missing, unexpected or mis-shaped keys), before they
    go in (:func:`.fit.check_fit`)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_fit(model, state_dict_of(checkpoint, self.filename, REVISE_KEYS),
                  f'checkpoint {self.filename}')
