"""Check a run's config, checkpoint and datasets before the Runner writes or trains anything.

The tools call :func:`check_before_run` between reading the config and building the Runner: a
mistake is then reported in one line before a work dir, a log or a checkpoint is touched, and
before hours of training. The objects checked are the run's own: the Runner the tools build
(:class:`~hourglass_plugin.engine.PreparedRunner`) takes the checked model (with the weights
of ``load_from`` already in it) and the checked datasets instead of building and loading them a
second time. What is checked:

* the model builds (the backbone's own argument checks run; an unknown type name gets the
  close registered names), the head's ``num_stacks`` (mmdet: ``num_feat_levels``) and
  ``in_channels`` match the backbone's outputs, and every input size of the config (codec,
  ``TopdownAffine``) passes the backbone (``size_divisibility``);
* ``load_from`` (the checkpoint to test or to start from) fits the model exactly: mmengine
  loads non-strictly and only warns, so weights of another architecture would be silently
  half-loaded; here missing, unexpected and mis-shaped keys are refused, listed. A checkpoint to
  resume from is checked the same way when the Runner loads it (``CheckpointFitHook``: resuming
  needs the Runner's own load, of the optimizer's state too);
* the datasets of the run are built when they validate themselves (``CheckedMpiiDataset``:
  records, images, head boxes), and an evaluator that computes PCKh has head boxes to normalise
  by.
"""
import re
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, NamedTuple, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, METRICS, MODELS, init_default_scope
from mmengine.runner import set_random_seed
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from torch import nn

from .datasets import CheckedMpiiDataset
from .errors import CheckpointError, ConfigError
from .registry import explain_unknown_type

#: The dataloaders a phase reads, each with the evaluator that scores it.
PHASES = {'train': (('train', None), ('val', 'val_evaluator')),
          'test': (('test', 'test_evaluator'), ),
          'model': ()}


class Prepared(NamedTuple):
    """What :func:`check_before_run` built and checked, for the run's Runner to use."""

    model: nn.Module
    #: (the dataset config, the dataset built from it) of each split checked
    datasets: List[Tuple[Any, Any]]


def check_before_run(cfg: Config, phase: str) -> Prepared:
    """Raise a user error (one line naming the key, file or record) for a run that would fail;
    return the checked model and datasets (see the module docstring).

    ``load_from`` (unless resuming) is loaded into the returned model, strictly, and set to None
    in ``cfg``: the Runner must not load it again.

    Args:
        cfg: the run's config, with the command line's overrides and ``load_from`` set.
        phase: ``'train'`` (train and val data), ``'test'`` (test data) or ``'model'`` (model
            and checkpoint only, e.g. a benchmark).
    """
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    randomness = dict(cfg.get('randomness') or {})
    if randomness.get('seed') is not None:  # the model's initial weights, as the Runner seeds
        set_random_seed(**randomness)
    model = build_model(cfg)
    check_model(model, cfg)
    if cfg.get('load_from') and not cfg.get('resume'):
        checkpoint = check_checkpoint(model, cfg.load_from)
        if phase == 'train':
            model.init_weights()  # the Runner's initialisation then leaves the weights alone
        # (fits, as checked; strict=False lets a BatchNorm lack num_batches_tracked, as torch does)
        _load_checkpoint_to_model(model, checkpoint, strict=False, revise_keys=REVISE_KEYS)
        cfg.load_from = None
    elif cfg.get('load_from'):  # resuming: the Runner loads it (CheckpointFitHook checks it)
        _check_resumable(cfg.load_from)
    datasets = []
    for split, evaluator in PHASES[phase]:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or (split == 'val' and not (cfg.get('val_cfg') and cfg.get(evaluator))):
            continue  # the Runner runs no such loop
        dataset = check_dataset(cfg, split, evaluator)
        if dataset is not None:
            datasets.append((loader.get('dataset'), dataset))
    return Prepared(model, datasets)


