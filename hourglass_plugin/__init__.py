"""Stacked Hourglass Networks (Newell et al., ECCV 2016) as an OpenMMLab plugin.

Importing this package (``custom_imports = dict(imports=['hourglass_plugin'])``) registers
``StackedHourglass`` for mmpose and mmdet configs, the pose head, loss and dataset for mmpose, and
the hooks, optimizer wrapper and atomic file backend that configs name
(``hourglass_plugin.engine``, ``hourglass_plugin.checkpoint``); and it lets mmengine load
OpenMMLab checkpoints under torch >= 2.6 without allowing code in a pickle
(``hourglass_plugin.checkpoint``). Nothing else happens on import. The tools are each a parser and
one call of the public API (``hourglass_plugin.apis``), built on one way to prepare a run
(``run``), checkpoint conversion (``conversion``), export and engines (``deploy``), the allocator
setting (``allocator``) and the command-line conventions (``cli``).
"""
from . import checkpoint, engine
from .registry import register_all
from .version import __version__

checkpoint.register()
engine.register()
register_all()

__all__ = ['__version__']
