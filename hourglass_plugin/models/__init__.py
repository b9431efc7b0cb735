from .backbones import StackedHourglass
from .heads import StackedHourglassHead
from .losses import HeatmapMSELoss

__all__ = ['StackedHourglass', 'StackedHourglassHead', 'HeatmapMSELoss']
