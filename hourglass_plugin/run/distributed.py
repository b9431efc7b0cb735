"""The process group of a ``launcher='pytorch'`` run on a machine without CUDA.

mmengine's Runner joins the group itself (``init_dist`` with the config's
``env_cfg.dist_cfg``), but its PyTorch path calls ``torch.cuda.set_device`` first, which fails
without CUDA. There, :func:`init_distributed` joins the group as ``init_dist`` would, with the
backend the config chose (``env_cfg = dict(dist_cfg=dict(backend='gloo'))``), and the Runner then
finds it joined and skips its own set-up. With CUDA it does nothing: mmengine does it all.
"""
import torch
import torch.distributed as dist
from mmengine.config import Config

from ..errors import ConfigError


def init_distributed(cfg: Config) -> bool:
    """Join the process group of ``cfg`` where mmengine cannot (launcher ``pytorch``, no CUDA);
    True if it was joined here. The config is read, not changed."""
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    if dist.is_initialized():
        return False
    backend = ((cfg.get('env_cfg') or {}).get('dist_cfg') or {}).get('backend', 'nccl')
    if backend != 'gloo':
        raise ConfigError(f"env_cfg.dist_cfg.backend is {backend!r}: processes without CUDA "
                          "talk through gloo (--cfg-options env_cfg.dist_cfg.backend=gloo)")
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('device_ids', 'unset') is not None:
        raise ConfigError(
            'model_wrapper_cfg.device_ids must be None for a model on the CPU (DDP refuses '
            "device ids there): model_wrapper_cfg = dict(type='MMDistributedDataParallel', "
            'device_ids=None, broadcast_buffers=False)')
    dist.init_process_group(backend='gloo')
    return True
