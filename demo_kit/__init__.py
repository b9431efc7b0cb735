"""What ``make demo`` needs besides the plugin: synthetic people rendered in MPII's layout
(``python -m tools.make_synthetic_mpii``, ``docs/synthetic_data.md``) and the pictures it writes
(every stack's heatmaps, the loss curves, a metric against the training time).
The repository's, beside ``tools/``: not part of the installed package."""
import os.path as osp

from .loss_curves import plot_loss_curves
from .metric_curve import latest_metric_curve, plot_metric_curve, read_metric_curve
from .stack_heatmaps import draw_stack_heatmaps
from .synthetic_mpii import META_FILE, NUM_TRAIN, NUM_VAL, is_complete, render_dataset

#: the config ``make demo`` trains
DEMO_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'stacked_hourglass',
    'td-hm_stacked-hourglass-hg2-f128_1xb16-1600it_synthetic-mpii-128x128.py')

__all__ = ['DEMO_CONFIG', 'META_FILE', 'NUM_TRAIN', 'NUM_VAL', 'draw_stack_heatmaps',
           'is_complete', 'latest_metric_curve', 'plot_loss_curves', 'plot_metric_curve',
           'read_metric_curve', 'render_dataset']