#: The TypeErrors of a constructor called with the wrong arguments (not those of a bug inside).
_BAD_ARGUMENTS = re.compile(r"unexpected keyword argument '(\w+)'|missing \d+ required "
                            r'(?:positional|keyword-only) argument')
#: The parts of a model config that are built on their own, to tell which one is wrong.
_MODEL_PARTS = ('backbone', 'neck', 'head', 'bbox_head', 'data_preprocessor')


def build_model(cfg: Config) -> nn.Module:
    """``cfg.model`` built; an argument a part refuses (its ValueError, or a TypeError for an
    unknown or missing argument) is a ConfigError naming the part: ``model.backbone
    (StackedHourglass): stage_channels needs ...``."""
    try:
        return _build(cfg, 'model', MODELS, cfg.model)
    except (ValueError, TypeError) as error:
        if isinstance(error, ConfigError) or (isinstance(error, TypeError)
                                              and not _BAD_ARGUMENTS.search(str(error))):
            raise
        where, type_name, error = _failing_part(cfg.model, error)
        raise ConfigError(f'{where} ({type_name}): {error}{_argument_hint(type_name, error)}'
                          ) from error


def _failing_part(model_cfg: Any, error: Exception) -> Tuple[str, str, Exception]:
    """(config key, type, error) of the first part of ``model_cfg`` that fails alone."""
    for part in _MODEL_PARTS:
        part_cfg = model_cfg.get(part)
        if isinstance(part_cfg, dict) and isinstance(part_cfg.get('type'), str):
            try:
                MODELS.build(part_cfg)
            except (ValueError, TypeError) as part_error:
                return f'model.{part}', part_cfg['type'], part_error
    return 'model', model_cfg.get('type'), error


def _argument_hint(type_name: str, error: Exception) -> str:
    """'; did you mean ...' for an unexpected keyword close to one the type takes."""
    import difflib
    import inspect
    match = _BAD_ARGUMENTS.search(str(error))
    module_cls = _lookup(MODELS, type_name) if isinstance(type_name, str) else None
    if not match or not match.group(1) or module_cls is None:
        return ''
    arguments = list(inspect.signature(module_cls).parameters)
    close = difflib.get_close_matches(match.group(1), arguments)
    return f"; did you mean '{close[0]}'?" if close else ''


def _build(cfg: Config, key: str, registry, item_cfg: Any) -> Any:
    """``registry.build(item_cfg)``; an unknown type name is named with its config key."""
    try:
        return registry.build(item_cfg)
    except KeyError as error:
        message = error.args[0] if error.args else ''
        type_name = message.split(' ', 1)[0] if isinstance(message, str) else ''
        explained = explain_unknown_type(str(message), _keys_with_type(cfg, type_name) or [key])
        if explained is None:
            raise
        raise ConfigError(explained) from None


def _keys_with_type(cfg: Any, type_name: str, prefix: str = '') -> List[str]:
    """The config keys (``model.backbone.type``, ...) whose value is ``type_name``."""
    found = []
    items: Iterator[Tuple[Any, Any]] = (
        cfg.items() if isinstance(cfg, (dict, Config)) else enumerate(cfg)
        if isinstance(cfg, (list, tuple)) else iter(()))
    for key, value in items:
        path = f'{prefix}[{key}]' if isinstance(key, int) else f'{prefix}.{key}'.lstrip('.')
        if key == 'type' and value == type_name:
            found.append(path)
        elif isinstance(value, (dict, list, tuple)):
            found += _keys_with_type(value, type_name, path)
    return found


