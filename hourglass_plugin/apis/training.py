"""Train a model from its config, resuming where a killed run stopped."""
import copy
import os
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..checkpoint import find_resumable_checkpoint
from ..engine import use_amp
from ..run import build_runner, init_distributed, prepare_run


def train_model(cfg: Config, resume: Optional[str] = None, amp: bool = False) -> Runner:
    """Train ``cfg``'s model; return the Runner that trained it.

    Args:
        cfg: the run's config (not changed).
        resume: a checkpoint to resume from; ``'auto'``: the newest complete one in the work
            dir (not mmengine's auto-resume, which trusts ``last_checkpoint`` even where a kill
            left it empty or naming a removed file), or the beginning if there is none.
        amp: mixed precision (:func:`hourglass_plugin.engine.use_amp`): bf16 autocast on a CPU
            with native bf16, mmengine's ``AmpOptimWrapper`` on a GPU.

    The model, ``load_from`` (it must fit the model) and the data are checked before anything is
    written (:func:`hourglass_plugin.run.prepare_run`).
    """
    cfg = copy.deepcopy(cfg)
    if amp:
        use_amp(cfg)
    if resume == 'auto':
        # only the main process removes the leftovers of killed writes
        checkpoint = find_resumable_checkpoint(
            cfg.work_dir, clean_up=int(os.environ.get('RANK', '0')) == 0)
        if checkpoint is None:
            print_log(f'--resume: no checkpoint in {cfg.work_dir}, training starts from the '
                      'beginning', logger='current')
        else:
            cfg.resume, cfg.load_from = True, checkpoint
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    init_distributed(cfg)
    runner = build_runner(cfg, prepare_run(cfg, 'train'))
    runner.train()
    return runner
