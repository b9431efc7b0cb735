from .heatmap_mse_loss import HeatmapMSELoss

__all__ = ['HeatmapMSELoss']