def check_model(model: nn.Module, cfg: Config) -> None:
    """The head reads every stack of the backbone, and the config's input sizes pass it."""
    backbone = getattr(model, 'backbone', None)
    if not hasattr(backbone, 'num_stacks') or not hasattr(backbone, 'check_input_size'):
        return  # not our backbone
    stacks = backbone.num_stacks
    for name in ('head', 'bbox_head'):
        head = getattr(model, name, None)
        for attr in ('num_stacks', 'num_feat_levels'):  # ours / mmdet's CornerHead
            value = getattr(head, attr, None)
            if isinstance(value, int) and value != stacks:
                raise ConfigError(
                    f'model.{name}.{attr}={value} but model.backbone.num_stacks={stacks}: the '
                    f'head must read one output per stack; set both to the same value')
        channels = backbone.output_shape()[0]['channels']
        in_channels = getattr(head, 'in_channels', None)
        if isinstance(in_channels, int) and in_channels != channels:
            raise ConfigError(
                f'model.{name}.in_channels={in_channels} but each stack of the backbone outputs '
                f'{channels} channels (num_keypoints if set, else feat_channels)')
    for key, size in _input_sizes(model, cfg):
        try:
            backbone.check_input_size(int(size[1]), int(size[0]))
        except ValueError as error:
            raise ConfigError(f'{key}={tuple(size)} (W, H): {error}') from None


def _input_sizes(model: nn.Module, cfg: Config) -> List[Tuple[str, Sequence[int]]]:
    """(config key, (W, H)) of every input size the config sets: codec, pipelines' crops."""
    sizes = []
    decoder = getattr(getattr(model, 'head', None), 'decoder', None)
    if getattr(decoder, 'input_size', None) is not None:
        sizes.append(('model.head.decoder.input_size', decoder.input_size))
    for split in ('train', 'val', 'test'):
        dataset = (cfg.get(f'{split}_dataloader') or {}).get('dataset') or {}
        for index, transform in enumerate(dataset.get('pipeline') or []):
            if isinstance(transform, dict) and transform.get('input_size') is not None:
                sizes.append((f'{split}_dataloader.dataset.pipeline[{index}].input_size '
                              f'({transform.get("type")})', transform['input_size']))
    return sizes


def _check_resumable(filename: str) -> None:
    """The checkpoint to resume from exists and is whole (its zip directory is read, nothing
    is unpickled)."""
    import os.path as osp
    from .engine import is_complete_checkpoint
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} to resume from does not exist')
    if not is_complete_checkpoint(filename):
        raise CheckpointError(f'checkpoint {filename} is truncated (its zip directory is '
                              'missing): resume from an earlier one')


#: mmengine's ``Runner.load_checkpoint`` default: a DDP wrapper's prefix goes
REVISE_KEYS = ((r'^module\.', ''), )


def check_checkpoint(model: nn.Module, filename: str,
                     revise_keys: Sequence[Tuple[str, str]] = REVISE_KEYS) -> dict:
    """Load ``filename`` as mmengine's ``Runner.load_checkpoint`` does and return it; refuse it
    if its weights do not fit ``model`` exactly (see :func:`check_state_dict`). Truncated and
    unsafe files are refused by :mod:`hourglass_plugin.safe_loading`."""
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    check_state_dict(model, checkpoint, filename, revise_keys)
    return checkpoint


