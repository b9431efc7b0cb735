"""What a tool reads off or sets in a run's config from its command line: the work dir, and the
input size that export and benchmarks read off the config."""
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.config import Config

from ..errors import ConfigError, UsageError


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str) -> None:
    """work_dir priority, as in mmpose: command line > config > ./work_dirs/<config name>."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def input_size_from_config(cfg: Config, shape: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """(H, W) of the model's input: ``shape`` (``--shape H W``) if given, else a pose config's
    codec input size (mmpose's codecs store it as (W, H))."""
    if shape is not None:
        if len(shape) != 2 or min(shape) <= 0:
            raise UsageError(f'--shape {" ".join(map(str, shape))}: needs two positive sizes H W')
        return int(shape[0]), int(shape[1])
    codec = cfg.get('codec', None)
    if codec is None or 'input_size' not in codec:
        raise ConfigError('the config has no codec input_size: give the input size with '
                          '--shape H W')
    width, height = codec['input_size']
    return int(height), int(width)
