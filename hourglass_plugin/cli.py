"""What the command-line tools share: user errors as one clear line, the traceback behind
--debug."""
import sys
from typing import Callable

from mmengine.config import ConfigDict

from .errors import HourglassPluginError

#: Errors that come from what the user gave (a file, a config, a checkpoint), not from a bug.
USER_ERRORS = (HourglassPluginError, FileNotFoundError, ValueError, KeyError)


def add_allocator_argument(parser) -> None:
    """``--allocator {default,tuned}`` (default tuned): see :mod:`hourglass_plugin.allocator`."""
    from .allocator import SETTINGS, SWITCH
    parser.add_argument(
        '--allocator', choices=SETTINGS, default='tuned',
        help="glibc's allocator: tuned keeps freed memory for reuse instead of returning it to "
        f'the kernel (faster on CPU); default leaves it as it comes. {SWITCH}=default in the '
        'environment switches it off everywhere')


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; on a user error print ``error: <message>`` and exit 1.

    ``--debug`` on the command line (or HOURGLASS_DEBUG=1) re-raises with the full traceback.
    """
    import os
    debug = '--debug' in sys.argv or os.environ.get('HOURGLASS_DEBUG') == '1'
    if '--debug' in sys.argv:
        sys.argv.remove('--debug')
    try:
        main()
    except USER_ERRORS as error:
        if debug:
            raise
        print(f'error: {user_message(error)}\n(run again with --debug for the traceback)',
              file=sys.stderr)
        sys.exit(1)


def user_message(error: BaseException) -> str:
    """The message of a user error, without what was wrapped around it on the way.

    A KeyError's message is its argument (``str()`` would quote it); mmengine's unknown-type
    KeyError gets the close registered names; an error raised in a DataLoader worker, which
    torch re-raises with the worker's traceback inside the message, is reduced to its last line.
    """
    message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
    if 'Original Traceback' in message:
        last = message.strip().splitlines()[-1]  # 'package.module.ErrorClass: message'
        message = last.split(': ', 1)[1] if ': ' in last else last
    if isinstance(error, KeyError):
        from .registry import explain_unknown_type
        message = explain_unknown_type(message) or message
    return message


def set_work_dir(cfg: ConfigDict, work_dir: str, config_path: str) -> None:
    """work_dir priority, as in mmpose: command line > config > ./work_dirs/<config name>."""
    import os.path as osp
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def read_image(path: str):
    """The image at ``path`` as a BGR uint8 array (H, W, 3), as mmpose's LoadImage reads it; one
    error naming the file when it is missing or not an image OpenCV decodes."""
    import os.path as osp
    import mmcv
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path} does not exist')
    image = mmcv.imread(path)  # None when OpenCV cannot decode the file
    if image is None:
        raise ValueError(f'image {path} cannot be read: not an image format OpenCV decodes')
    return image