def check_state_dict(model: nn.Module, checkpoint: Any, filename: str,
                     revise_keys: Sequence[Tuple[str, str]] = REVISE_KEYS) -> None:
    """Refuse a checkpoint whose weights do not fit ``model`` exactly (what strict loading would
    refuse), listing missing, unexpected and mis-shaped keys (``state_dict`` inside or the whole
    checkpoint, ``revise_keys`` applied)."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise CheckpointError(f'checkpoint {filename} holds no state_dict (a '
                              f'{type(checkpoint).__name__})')
    ours = {_revise(key, revise_keys): value for key, value in state_dict.items()}
    expected = model.state_dict()
    # torch's strict loading accepts a BN without num_batches_tracked (older checkpoints)
    missing = [k for k in expected if k not in ours and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in ours if k not in expected]
    misshaped = [f'{k}: checkpoint {tuple(ours[k].shape)}, model {tuple(v.shape)}'
                 for k, v in expected.items()
                 if k in ours and hasattr(ours[k], 'shape') and ours[k].shape != v.shape]
    if not (missing or unexpected or misshaped):
        return
    parts = [f'{len(keys)} {what} ({_summary(keys)})' for what, keys in (
        ('missing keys', missing), ('unexpected keys', unexpected)) if keys]
    if misshaped:
        parts.append(f'{len(misshaped)} mis-shaped ({"; ".join(misshaped[:3])}'
                     f'{"; ..." if len(misshaped) > 3 else ""})')
    raise CheckpointError(
        f'checkpoint {filename} does not fit the model of this config: {", ".join(parts)}.\n'
        'It must hold the whole model\'s weights; for a backbone alone use model.backbone.'
        "init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...)")


def _revise(key: str, revise_keys: Sequence[Tuple[str, str]]) -> str:
    for pattern, replacement in revise_keys:
        key = re.sub(pattern, replacement, key)
    return key


def _summary(keys: Sequence[str], limit: int = 4) -> str:
    """Keys grouped by their first three parts (``backbone.hourglasses.2.* x48``), a few."""
    groups: Dict[str, List[str]] = OrderedDict()
    for key in keys:
        parts = key.split('.')
        groups.setdefault('.'.join(parts[:3]) + '.*' if len(parts) > 4 else key, []).append(key)
    shown = [f'{group} x{len(members)}' if len(members) > 1 else members[0]
             for group, members in list(groups.items())[:limit]]
    return ', '.join(shown) + (', ...' if len(groups) > limit else '')


def check_dataset(cfg: Config, split: str, evaluator: str = None) -> Any:
    """Build ``{split}_dataloader.dataset`` if it validates itself (``CheckedMpiiDataset``) and
    return it (else None), and make sure an evaluator that computes PCKh (``norm_item='head'``)
    has head boxes."""
    dataset_cfg = cfg[f'{split}_dataloader'].get('dataset') or {}
    type_name = dataset_cfg.get('type')
    if not isinstance(type_name, str):
        return None  # a class object or a wrapper config: nothing to look up
    dataset_cls = _lookup(DATASETS, type_name)
    if dataset_cls is None:
        _build(cfg, f'{split}_dataloader.dataset.type', DATASETS, dataset_cfg)  # raises
    from mmpose.datasets import MpiiDataset
    if (evaluator and issubclass(dataset_cls, MpiiDataset)
            and not dataset_cfg.get('headbox_file') and _computes_pckh(cfg.get(evaluator))):
        raise ConfigError(
            f'{evaluator} computes PCKh, which normalises by head boxes, but '
            f'{split}_dataloader.dataset.headbox_file is not set: point it to MPII\'s '
            'mpii_gt_val.mat')
    if issubclass(dataset_cls, CheckedMpiiDataset):
        return _build(cfg, f'{split}_dataloader.dataset', DATASETS, dataset_cfg)
    return None


def _lookup(registry, type_name: str) -> Any:
    """The class ``type_name`` names in ``registry`` under the default scope (as builds do)."""
    with registry.switch_scope_and_registry(None) as scoped:
        return scoped.get(type_name)


def _computes_pckh(evaluator_cfg: Any) -> bool:
    """Whether a metric of ``evaluator_cfg`` normalises by the head size (norm_item 'head')."""
    import inspect
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:
        evaluator_cfg = evaluator_cfg['metrics']
    for metric in evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]:
        if not isinstance(metric, dict) or not isinstance(metric.get('type'), str):
            continue
        metric_cls = _lookup(METRICS, metric['type'])
        if metric_cls is None:
            continue  # the Runner reports the unknown name
        default = inspect.signature(metric_cls).parameters.get('norm_item')
        norm_item = metric.get('norm_item', default.default if default else None)
        if 'head' in (norm_item if isinstance(norm_item, (list, tuple)) else [norm_item]):
            return True
    return False
