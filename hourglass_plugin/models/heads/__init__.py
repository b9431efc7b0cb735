from .stacked_hourglass_head import StackedHourglassHead

__all__ = ['StackedHourglassHead']
