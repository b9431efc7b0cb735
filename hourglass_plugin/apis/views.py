"""The robustness table: a checkpoint on its test set seen rotated and with rescaled boxes."""
import json
import os.path as osp

from mmengine.config import Config

from ..checkpoint import atomic_write
from ..run.views import evaluate_views, views_table


def test_views(cfg: Config, checkpoint: str) -> dict:
    """Evaluate ``checkpoint`` on every standard view of ``cfg``'s test set
    (:data:`hourglass_plugin.run.views.STANDARD_VIEWS`); print the markdown table and write it,
    with every metric, to ``<work_dir>/views.md`` and ``views.json``. Returns view -> metrics."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    results = evaluate_views(cfg, checkpoint)
    table = views_table(results)
    print(table, end='')
    atomic_write(osp.join(cfg.work_dir, 'views.md'), table)
    atomic_write(osp.join(cfg.work_dir, 'views.json'),
                 json.dumps(dict(config=cfg.filename, checkpoint=checkpoint, views=results),
                            indent=1))
    print(f'written to {osp.join(cfg.work_dir, "views.md")} and views.json')
    return results
