"""A validation metric against the wall-clock time of training, from mmengine's text log.

mmengine's ``scalars.json`` has no clock; its text log (``<work_dir>/<timestamp>/<timestamp>.log``)
stamps every line. The time axis starts at the line ``Checkpoints will be saved to`` that
mmengine writes as the training loop starts, and includes everything after it (validations too),
as a user waiting for the run sees it.
"""
import glob
import os.path as osp
import re
from datetime import datetime
from typing import List, Tuple

from hourglass_plugin.visualization import save_figure

_STAMP = re.compile(r'^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})')
_TRAIN = re.compile(r'Iter\(train\) \[\s*(\d+)/')
_START = 'Checkpoints will be saved to'


def read_metric_curve(log_file: str, metric: str) -> List[Tuple[float, int, float]]:
    """``[(minutes since training started, iteration, value), ...]`` of every validation of
    ``metric`` (a key as logged, e.g. ``pck/PCK@0.2``) in ``log_file``."""
    value_re = re.compile(r'Iter\(val\) \[\d+/\d+\].*?\b' + re.escape(metric) + r': ([-\d.]+)')
    start, iteration, points = None, 0, []
    with open(log_file) as f:
        for line in f:
            stamp = _STAMP.match(line)
            if stamp is None:
                continue
            when = datetime.strptime(stamp.group(1), '%Y/%m/%d %H:%M:%S')
            if start is None and _START in line:
                start = when
            train = _TRAIN.search(line)
            if train:
                iteration = int(train.group(1))
            value = value_re.search(line)
            if value and start is not None:
                points.append(((when - start).total_seconds() / 60, iteration,
                               float(value.group(1))))
    return points


def latest_metric_curve(work_dir: str, metric: str) -> List[Tuple[float, int, float]]:
    """:func:`read_metric_curve` of the latest run in ``work_dir`` that validated ``metric``
    (test runs, and a resumed run that had nothing left to validate, are passed over); empty if
    none did."""
    for log in reversed(sorted(glob.glob(osp.join(work_dir, '*', '*.log')))):
        points = read_metric_curve(log, metric)
        if points:
            return points
    return []


def plot_metric_curve(points: List[Tuple[float, int, float]], out_file: str, metric: str,
                      title: str, target: float = None) -> None:
    """Plot ``points`` of :func:`read_metric_curve` (value against minutes) into ``out_file``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if not points:
        raise ValueError(f'no validation of {metric} to plot')
    minutes, iterations, values = zip(*points)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.plot(minutes, values, marker='o', color='tab:blue', label=metric)
    for m, it, v in points:
        ax.annotate(f'{v:.1f}', (m, v), textcoords='offset points', xytext=(0, 6), ha='center',
                    fontsize=8)
    if target is not None:
        ax.axhline(target, color='tab:red', linestyle='--', linewidth=1, label=f'{target:g}')
    ax.set_xlabel('wall-clock minutes of training (validations included)')
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right')
    top = ax.secondary_xaxis('top')
    top.set_xticks(minutes)
    top.set_xticklabels([f'{it / 1000:g}k' if it >= 1000 else str(it) for it in iterations],
                        fontsize=7)
    top.set_xlabel('iteration')
    fig.tight_layout()
    save_figure(fig, out_file)
