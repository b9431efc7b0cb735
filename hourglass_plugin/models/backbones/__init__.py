from .basic_block import BasicBlock
from .hourglass import Hourglass
from .residual import Residual
from .stacked_hourglass import StackedHourglass

__all__ = ['BasicBlock', 'Hourglass', 'Residual', 'StackedHourglass']
