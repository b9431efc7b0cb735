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
import inspect
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
    """``Runner.from_cfg(cfg)`` with the prepared model and datasets in place of their configs:
    every argument of mmengine's ``Runner`` is read from the config key of its name, as
    ``from_cfg`` reads them."""
    cfg = copy.deepcopy(cfg)  # as from_cfg: the Runner may change what it is given
    if prepared.checkpoint is not None:
        cfg.load_from = None  # loaded into the prepared model already
    arguments = {name: cfg[name] for name in inspect.signature(Runner).parameters
                 if name != 'cfg' and name in cfg}
    arguments['model'] = prepared.model
    for split, dataset in prepared.datasets.items():
        arguments[f'{split}_dataloader'] = dict(cfg[f'{split}_dataloader'], dataset=dataset)
    runner = Runner(**arguments, cfg=cfg)
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
