"""What the command-line tools share: their arguments, spelled and explained once, and user
errors printed as one clear line (the traceback behind ``--debug``).

A user error is the plugin's own (:class:`~hourglass_plugin.errors.HourglassPluginError`: a
file, record, key or argument named with its value), a missing file, or a config mmengine cannot
parse. Anything else is a bug and keeps its traceback.
"""
import argparse
import os
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction
from mmengine.config.utils import ConfigParsingError

from .errors import HourglassPluginError

#: Errors that come from what the user gave (a file, a config, a checkpoint), not from a bug.
USER_ERRORS = (HourglassPluginError, FileNotFoundError, ConfigParsingError)
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='mmpose or mmdet config file')


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or the exported .onnx file '
                        'for --backend onnxruntime/openvino')


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings, e.g. test_dataloader.batch_size=8')


def add_work_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: the '
                        "config's work_dir, else ./work_dirs/<config name>)")


def add_launcher(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch without CUDA needs the config\'s '
                        'env_cfg.dist_cfg.backend=gloo)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--device', help='torch device (default: cuda:0 if available, else cpu)')


def device_of(args: argparse.Namespace) -> str:
    """``--device``, or what its help says it defaults to."""
    import torch
    return args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')


def add_shape(parser: argparse.ArgumentParser, what: str = 'input size') -> None:
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help=f'{what}, height then width (default: the codec input size of a '
                        'pose config)')


def add_allocator(parser: argparse.ArgumentParser) -> None:
    """``--allocator {default,tuned}`` (default tuned): see :mod:`hourglass_plugin.allocator`."""
    from .allocator import SETTINGS, SWITCH
    parser.add_argument(
        '--allocator', choices=SETTINGS, default='tuned',
        help="glibc's allocator: tuned keeps freed memory for reuse instead of returning it to "
        f'the kernel (faster on CPU); default leaves it as it comes. {SWITCH}=default in the '
        'environment switches it off everywhere')


def tool_parser(description: str, *shared: Callable[[argparse.ArgumentParser], None]
                ) -> argparse.ArgumentParser:
    """A tool's parser: ``description``, the ``shared`` arguments (``add_config``, ...) in
    that order, and ``--debug``."""
    parser = argparse.ArgumentParser(description=description)
    for add in shared:
        add(parser)
    parser.add_argument('--debug', action='store_true',
                        help='on a refused input, show the traceback instead of one line')
    return parser


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                launcher: Optional[str] = None, local_rank: int = 0) -> Config:
    """The config at ``path`` with ``cfg_options`` (``--cfg-options``) merged in, its work dir
    set as mmpose sets it (``work_dir`` > the config's > ./work_dirs/<config name>), and, for a
    tool that takes ``--launcher``, ``cfg.launcher`` (and ``LOCAL_RANK`` where the launcher
    left it unset), as mmpose's tools set them."""
    from .run import set_work_dir
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    set_work_dir(cfg, work_dir, path)
    if launcher is not None:
        os.environ.setdefault('LOCAL_RANK', str(local_rank))
        cfg.launcher = launcher
    return cfg


def run_main(main: Callable[[argparse.Namespace], None],
             parse_args: Callable[[], argparse.Namespace]) -> None:
    """``main(parse_args())``; on a user error print ``error: <message>`` and exit 1, unless
    ``--debug`` (or HOURGLASS_DEBUG=1) asks for the traceback."""
    args = parse_args()
    try:
        main(args)
    except USER_ERRORS as error:
        if getattr(args, 'debug', False) or os.environ.get('HOURGLASS_DEBUG') == '1':
            raise
        print(f'error: {user_message(error)}\n(run again with --debug for the traceback)',
              file=sys.stderr)
        sys.exit(1)


def user_message(error: BaseException) -> str:
    """The message of a user error, without what was wrapped around it on the way: an error
    raised in a DataLoader worker, which torch re-raises with the worker's traceback inside the
    message, is reduced to its last line."""
    message = str(error)
    if 'Original Traceback' in message:
        last = message.strip().splitlines()[-1]  # 'package.module.ErrorClass: message'
        message = last.split(': ', 1)[1] if ': ' in last else last
    return message


def read_image(path: str):
    """The image at ``path`` as a BGR uint8 array (H, W, 3), as mmpose's LoadImage reads it; one
    error naming the file when it is missing or not an image OpenCV decodes."""
    import mmcv

    from .errors import DatasetError
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image {path} does not exist')
    image = mmcv.imread(path)  # None when OpenCV cannot decode the file
    if image is None:
        raise DatasetError(f'image {path} cannot be read: not an image format OpenCV decodes')
    return image
