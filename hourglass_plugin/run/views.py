"""The test set seen in fixed views: every photo rotated about its person, or with the person's
box scaled (``hourglass_plugin.datasets.PhotoView``), each view one evaluation of the config's
test loop. How well a network holds on poses and framings it was not tuned on.
"""
import copy
from typing import Dict, List, Sequence, Tuple

from mmengine.config import Config

#: (name, PhotoView arguments): the standard views; the rotated ones are averaged
STANDARD_VIEWS: Tuple[Tuple[str, dict], ...] = (
    ('upright', {}),
    ('rotated +45', dict(rotate=45)),
    ('rotated -45', dict(rotate=-45)),
    ('rotated +90', dict(rotate=90)),
    ('rotated -90', dict(rotate=-90)),
    ('rotated 180', dict(rotate=180)),
    ('box x0.7', dict(box_scale=0.7)),
    ('box x1.4', dict(box_scale=1.4)),
)


def with_view(cfg: Config, view: dict) -> Config:
    """A copy of ``cfg`` whose test pipeline shows ``view``: a ``PhotoView(**view)`` right
    after ``LoadImage`` (in the place of one the pipeline has)."""
    cfg = copy.deepcopy(cfg)
    pipeline = [step for step in cfg.test_dataloader.dataset.pipeline
                if step['type'] != 'PhotoView']
    loads = [i for i, step in enumerate(pipeline) if step['type'] == 'LoadImage']
    if not loads:
        raise ValueError('test_dataloader.dataset.pipeline has no LoadImage step to show a '
                         'view after')
    pipeline.insert(loads[0] + 1, dict(type='PhotoView', **view))
    cfg.test_dataloader.dataset.pipeline = pipeline
    return cfg


def evaluate_views(cfg: Config, checkpoint: str,
                   views: Sequence[Tuple[str, dict]] = STANDARD_VIEWS) -> Dict[str, dict]:
    """view name -> the test metrics of ``checkpoint`` with every test photo in that view.

    The model is prepared once (as every tool prepares it); each view is the config's test
    dataloader and evaluator run over it, as mmengine's ``TestLoop`` runs them
    (:func:`~hourglass_plugin.evaluation.evaluate_batches`)."""
    from mmengine.device import get_device
    from mmengine.runner import Runner

    from ..evaluation import evaluate_batches
    from .prepare import prepare_run
    model = prepare_run(cfg, 'test', checkpoint=checkpoint).model.to(get_device()).eval()
    results = {}
    for index, (name, view) in enumerate(views):
        view_cfg = with_view(cfg, view)
        loader = Runner.build_dataloader(view_cfg.test_dataloader)
        results[name], _ = evaluate_batches(model, loader, view_cfg.test_evaluator,
                                            loader.dataset.metainfo, len(loader.dataset))
        print(f'view {index + 1}/{len(views)}: {name}: {len(loader.dataset)} photos', flush=True)
    return results


def headline_metrics(metrics: dict) -> List[str]:
    """The metric names of a table's columns: those that are not one joint's (``pck/PCK@0.2``
    but not ``pck/PCK@0.2/ankle``)."""
    return [name for name in metrics if len(name.split('/')) <= 2]


def views_table(results: Dict[str, dict]) -> str:
    """Markdown: a row a view, a column a headline metric, and the rotated views' mean."""
    columns = headline_metrics(next(iter(results.values())))
    lines = ['| view | ' + ' | '.join(columns) + ' |', '| --- ' * (len(columns) + 1) + '|']
    for name, metrics in results.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{metrics[c]:.2f}' for c in columns) + ' |')
    rotated = [metrics for name, metrics in results.items() if name.startswith('rotated')]
    if rotated:
        means = [sum(m[c] for m in rotated) / len(rotated) for c in columns]
        lines.append(f'| mean of the {len(rotated)} rotated | ' +
                     ' | '.join(f'{value:.2f}' for value in means) + ' |')
    return '\n'.join(lines) + '\n'
