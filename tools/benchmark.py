"""Side-by-side speed and memory of our paths against plain PyTorch and mmdet's HourglassNet.

    python -m tools.benchmark [--scenarios pose_train pose_infer hg104_train engine_settings]
                              [--rounds N] [--out work_dirs/benchmark/perf.json] [--compile]
                              [--tiny] [--device DEVICE] [--no-memory]
                              [--allocator {default,tuned,both}]

The harness and its reference network are the repository's ``benchmarks/``.
Each scenario runs its contenders in this one process, in turn, round after round (load from
elsewhere hits all alike); the ratio is the median over rounds of a contender's time over the
reference's in the same round. GFLOP/s count the useful conv work (forward convs, x3 for a
training step), next to this machine's conv peak measured at the start. Step memory: see
``benchmarks/measure.py``. Conv s (training steps): the seconds of one step spent in
convolutions, and their ratio to the reference's time, the lowest ratio these convolutions
allow. Page faults and sys s: the step's minor page faults and
system CPU seconds (medians over rounds), the kernel's share of a contender's time; blank where
the OS reports no page faults (``measure.page_faults_counted``). ``--tiny``
runs every scenario at toy sizes (the smoke test).

``--allocator``: glibc's allocator as it comes (``default``), told to keep freed memory
(``tuned``, ``hourglass_plugin/allocator.py``), or ``both`` (the default): the scenarios run once
under each, each in a fresh process of its own, and the JSON holds both runs. Ratios compare
contenders within one run, so every contender runs under the same setting as its reference.
"""
import argparse
import sys

import hourglass_plugin  # noqa: F401  registrations
from hourglass_plugin import allocator, cli

try:  # the repository's benchmarks/, importable from its root
    from benchmarks.run import run_benchmark
except ModuleNotFoundError as error:
    if error.name != 'benchmarks':
        raise
    sys.exit('error: run it from the repository root: python -m tools.benchmark')

SCENARIOS = ('pose_train', 'pose_infer', 'hg104_train', 'engine_settings')


def parse_args() -> argparse.Namespace:
    parser = cli.tool_parser(__doc__.split('\n')[0])
    parser.add_argument('--scenarios', nargs='+', choices=SCENARIOS, default=list(SCENARIOS[:3]),
                        help='default: pose_train pose_infer hg104_train')
    parser.add_argument('--rounds', type=int, default=3, help='timed rounds per scenario')
    parser.add_argument('--out', default='work_dirs/benchmark/perf.json', help='JSON output')
    cli.add_device(parser)
    parser.add_argument('--compile', action='store_true',
                        help='also time inference under torch.compile (minutes of compiling)')
    parser.add_argument('--allocator', choices=allocator.SETTINGS + ('both', ), default='both',
                        help="glibc's allocator setting(s) to run under (default: both)")
    parser.add_argument('--no-memory', action='store_true', help='skip the step memory runs')
    parser.add_argument('--tiny', action='store_true', help='toy sizes (smoke test)')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    run_benchmark(args)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
