"""Render synthetic people in MPII's layout, for mmpose's MpiiDataset.

    python tools/make_synthetic_mpii.py OUT_DIR [--num-train N] [--num-val M] [--seed S]
                                                [--image-size W H] [--debug]

Writes OUT_DIR/images/*.jpg, OUT_DIR/annotations/{mpii_train.json, mpii_val.json,
mpii_gt_val.mat} and OUT_DIR/synthetic_meta.json (see hourglass_plugin.demo.synthetic_mpii).
When OUT_DIR already holds complete data of the same arguments it says so and does nothing.
"""
import argparse
import time
from typing import Optional, Sequence

from hourglass_plugin.cli import run_main
from hourglass_plugin.demo.synthetic_mpii import is_complete, render_dataset


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
    parser = argparse.ArgumentParser(
        description='Render a deterministic synthetic dataset of people in MPII\'s format')
    parser.add_argument('out_dir', help='dataset root to write (created if missing)')
    parser.add_argument('--num-train', type=_int_at_least(1), default=1000,
                        help='train images, one annotated person each (default 1000)')
    parser.add_argument('--num-val', type=_int_at_least(1), default=200,
                        help='val images, one annotated person each (default 200)')
    parser.add_argument('--seed', type=_int_at_least(0), default=0,
                        help='random seed; the same seed gives identical files (default 0)')
    parser.add_argument('--image-size', type=_int_at_least(64), nargs=2, default=[320, 320],
                        metavar=('W', 'H'), help='image width and height (default 320 320)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    size = tuple(args.image_size)
    described = (f'{args.num_train} train + {args.num_val} val images, seed {args.seed}, '
                 f'{size[0]}x{size[1]}')
    if is_complete(args.out_dir, args.num_train, args.num_val, args.seed, size):
        print(f'{args.out_dir} already holds the synthetic MPII data of these arguments '
              f'({described}): nothing to do')
        return
    start = time.perf_counter()
    summary = render_dataset(args.out_dir, args.num_train, args.num_val, args.seed, size)
    print(f'rendered {described} into {args.out_dir} in {time.perf_counter() - start:.1f} s '
          f'({100 * summary["invisible_joints"]:.1f}% of joints invisible)')


if __name__ == '__main__':
    run_main(main)
