"""Loss curve of every stack, from the scalars mmengine's LocalVisBackend writes while training.

mmpose's visualizer draws poses, not training curves, and mmengine only writes the numbers
(``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON object per logged iteration), so this
plots them with matplotlib.
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Tuple

from hourglass_plugin.visualization import save_figure

_STACK_LOSS = re.compile(r'^loss_stack(\d+)$')


def read_scalars(work_dir: str) -> List[dict]:
    """Every logged record of the latest run in ``work_dir`` (train records have ``loss``)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: was it trained '
                                'with mmengine\'s LocalVisBackend?')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def stack_losses(records: List[dict]) -> Dict[str, Tuple[List[int], List[float]]]:
    """``{'loss_stack0': (iterations, values), ..., 'loss': ...}`` from the train records."""
    curves: Dict[str, Tuple[List[int], List[float]]] = {}
    for record in records:
        for key, value in record.items():
            if (_STACK_LOSS.match(key) or key == 'loss') and 'step' in record:
                its, vals = curves.setdefault(key, ([], []))
                its.append(record['step'])
                vals.append(value)
    if not any(_STACK_LOSS.match(k) for k in curves):
        raise ValueError('the scalars hold no loss_stack{i} values: was the model trained with '
                         'StackedHourglassHead?')
    return curves


def plot_loss_curves(work_dir: str, out_file: str) -> Dict[str, float]:
    """Plot each stack's loss (and the total) against the iteration; return the last values."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = stack_losses(read_scalars(work_dir))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for key in sorted(curves, key=lambda k: (k == 'loss', k)):
        its, vals = curves[key]
        style = dict(color='black', linewidth=2) if key == 'loss' else dict(linewidth=1.2)
        style['marker'] = '.' if len(its) < 30 else None  # a short run still shows its points
        ax.plot(its, vals, label='total' if key == 'loss' else key.replace('loss_', ''), **style)
    ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel('heatmap MSE (log scale)')
    ax.set_title('Intermediate supervision: loss of every stack')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out_file)
    return {key: vals[-1] for key, (_, vals) in curves.items()}
