"""One way to prepare a run: the model built from the config and checked, the checkpoint checked
against it and loaded, the datasets built; then mmengine's Runner on those very objects.

Every tool goes through :func:`prepare_run` between reading the config and anything slow or
written: a mistake is reported in one line before a work dir, a log or a checkpoint is touched,
and before hours of training. :func:`build_runner` then gives the prepared model and datasets to
mmengine's ``Runner`` (its constructor takes built objects as well as configs), so nothing is
built or loaded a second time.
"""
import copy
import inspect
import os.path as osp
from typing import Any, Dict, NamedTuple, Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from torch import nn

from ..checkpoint_fit import load_checked
from ..engine import CheckpointFitHook, is_complete_checkpoint
from ..errors import CheckpointError
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
            and checked then by :class:`~hourglass_plugin.engine.CheckpointFitHook`). It must
            fit the model exactly. ``cfg.load_from`` is then set to None: the Runner must not
            load it again.
    """
    if phase not in PHASES:
        raise ValueError(f'phase={phase!r}; choose one of {sorted(PHASES)}')
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    randomness = dict(cfg.get('randomness') or {})
    if randomness.get('seed') is not None:  # the initial weights a Runner of cfg would make
        set_random_seed(**randomness)
    model = build_model(cfg)
    check_model(model, cfg)
    resuming = bool(cfg.get('resume') and cfg.get('load_from'))
    filename = checkpoint or (None if resuming else cfg.get('load_from'))
    loaded = None
    if filename:
        if phase == 'train':
            model.init_weights()  # the Runner's initialisation then leaves the weights alone
        loaded = load_checked(model, filename)
        cfg.load_from = None
    elif resuming:
        _check_resumable(cfg.load_from)
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
    arguments = {name: cfg[name] for name in inspect.signature(Runner).parameters
                 if name != 'cfg' and name in cfg}
    arguments['model'] = prepared.model
    for split, dataset in prepared.datasets.items():
        arguments[f'{split}_dataloader'] = dict(cfg[f'{split}_dataloader'], dataset=dataset)
    runner = Runner(**arguments, cfg=cfg)
    if cfg.get('resume') and cfg.get('load_from'):
        runner.register_hook(CheckpointFitHook(cfg.load_from), priority='VERY_HIGH')
    return runner


def _check_resumable(filename: str) -> None:
    """The checkpoint to resume from exists and is whole (its zip directory is read, nothing
    is unpickled)."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} to resume from does not exist')
    if not is_complete_checkpoint(filename):
        raise CheckpointError(f'checkpoint {filename} is truncated (its zip directory is '
                              'missing): resume from an earlier one')
