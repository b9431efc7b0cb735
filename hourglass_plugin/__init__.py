"""Stacked Hourglass Networks (Newell et al., ECCV 2016) as an OpenMMLab plugin.

Importing this package (``custom_imports = dict(imports=['hourglass_plugin'])``) registers
``StackedHourglass`` for mmpose and mmdet configs, the pose head and loss for mmpose, and lets
mmengine load its own checkpoints under torch >= 2.6 without allowing code in a pickle.
It also makes every checkpoint mmengine writes to a local path atomic (a temporary renamed into
place: a run killed while saving never leaves a half-written checkpoint under the final name),
and registers ``CrashSafeCheckpointHook`` (``tools/train.py`` uses it in place of mmengine's
``CheckpointHook``) and ``StopOnNonFiniteLossHook`` (in the plugin's configs).
"""
from . import engine, safe_loading
from .registry import register_all
from .version import __version__

safe_loading.install()
engine.install()
register_all()

__all__ = ['__version__']
