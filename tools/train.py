"""Train a model from an mmpose or mmdet config (the config's default_scope picks the registries).

A run killed at any moment continues with ``--resume``: the plugin's configs write checkpoints
atomically and remove old ones only after the new one (``CrashSafeCheckpointHook``), and
``--resume`` takes the newest complete checkpoint even where ``last_checkpoint`` names a missing
or cut-short file. --amp trains in mixed precision: bf16 autocast on a CPU with native bf16
(``BF16OptimWrapper``: weights, BatchNorm statistics, loss and checkpoints stay fp32, so a run
resumes in either precision), mmengine's ``AmpOptimWrapper`` on a GPU.
"""
import os

from mmengine.logging import print_log

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, cli
from hourglass_plugin.checkpoint import find_resumable_checkpoint
from hourglass_plugin.engine import use_amp
from hourglass_plugin.run import build_runner, prepare_run


def parse_args():
    parser = cli.tool_parser('Train a stacked hourglass model', cli.add_config, cli.add_work_dir,
                             cli.add_cfg_options, cli.add_launcher, cli.add_allocator)
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the newest complete one in the '
        'work dir (starts from the beginning if there is none)')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision: bf16 autocast on a CPU (BF16OptimWrapper), AmpOptimWrapper on a GPU')
    return parser.parse_args()


def main(args) -> None:
    allocator.apply(args.allocator)
    cfg = cli.load_config(args.config, args.cfg_options, args.work_dir, args.launcher,
                          args.local_rank)
    if args.amp:
        use_amp(cfg)
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
    # model, load_from (it must fit the model) and data, before anything is written
    build_runner(cfg, prepare_run(cfg, 'train')).train()


if __name__ == '__main__':
    cli.run_main(main, parse_args)
