"""Configs the tests share: the two anchored variants, read from the repo's own configs."""
import copy
import os.path as osp

from mmengine.config import Config

from conftest import CONFIGS


def pose_backbone_cfg(num_stacks: int = 8) -> dict:
    """Newell et al.'s backbone as configs/stacked_hourglass/ defines it."""
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'stacked_hourglass',
                 f'td-hm_stacked-hourglass-hg{num_stacks}_1xb6-100e_mpii-256x256.py'))
    return copy.deepcopy(cfg.model.backbone.to_dict())


def hg104_backbone_cfg() -> dict:
    """CornerNet's Hourglass-104 as configs/cornernet/ defines it."""
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'cornernet', 'cornernet_stacked-hourglass104_8xb6-210e-mstest_coco.py'))
    backbone = cfg.model.backbone.to_dict()
    backbone.pop('_delete_', None)
    return backbone


def build(cfg: dict, **overrides):
    from hourglass_plugin.models import StackedHourglass
    cfg = dict(cfg, **overrides)
    cfg.pop('type')
    return StackedHourglass(**cfg)


def num_params(module) -> int:
    return sum(p.numel() for p in module.parameters())
