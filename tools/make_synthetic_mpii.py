"""Render synthetic people in MPII's layout, for mmpose's MpiiDataset.

    python -m tools.make_synthetic_mpii [--out OUT_DIR] [--num-train N] [--num-val M] [--seed S]
                                        [--shape H W] [--debug]

Writes OUT_DIR/images/*.jpg, OUT_DIR/annotations/{mpii_train.json, mpii_val.json,
mpii_gt_val.mat} and OUT_DIR/synthetic_meta.json (see demo_kit/synthetic_mpii.py). The defaults
are the demo's (``python -m tools.demo``).
When OUT_DIR already holds complete data of the same arguments it says so and does nothing.
"""
import argparse
import sys
import time
from typing import Optional, Sequence

from hourglass_plugin import cli

try:  # the repository's demo_kit/, importable from its root
    from demo_kit.synthetic_mpii import NUM_TRAIN, NUM_VAL, is_complete, render_dataset
except ModuleNotFoundError as error:
    if error.name != 'demo_kit':
        raise
    sys.exit('error: run it from the repository root: python -m tools.make_synthetic_mpii')


def _int_at_least(minimum: int):
    """An argparse type: an int >= ``minimum``, else a usage error naming the bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f'{value} is not >= {minimum}')
        return value

    return parse


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = cli.tool_parser(
        'Render a deterministic synthetic dataset of people in MPII\'s format')
    parser.add_argument('--out', default='data/synthetic_mpii', metavar='OUT_DIR',
                        help='dataset root to write, created if missing (default '
                        'data/synthetic_mpii, where the demo config reads it)')
    parser.add_argument('--num-train', type=_int_at_least(1), default=NUM_TRAIN,
                        help=f'train images, one annotated person each (default {NUM_TRAIN})')
    parser.add_argument('--num-val', type=_int_at_least(1), default=NUM_VAL,
                        help=f'val images, one annotated person each (default {NUM_VAL})')
    parser.add_argument('--seed', type=_int_at_least(0), default=0,
                        help='random seed; the same seed gives identical files (default 0)')
    parser.add_argument('--shape', type=_int_at_least(64), nargs=2, default=[320, 320],
                        metavar=('H', 'W'), help='image height and width (default 320 320)')
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    size = (args.shape[1], args.shape[0])  # (W, H)
    described = (f'{args.num_train} train + {args.num_val} val images, seed {args.seed}, '
                 f'{size[0]}x{size[1]}')
    if is_complete(args.out, args.num_train, args.num_val, args.seed, size):
        print(f'{args.out} already holds the synthetic MPII data of these arguments '
              f'({described}): nothing to do')
        return
    start = time.perf_counter()
    summary = render_dataset(args.out, args.num_train, args.num_val, args.seed, size)
    print(f'rendered {described} into {args.out} in {time.perf_counter() - start:.1f} s '
          f'({100 * summary["invisible_joints"]:.1f}% of joints invisible)')


if __name__ == '__main__':
    cli.run_main(main, parse_args)
