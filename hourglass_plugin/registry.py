"""Registration into mmpose's and mmdet's registries, so that configs of both resolve our types;
and, for a type name that is registered nowhere, the registered names close to it.

The backbone goes into both ``MODELS`` registries (default scopes ``mmpose`` and ``mmdet``); the
head, the loss, ``ExportedGraph`` (an engine in the place of the network),
``CheckedMpiiDataset``, ``PhotoView`` and ``TorsoPCKAccuracy`` serve pose estimation only.
None of the names exist in mmpose or mmdet.
"""
import difflib
import importlib
import re
from typing import List, Optional

from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import Registry
from mmpose.registry import DATASETS as MMPOSE_DATASETS
from mmpose.registry import METRICS as MMPOSE_METRICS
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.registry import TRANSFORMS as MMPOSE_TRANSFORMS

from .datasets import CheckedMpiiDataset, PhotoView
from .deploy import ExportedGraph
from .evaluation import TorsoPCKAccuracy
from .models import HeatmapMSELoss, StackedHourglass, StackedHourglassHead

#: The scopes whose registries are searched for close names.
SCOPES = ('mmengine', 'mmpose', 'mmdet')
#: mmengine's message for a type name that its registry lacks (build_from_cfg).
_UNKNOWN_TYPE = re.compile(r'(\S+) is not in the (\w+)::(\w+) registry')


def register_all() -> None:
    """Register our modules; a second call is a no-op (never a duplicate-name KeyError)."""
    for registry, modules in ((MMPOSE_MODELS, (StackedHourglass, StackedHourglassHead,
                                               HeatmapMSELoss, ExportedGraph)),
                              (MMDET_MODELS, (StackedHourglass, )),
                              (MMPOSE_DATASETS, (CheckedMpiiDataset, )),
                              (MMPOSE_TRANSFORMS, (PhotoView, )),
                              (MMPOSE_METRICS, (TorsoPCKAccuracy, ))):
        for module in modules:
            if registry.module_dict.get(module.__name__) is not module:
                registry.register_module(module=module)


def registered_names(registry_name: str) -> List[str]:
    """Every name registered in the registries called ``registry_name`` ('model', 'dataset',
    'transform', ...) of the mmengine, mmpose and mmdet scopes."""
    names = set()
    for scope in SCOPES:
        module = importlib.import_module(f'{scope}.registry')
        for registry in vars(module).values():
            if isinstance(registry, Registry) and registry.name == registry_name:
                registry.import_from_location()  # lazily registered modules
                names.update(registry.module_dict)
    return sorted(names)


def close_names(name: str, registry_name: str, limit: int = 3) -> List[str]:
    """Registered names of ``registry_name`` that resemble ``name`` (case ignored), best first."""
    by_lower = {}
    for registered in registered_names(registry_name):
        by_lower.setdefault(registered.lower(), registered)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=limit, cutoff=0.6)
    return [by_lower[lower] for lower in close]


def explain_unknown_type(message: str, where: Optional[List[str]] = None) -> Optional[str]:
    """mmengine's unknown-type KeyError ``message`` in one line with the close registered names,
    or None if ``message`` is not one. ``where``: the config keys that hold the name."""
    match = _UNKNOWN_TYPE.search(message)
    if match is None:
        return None
    name, scope, registry_name = match.groups()
    close = close_names(name, registry_name)
    hint = (f'did you mean {" or ".join(repr(c) for c in close)}?' if close else
            'no registered name is close; is its module imported (custom_imports)?')
    place = f'{", ".join(where)}: ' if where else ''
    return f"{place}type '{name}' is not in the {scope}::{registry_name} registry; {hint}"
