"""Train a model from an mmpose or mmdet config (the config's default_scope picks the registries).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--cfg-options k=v ...]
                                 [--launcher {none,pytorch,slurm,mpi}] [--debug]
"""
import argparse
import os

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin.cli import run_main, set_work_dir
from hourglass_plugin.preflight import check_before_run


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a stacked hourglass model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest one in the work dir')
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
    set_work_dir(cfg, args.work_dir, args.config)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    # model, load_from (strictly: it must fit the model) and data, before anything is written
    check_before_run(cfg, 'train')
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_main(main)
