"""What runs an estimator's network: a PyTorch checkpoint, or an exported graph in an engine."""
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

from ..deploy.engines import check_precision


def check_source(checkpoint: str, backend: str = 'pytorch', precision: str = 'fp32') -> None:
    """The file ``checkpoint`` exists, ``backend`` is known and computes in ``precision``."""
    check_precision(backend, precision)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')


def network_source(cfg: Config, checkpoint: str, backend: str = 'pytorch',
                   precision: str = 'fp32') -> Tuple[Config, Optional[str]]:
    """(the config to build, the checkpoint to load into it) for ``checkpoint`` run by
    ``backend``: ``cfg`` and the ``.pth`` for PyTorch; for ``onnxruntime``/``openvino`` a copy of
    ``cfg`` whose estimator runs the exported graph ``checkpoint`` (``ExportedGraph``, its weights
    in it: nothing to load), computing in ``precision``. Checked first by
    :func:`check_source`."""
    check_source(checkpoint, backend, precision)
    if backend == 'pytorch':
        return cfg, checkpoint
    from ..deploy import engine_model_config
    return engine_model_config(cfg, checkpoint, backend, precision), None
