"""Train a model from an mmpose or mmdet config (the config's default_scope picks the registries).

A run killed at any moment continues with ``--resume``: the plugin's configs write checkpoints
atomically and remove old ones only after the new one (``CrashSafeCheckpointHook``), and
``--resume`` takes the newest complete checkpoint even where ``last_checkpoint`` names a missing
or cut-short file. glibc's allocator keeps freed memory (``--allocator``).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--cfg-options k=v ...]
                                 [--launcher {none,pytorch,slurm,mpi}]
                                 [--allocator {default,tuned}] [--amp] [--debug]

--amp trains in mixed precision: bf16 autocast on a CPU with native bf16 (``BF16OptimWrapper``;
weights, BatchNorm statistics, loss and checkpoints stay fp32, so a run resumes in either
precision), mmengine's ``AmpOptimWrapper`` on a GPU.
"""
import argparse
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator
from hourglass_plugin.cli import add_allocator_argument, run_main, set_work_dir
from hourglass_plugin.engine import PreparedRunner
from hourglass_plugin.preflight import check_before_run
from hourglass_plugin.engine import find_resumable_checkpoint, use_amp


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
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision: bf16 autocast on a CPU (BF16OptimWrapper), AmpOptimWrapper on a GPU')
    add_allocator_argument(parser)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    allocator.apply(args.allocator)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.amp:
        use_amp(cfg)
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
    prepared = check_before_run(cfg, 'train')
    runner = PreparedRunner.from_prepared(cfg, prepared)  # on the checked model and data
    runner.train()


if __name__ == '__main__':
    run_main(main)
