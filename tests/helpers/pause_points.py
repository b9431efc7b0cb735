"""Imported into a training process through ``custom_imports``: the process stops itself at a
chosen point, says so on stdout (``PAUSED <where>``) and waits there until it is killed, so that
a test kills it at exactly that point (:func:`helpers.processes.kill_when_paused`), whatever the
machine's load.

Set in the environment:

* ``PAUSE_BEFORE_REPLACE=epoch_3.pth``: when the file is written but not yet renamed into place
  (its temporary ``.epoch_3.pth.<pid>.tmp`` is whole on the disk, ``epoch_3.pth`` absent);
* ``PAUSE_AFTER_REPLACE=epoch_5.pth``: right after that rename, before anything else is written
  (``last_checkpoint`` still names the previous checkpoint);
* ``PAUSE_AT_ITER=17``: after training iteration 17 (1-based), through :class:`PauseAtIterHook`,
  which the config lists in ``custom_hooks``.
"""
import os
import os.path as osp
import threading

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

_replace = os.replace


def pause(where: str) -> None:
    """Say ``PAUSED <where>`` on stdout and wait for the kill."""
    print(f'PAUSED {where}', flush=True)
    threading.Event().wait()


def _replace_with_pauses(src, dst, *args, **kwargs):
    name = osp.basename(os.fspath(dst))
    if name == os.environ.get('PAUSE_BEFORE_REPLACE'):
        pause(f'before {name} is renamed into place')
    _replace(src, dst, *args, **kwargs)
    if name == os.environ.get('PAUSE_AFTER_REPLACE'):
        pause(f'after {name} was renamed into place')


os.replace = _replace_with_pauses


@HOOKS.register_module(force=True)
class PauseAtIterHook(Hook):
    """Pause after the training iteration ``$PAUSE_AT_ITER`` (1-based), if set."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        at = os.environ.get('PAUSE_AT_ITER')
        if at is not None and runner.iter + 1 == int(at):
            pause(f'after iteration {at}')
