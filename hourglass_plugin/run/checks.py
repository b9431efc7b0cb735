"""The checks of a run's config that the Runner does not make, in one line naming the key.

* the model builds (the backbone's own argument checks run; an unknown type name gets the close
  registered names), the head's ``num_stacks`` (mmdet: ``num_feat_levels``) and ``in_channels``
  match the backbone's outputs, and every input size of the config (codec, ``TopdownAffine``)
  passes the backbone (``size_divisibility``);
* every dataset's annotation file exists (else one line with the command that makes it); the
  datasets that validate themselves (``CheckedMpiiDataset``: records, images, head boxes)
  are built, and an evaluator that computes PCKh has head boxes to normalise by.
"""
import difflib
import inspect
import re
from typing import Any, Iterator, List, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, METRICS, MODELS
from torch import nn

from ..datasets import check_annotation_file
from ..errors import ConfigError, UsageError
from ..registry import explain_unknown_type

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
    from ..models import StackedHourglass
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, StackedHourglass):
        return  # another backbone (an exported graph checks its own input size)
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


def check_dataset(cfg: Config, split: str, evaluator: str = None) -> Any:
    """Build ``{split}_dataloader.dataset`` if its class declares that it validates its files
    when built (``validates_on_build = True``, as ``CheckedMpiiDataset`` does) and return it
    (else None), and make sure an evaluator that computes PCKh (``norm_item='head'``) has head
    boxes where the dataset takes them (a ``headbox_file`` argument, as mmpose's MPII)."""
    dataset_cfg = cfg[f'{split}_dataloader'].get('dataset') or {}
    type_name = dataset_cfg.get('type')
    if not isinstance(type_name, str):
        return None  # a class object or a wrapper config: nothing to look up
    dataset_cls = _lookup(DATASETS, type_name)
    if dataset_cls is None:
        _build(cfg, f'{split}_dataloader.dataset.type', DATASETS, dataset_cfg)  # raises
    check_annotation_file(dataset_cfg, f'{split}_dataloader.dataset')
    takes_head_boxes = 'headbox_file' in inspect.signature(dataset_cls).parameters
    if (evaluator and takes_head_boxes and not dataset_cfg.get('headbox_file')
            and _computes_pckh(cfg.get(evaluator))):
        raise ConfigError(
            f'{evaluator} computes PCKh, which normalises by head boxes, but '
            f'{split}_dataloader.dataset.headbox_file is not set: point it to MPII\'s '
            'mpii_gt_val.mat')
    if getattr(dataset_cls, 'validates_on_build', False):
        return _build(cfg, f'{split}_dataloader.dataset', DATASETS, dataset_cfg)
    return None


def _lookup(registry, type_name: str) -> Any:
    """The class ``type_name`` names in ``registry`` under the default scope (as builds do)."""
    with registry.switch_scope_and_registry(None) as scoped:
        return scoped.get(type_name)


def _computes_pckh(evaluator_cfg: Any) -> bool:
    """Whether a metric of ``evaluator_cfg`` normalises by the head size (norm_item 'head')."""
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


def check_input_size(model: nn.Module, input_size: Sequence[int], where: str = '--shape') -> None:
    """``input_size`` (H, W) passes the model's backbone (``size_divisibility``); a UsageError
    naming ``where`` if not."""
    from ..models import StackedHourglass
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, StackedHourglass):
        return  # another backbone
    try:
        backbone.check_input_size(int(input_size[0]), int(input_size[1]))
    except ValueError as error:
        raise UsageError(f'{where} {input_size[0]} {input_size[1]} (H W): {error}') from None
