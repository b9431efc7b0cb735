"""Environment report: ``python -m hourglass_plugin.env``.

Prints the versions of the stack this plugin was pinned against and what hardware torch sees,
so that a bug report says what it ran on.
"""
import importlib
import os
import platform
import sys
from collections import OrderedDict
from typing import Dict


def _version(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except Exception as error:  # report, never crash: this runs when something is broken
        return f'not importable ({type(error).__name__}: {error})'


def _mmcv_ops() -> str:
    """Whether mmcv's compiled extension (``mmcv._ext``, behind ``mmcv.ops``) loads."""
    try:
        from mmcv.utils import ext_loader
        ext_loader.load_ext('_ext', ['nms'])
        return 'compiled (mmcv._ext loads)'
    except Exception as error:
        return f'NOT compiled ({type(error).__name__}: {error})'


def collect_env() -> Dict[str, str]:
    """The report as an ordered mapping of name -> value."""
    import torch
    env = OrderedDict()
    env['Python'] = sys.version.replace('\n', ' ')
    env['Platform'] = platform.platform()
    env['CPU'] = f'{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores'
    env['torch'] = torch.__version__
    env['torch CUDA build'] = str(torch.version.cuda)
    env['CUDA available'] = str(torch.cuda.is_available())
    if torch.cuda.is_available():
        env['GPU'] = ', '.join(
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    env['torch threads'] = str(torch.get_num_threads())
    for name in ('torchvision', 'numpy', 'cv2', 'mmengine', 'mmcv'):
        env[name] = _version(name)
    env['mmcv ops'] = _mmcv_ops()
    for name in ('mmdet', 'mmpose', 'hourglass_plugin'):
        env[name] = _version(name)
    return env


def main() -> None:
    for key, value in collect_env().items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
