"""Configs, models and checkpoints the tests share, built from the repository's own configs."""
import copy
import os.path as osp

from mmengine.config import Config

from .paths import CONFIGS, RESUME_CFG, SAMPLE_ANNOTATIONS, TINY


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


def small_pose_cfg(**overrides):
    """Newell's layout, narrow and shallow enough to run in milliseconds."""
    cfg = pose_backbone_cfg(2)
    cfg.update(order=2, stage_channels=(32, 32, 32), stage_blocks=(1, 1, 1), feat_channels=32,
               stem=dict(conv_channels=16, block_channels=(32, 32, 32), downsample_before=1),
               num_keypoints=5)
    cfg.update(overrides)
    return cfg


def small_det_cfg(**overrides):
    """CornerNet's layout, narrow and shallow."""
    cfg = hg104_backbone_cfg()
    cfg.update(order=3, stage_channels=(32, 32, 48, 64), stage_blocks=(1, 1, 1, 2),
               feat_channels=24, stem=dict(conv_channels=16, block_channels=(32, ),
                                           downsample_before=0))
    cfg.update(overrides)
    return cfg


def tiny_cfg(work_dir=None, **options) -> Config:
    """The tiny config with ``options`` (``key.sub=value`` names) merged in, and ``work_dir``."""
    cfg = Config.fromfile(TINY)
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(options)
    return cfg


def build_tiny_model():
    """The tiny 2-stack pose model of tests/data/configs, built through mmpose's registry."""
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    return MODELS.build(Config.fromfile(TINY).model).eval()


def save_tiny_checkpoint(path: str) -> str:
    """Random (seeded) weights of the tiny model in mmengine's layout, with MPII's dataset meta."""
    import torch
    from mmpose.datasets import MpiiDataset
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    torch.manual_seed(0)
    torch.save({'state_dict': build_tiny_model().state_dict(),
                'meta': {'dataset_meta': parse_pose_metainfo(MpiiDataset.METAINFO)}}, path)
    return path


def save_model(path, **backbone) -> str:
    """A tiny model with the backbone changed by ``backbone``, saved in mmengine's layout."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    cfg = Config.fromfile(TINY).model
    cfg.backbone.update(backbone)
    cfg.head.num_stacks = cfg.backbone.num_stacks
    torch.save({'state_dict': MODELS.build(cfg).state_dict()}, path)
    return str(path)


def save_sample_head_boxes(path: str) -> str:
    """``mpii_gt_val.mat`` for the 5 real sample images (their head boxes derived from joints)."""
    import json

    from hourglass_plugin.datasets import head_boxes_from_joints, write_mpii_gt_mat
    with open(SAMPLE_ANNOTATIONS) as f:
        records = json.load(f)
    write_mpii_gt_mat(path, records, head_boxes_from_joints(records))
    return path


def randomise_norms(model):
    """Random BN statistics and affine parameters, so parity tests cover every buffer."""
    from torch import nn
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    return model


def pausing_config(directory) -> str:
    """The resume config, importing :mod:`helpers.pause_points` and with its hook (last, after
    the logger's), so that the environment can stop the run at a rename or an iteration."""
    hooks = Config.fromfile(RESUME_CFG).custom_hooks + [
        dict(type='PauseAtIterHook', priority='LOWEST')]
    path = osp.join(directory, 'resume_pausing.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{RESUME_CFG!r}]\n'
                "custom_imports = dict(imports=['hourglass_plugin', 'helpers.pause_points'], "
                "allow_failed_imports=False)\n"
                f'custom_hooks = {hooks!r}\n')
    return path
