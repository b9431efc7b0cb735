"""The demo's run: the options every split and the seed get, whether a work dir holds this very
run (then it resumes) and which checkpoint is tested (``python -m tools.demo``)."""
import argparse
import glob
import json
import os
import os.path as osp
import time

from hourglass_plugin.checkpoint import atomic_write
from .synthetic_mpii import META_FILE


def options_dict(options: list) -> dict:
    """``['k=v', ...]`` parsed as ``--cfg-options`` is by mmengine's DictAction."""
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, options)
    return getattr(namespace, 'options', {})


def run_options(args: argparse.Namespace) -> list:
    """``--cfg-options`` that point every split at ``--data-root`` and seed the training with
    ``--seed`` (so a repeat of the demo trains alike), then the user's own."""
    root = f'{args.data_root}/'
    roots = [f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'val', 'test')]
    if getattr(args, 'dataset', 'synthetic') == 'lsp':
        return roots + [f'randomness.seed={args.seed}'] + list(args.cfg_options)
    head_boxes = [f'{split}_dataloader.dataset.headbox_file={root}annotations/mpii_gt_val.mat'
                  for split in ('val', 'test')]
    return roots + head_boxes + [f'randomness.seed={args.seed}'] + list(args.cfg_options)


def run_fingerprint(args: argparse.Namespace) -> dict:
    """What makes a training run the same one: the whole config as trained (options merged) and
    the data it reads (the renderer's meta file, or the annotation files' sizes and times)."""
    import hashlib

    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))
    data = {}
    for name in (META_FILE, 'annotations/mpii_train.json', 'annotations/mpii_val.json',
                 'annotations/lsp_train.json', 'annotations/lsp_val.json',
                 'annotations/lsp_test.json'):
        path = osp.join(args.data_root, name)
        if osp.isfile(path):
            data[name] = [os.path.getsize(path), os.path.getmtime(path)]
    return dict(config=args.config,
                config_sha256=hashlib.sha256(cfg.pretty_text.encode()).hexdigest(), data=data)


def prepare_work_dir(work_dir: str, fingerprint: dict) -> bool:
    """Whether to resume: yes if ``work_dir`` holds a checkpoint of the same run (see
    :func:`run_fingerprint`); a work dir left by another config or other data is moved aside to
    ``WORK_DIR.<time>`` (nothing deleted). Records the fingerprint of this run in it."""
    stamp = osp.join(work_dir, 'demo_run.json')
    resume = False
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        previous = None
        if osp.isfile(stamp):
            with open(stamp) as f:
                previous = json.load(f)
        if previous == fingerprint:
            resume = True
        else:
            moved = f"{work_dir.rstrip('/')}.{time.strftime('%Y%m%d_%H%M%S')}"
            os.rename(work_dir, moved)
            print(f'{work_dir} held a run of another config or other data: moved to {moved}')
    os.makedirs(work_dir, exist_ok=True)
    atomic_write(stamp, json.dumps(fingerprint, indent=2))
    return resume


def trained_to_the_end(args: argparse.Namespace) -> bool:
    """Whether the work dir's last checkpoint is the run's last iteration (then resuming would
    only replay the data loader up to it, as mmengine's resume does)."""
    import re

    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        last = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(f.read().strip()))
    return bool(last) and osp.isfile(best_checkpoint(args.work_dir)) and \
        int(last.group(1)) >= cfg.train_cfg.get('max_iters', float('inf'))


def best_checkpoint(work_dir: str) -> str:
    best = sorted(glob.glob(osp.join(work_dir, 'best_PCK_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()
