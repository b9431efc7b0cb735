"""Stacked Hourglass Networks (Newell et al., ECCV 2016) as an OpenMMLab plugin.

Importing this package (``custom_imports = dict(imports=['hourglass_plugin'])``) registers
``StackedHourglass`` for mmpose and mmdet configs, the pose head and loss for mmpose, and lets
mmengine load its own checkpoints under torch >= 2.6 without allowing code in a pickle.
"""
from . import safe_loading
from .registry import register_all
from .version import __version__

safe_loading.install()
register_all()

__all__ = ['__version__']
