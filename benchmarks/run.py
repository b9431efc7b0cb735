"""The run of ``python -m tools.benchmark``: the machine described, the chosen scenarios timed
(under one allocator setting, or under each in a child process of its own), every table printed
and the JSON written."""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys

import torch

from hourglass_plugin import allocator, cli
from hourglass_plugin.checkpoint import atomic_write
from hourglass_plugin.errors import UsageError
from hourglass_plugin.model_benchmark import device_name
from . import engine_settings, measure, scenarios

#: environment variables that change what is measured (threads, glibc's allocator, torch's
#: huge pages), recorded with every run (and every ``MALLOC_*``): e.g. ``MALLOC_MMAP_THRESHOLD_``
#: and ``MALLOC_TRIM_THRESHOLD_`` large enough to keep freed memory mapped take the page faults
#: out of every contender
MEASURED_ENV = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'GLIBC_TUNABLES', 'LD_PRELOAD',
                'THP_MEM_ALLOC_ENABLE')


def load_average() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'n/a'


def format_table(result: dict, peak: float) -> str:
    lines = [f"== {result['name']}: {result['setting']}",
             f"   reference: {result['reference']}; target: {result['target']}"]
    header = ('contender', 'median s', 'ratio', 'CPU-time ratio', 'GFLOP/s', '% conv peak',
              'page faults', 'sys s', 'step mem MB', 'conv s (ratio)', 'check')
    rows = [header]
    for c in result['contenders']:
        mem = '' if c['step_memory_mb'] is None else f"{c['step_memory_mb']:.0f}"
        conv = '' if c.get('conv_s') is None else f"{c['conv_s']:.3f} ({c['conv_ratio']:.3f})"
        faults = sys_s = ''  # medians over rounds, where the OS counts them
        if c.get('minor_faults'):
            faults = f"{statistics.median(c['minor_faults']):.0f}"
            sys_s = f"{statistics.median(c['sys_times_s']):.2f}"
        rows.append((c['contender'], f"{c['median_s']:.3f}", f"{c['ratio']:.3f}",
                     f"{c['cpu_ratio']:.3f}",
                     f"{c['gflops_per_s']:.0f}", f"{100 * c['gflops_per_s'] / peak:.0f}%",
                     faults, sys_s, mem, conv, c['check']))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        lines.append('| ' + ' | '.join(v.ljust(w) for v, w in zip(row, widths)) + ' |')
        if i == 0:
            lines.append('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return '\n'.join(lines)


def run_each_allocator(args: argparse.Namespace) -> None:
    """This benchmark once under each allocator setting, each in a child process, then one JSON
    with both runs at ``--out``."""
    runs = {}
    for setting in allocator.SETTINGS:
        out = f'{osp.splitext(args.out)[0]}.{setting}.json' if args.out else ''
        argv = sys.argv[1:] + ['--allocator', setting, '--out', out]  # the later options win
        shown = 'mallopt: mmap and trim thresholds 2 GiB' if setting == 'tuned' else \
            "glibc's defaults"
        print(f'\n##### allocator: {setting} ({shown})', flush=True)
        env = {k: v for k, v in os.environ.items() if k != allocator.SWITCH}
        subprocess.run([sys.executable, '-m', 'tools.benchmark'] + argv, check=True, env=env)
        if out:
            with open(out) as f:
                runs[setting] = json.load(f)
            os.remove(out)
    if args.out:
        atomic_write(args.out, json.dumps(dict(allocators=runs), indent=2) + '\n')
        print(f'wrote {args.out}')


def run_benchmark(args: argparse.Namespace) -> None:
    """The scenarios of ``python -m tools.benchmark`` (its arguments), each table printed, the
    JSON written to ``args.out``."""
    if args.rounds < 1:
        raise UsageError(f'--rounds must be >= 1, got {args.rounds}')
    if args.allocator == 'both':
        run_each_allocator(args)
        return
    allocator.apply(args.allocator)
    args.device = cli.device_of(args)
    device = torch.device(args.device)
    info = dict(date=datetime.datetime.now().isoformat(timespec='seconds'),
                allocator=allocator.current(),
                command=' '.join(['python', '-m', 'tools.benchmark'] + sys.argv[1:]),
                device=str(device), device_name=device_name(device),
                torch_threads=torch.get_num_threads(), torch_version=torch.__version__,
                python=platform.python_version(), load_average_start=load_average(),
                environment={k: v for k, v in sorted(os.environ.items())
                             if k in MEASURED_ENV or k.startswith('MALLOC_')})
    peaks = measure.conv_peak_gflops() if device.type == 'cpu' else {}
    peak = max(peaks.values()) if peaks else float('nan')
    print(f"{info['date']}  {info['device_name']}, {info['torch_threads']} threads, torch "
          f"{info['torch_version']}, load average {info['load_average_start']}" +
          ''.join(f', {k}={v}' for k, v in info['environment'].items()))
    print('conv peak (fp32, channels-last): ' +
          ', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peaks.items()))
    tiny = dict(stacks=2, order=2, batch=2, size=64) if args.tiny else {}
    runs = {
        'pose_train': lambda: scenarios.pose_train(rounds=args.rounds, device=args.device,
                                                   memory=not args.no_memory, **tiny),
        'pose_infer': lambda: scenarios.pose_infer(rounds=args.rounds, device=args.device,
                                                   compile=args.compile, **tiny),
        'hg104_train': lambda: scenarios.hg104_train(
            rounds=args.rounds, device=args.device, memory=not args.no_memory,
            **(dict(batch=2, size=64, small=True) if args.tiny else {})),
        'engine_settings': lambda: engine_settings.engine_settings(rounds=args.rounds, **tiny),
    }
    results = []
    for name in args.scenarios:
        result = runs[name]()
        results.append(result)
        print(format_table(result, peak), flush=True)
    info['load_average_end'] = load_average()
    print(f"load average at the end: {info['load_average_end']}")
    if args.out:
        atomic_write(args.out, json.dumps(dict(info, conv_peak_gflops=peaks, scenarios=results),
                                          indent=2) + '\n')
        print(f'wrote {args.out}')
