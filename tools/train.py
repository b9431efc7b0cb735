"""Train a model from an mmpose or mmdet config (the config's default_scope picks the registries).

A run killed at any moment continues with ``--resume``: checkpoints are written atomically and
old ones removed only after the new one (``hourglass_plugin.engine``), and ``--resume`` takes the
newest complete checkpoint even where ``last_checkpoint`` names a missing or cut-short file.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--cfg-options k=v ...]
                                 [--launcher {none,pytorch,slurm,mpi}] [--debug]
"""
import argparse
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import hourglass_plugin  # noqa: F401  registrations, safe loading, atomic checkpoint writes
from hourglass_plugin.cli import run_main, set_work_dir
from hourglass_plugin.preflight import check_before_run
from hourglass_plugin.engine import find_resumable_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a stacked hourglass model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the newest complete one in the '
        'work dir (starts from the beginning if there is none)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_dataloader.batch_size=8')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        # mmengine's init_dist always calls torch.cuda.set_device and mmpose's and mmdet's
        # runtimes ask for NCCL: on CPUs join the group with gloo here; the Runner then sees an
        # initialised group and skips its own set-up.
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend='gloo')
        # its default DDP wrapper passes device_ids=[LOCAL_RANK], which DDP refuses for CPU
        # modules: wrap without device ids (unless the config chose a wrapper)
        cfg.setdefault('model_wrapper_cfg',
                       dict(type='MMDistributedDataParallel', device_ids=None,
                            broadcast_buffers=False))
    checkpoint_hook = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint_hook is not None and checkpoint_hook.get('type') == 'CheckpointHook':
        # the same hook, but it removes old checkpoints only once the new one and
        # last_checkpoint are written (mmengine removes first: max_keep_ckpts=1 plus a kill
        # then leaves no checkpoint at all)
        checkpoint_hook.type = 'CrashSafeCheckpointHook'
    set_work_dir(cfg, args.work_dir, args.config)
    if args.resume == 'auto':
        # not mmengine's auto-resume, which trusts last_checkpoint even where a kill left it
        # empty or naming a removed file; only the main process removes killed writes' leftovers
        checkpoint = find_resumable_checkpoint(
            cfg.work_dir, clean_up=int(os.environ.get('RANK', '0')) == 0)
        if checkpoint is None:
            print_log(f'--resume: no checkpoint in {cfg.work_dir}, training starts from the '
                      'beginning', logger='current')
        else:
            cfg.resume, cfg.load_from = True, checkpoint
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    # model, load_from (strictly: it must fit the model) and data, before anything is written
    check_before_run(cfg, 'train')
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_main(main)
