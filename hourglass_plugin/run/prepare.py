"""One way to prepare a run: the model built from the config and checked, the checkpoint checked
against it and loaded, the datasets built; then mmengine's Runner on those very objects.

Every tool goes through :func:`prepare_run` between reading the config and anything slow or
written: a mistake is reported in one line before a work dir, a log or a checkpoint is touched,
and before hours of training. :func:`build_runner` then gives the prepared model and datasets to
mmengine's ``Runner`` (its constructor takes built objects as well as configs), so nothing is
built or loaded a second time.
"""
import contextlib
import copy
import random
from typing import Any, Dict, Iterator, NamedTuple, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from torch import nn

from ..checkpoint import CheckpointFitHook, check_resumable, load_checked
from .checks import build_model, check_dataset, check_model

#: The dataloaders a phase reads, each with the evaluator that scores it.
PHASES = {'train': (('train', None), ('val', 'val_evaluator')),
          'test': (('test', 'test_evaluator'), ),
          'model': ()}


class Prepared(NamedTuple):
    """What :func:`prepare_run` built, checked and loaded."""

    model: nn.Module
    #: split ('train', 'val', 'test') -> the dataset built from its config, for those that
    #: validate themselves (others are built by the Runner)
    datasets: Dict[str, Any]
    #: the checkpoint loaded into ``model`` (``meta`` and all), or None
    checkpoint: Optional[dict]


def prepare_run(cfg: Config, phase: str = 'model', checkpoint: Optional[str] = None) -> Prepared:
    """Build and check what a run of ``cfg`` needs; raise a user error (one line naming the key,
    file or record) for a run that would fail.

    Args:
        cfg: the run's config, with the command line's overrides.
        phase: ``'train'`` (train and val data), ``'test'`` (test data) or ``'model'`` (model
            and checkpoint only: export, inference, a benchmark).
        checkpoint: the weights to load; default ``cfg.load_from`` unless ``cfg.resume``
            (a checkpoint to resume from is loaded by the Runner, with the optimizer's state,
            and checked then by :class:`~hourglass_plugin.checkpoint.CheckpointFitHook`). It must
            fit the model exactly; :func:`build_runner` then keeps the Runner from loading it
            again.

    ``cfg`` is not changed, and the global random state is as it was: the model is built
    under the config's seed (the initial weights a Runner of ``cfg`` would make), in a state
    of its own.
    """
    if phase not in PHASES:
        raise ValueError(f'phase={phase!r}; choose one of {sorted(PHASES)}')
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    with _seeded(dict(cfg.get('randomness') or {})):
        model = build_model(cfg)
    check_model(model, cfg)
    resuming = bool(cfg.get('resume') and cfg.get('load_from'))
    filename = checkpoint or (None if resuming else cfg.get('load_from'))
    loaded = None
    if filename:
        if phase == 'train':
            model.init_weights()  # the Runner's initialisation then leaves the weights alone
        loaded = load_checked(model, filename)
    elif resuming:
        check_resumable(cfg.load_from)
    datasets = {}
    for split, evaluator in PHASES[phase]:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or (split == 'val' and not (cfg.get('val_cfg') and cfg.get(evaluator))):
            continue  # the Runner runs no such loop
        dataset = check_dataset(cfg, split, evaluator)
        if dataset is not None:
            datasets[split] = dataset
    return Prepared(model, datasets, loaded)


def build_runner(cfg: Config, prepared: Prepared) -> Runner:
    """mmengine's ``Runner.from_cfg(cfg)`` with the prepared model and datasets in the place of
    their configs (and no ``load_from`` where the prepared model holds that checkpoint)."""
    cfg = copy.deepcopy(cfg)  # as from_cfg: the Runner may change what it is given
    if prepared.checkpoint is not None:
        cfg.load_from = None  # loaded into the prepared model already

    def dataloader(split: str) -> Optional[dict]:
        loader = cfg.get(f'{split}_dataloader')
        if split in prepared.datasets:
            return dict(loader, dataset=prepared.datasets[split])
        return loader

    runner = Runner(  # the arguments of mmengine's Runner.from_cfg, in its order
        model=prepared.model,
        work_dir=cfg['work_dir'],
        train_dataloader=dataloader('train'),
        val_dataloader=dataloader('val'),
        test_dataloader=dataloader('test'),
        train_cfg=cfg.get('train_cfg'),
        val_cfg=cfg.get('val_cfg'),
        test_cfg=cfg.get('test_cfg'),
        auto_scale_lr=cfg.get('auto_scale_lr'),
        optim_wrapper=cfg.get('optim_wrapper'),
        param_scheduler=cfg.get('param_scheduler'),
        val_evaluator=cfg.get('val_evaluator'),
        test_evaluator=cfg.get('test_evaluator'),
        default_hooks=cfg.get('default_hooks'),
        custom_hooks=cfg.get('custom_hooks'),
        data_preprocessor=cfg.get('data_preprocessor'),
        load_from=cfg.get('load_from'),
        resume=cfg.get('resume', False),
        launcher=cfg.get('launcher', 'none'),
        env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
        log_processor=cfg.get('log_processor'),
        log_level=cfg.get('log_level', 'INFO'),
        visualizer=cfg.get('visualizer'),
        default_scope=cfg.get('default_scope', 'mmengine'),
        randomness=cfg.get('randomness', dict(seed=None)),
        experiment_name=cfg.get('experiment_name'),
        cfg=cfg)
    if cfg.get('resume') and cfg.get('load_from'):
        runner.register_hook(CheckpointFitHook(cfg.load_from), priority='VERY_HIGH')
    return runner


@contextlib.contextmanager
def _seeded(randomness: dict) -> Iterator[None]:
    """Python's, NumPy's and torch's random state seeded by ``randomness`` (the config's, as
    mmengine's Runner seeds them) inside the block, and put back as they were after it."""
    if randomness.get('seed') is None:
        yield
        return
    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        set_random_seed(**randomness)
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])
