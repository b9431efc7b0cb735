"""Train a model from an mmpose or mmdet config (the config's default_scope picks the registries).

A run killed at any moment continues with ``--resume``: the plugin's configs write checkpoints
atomically and remove old ones only after the new one (``CrashSafeCheckpointHook``), and
``--resume`` takes the newest complete checkpoint even where ``last_checkpoint`` names a missing
or cut-short file. --amp trains in mixed precision: bf16 autocast on a CPU with native bf16
(``BF16OptimWrapper``: weights, BatchNorm statistics, loss and checkpoints stay fp32, so a run
resumes in either precision), mmengine's ``AmpOptimWrapper`` on a GPU.
"""
import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, apis, cli


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
    apis.train_model(cfg, resume=args.resume, amp=args.amp)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
