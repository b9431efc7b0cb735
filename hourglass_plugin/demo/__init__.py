"""What ``make demo`` needs besides the library: synthetic people rendered in MPII's layout
(``tools/make_synthetic_mpii.py``, ``docs/synthetic_data.md``) and the pictures it writes (every
stack's heatmaps, the loss curves)."""
from .loss_curves import plot_loss_curves
from .stack_heatmaps import draw_stack_heatmaps
from .synthetic_mpii import META_FILE, is_complete, render_dataset

__all__ = ['META_FILE', 'draw_stack_heatmaps', 'is_complete', 'plot_loss_curves', 'render_dataset']
