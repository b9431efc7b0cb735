"""Stacked Hourglass Networks (Newell et al., ECCV 2016) as an OpenMMLab plugin.

Importing this package (``custom_imports = dict(imports=['hourglass_plugin'])``) registers
``StackedHourglass`` for mmpose and mmdet configs, the pose head, loss and dataset for mmpose, and
the hooks and the atomic file backend that configs name (``hourglass_plugin.engine``); and it
lets mmengine load OpenMMLab checkpoints under torch >= 2.6 without allowing code in a pickle
(``hourglass_plugin.safe_loading``). Nothing else: speed-ups (``hourglass_plugin.accel``), the
allocator setting (``hourglass_plugin.allocator``) and export (``hourglass_plugin.deploy``) are
switched on by configs and tools.
"""
from . import engine, safe_loading
from .registry import register_all
from .version import __version__

safe_loading.install()
engine.register()
register_all()

__all__ = ['__version__']
