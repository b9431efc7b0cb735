"""Checkpoint converters: published hourglass weights -> ``StackedHourglass`` state dicts."""
from .checkpoint_file import convert_checkpoint_file
from .convert import SOURCES, convert_state_dict
from .mmlab_hourglassnet import infer_mmlab_backbone_cfg
from .princeton_posenet import infer_princeton_backbone_cfg

__all__ = [
    'SOURCES', 'convert_checkpoint_file', 'convert_state_dict', 'infer_mmlab_backbone_cfg',
    'infer_princeton_backbone_cfg'
]
