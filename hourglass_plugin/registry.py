"""Registration into mmpose's and mmdet's registries, so that configs of both resolve our types.

The backbone goes into both ``MODELS`` registries (default scopes ``mmpose`` and ``mmdet``); the
head and the loss serve pose estimation only. None of the names exist in mmpose or mmdet.
"""
from mmdet.registry import MODELS as MMDET_MODELS
from mmpose.registry import MODELS as MMPOSE_MODELS

from .models import HeatmapMSELoss, StackedHourglass, StackedHourglassHead


def register_all() -> None:
    """Register our modules; a second call is a no-op (never a duplicate-name KeyError)."""
    for registry, modules in ((MMPOSE_MODELS, (StackedHourglass, StackedHourglassHead,
                                               HeatmapMSELoss)),
                              (MMDET_MODELS, (StackedHourglass, ))):
        for module in modules:
            if registry.module_dict.get(module.__name__) is not module:
                registry.register_module(module=module)
