from .loss_curves import plot_loss_curves
from .stack_heatmaps import draw_stack_heatmaps

__all__ = ['draw_stack_heatmaps', 'plot_loss_curves']
