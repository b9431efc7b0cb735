"""Test (evaluate) a checkpoint with an mmpose or mmdet config, and optionally benchmark it.

    python tools/test.py CONFIG CHECKPOINT [--backend {pytorch,onnxruntime,openvino}]
                                           [--precision {fp32,bf16}]
                                           [--work-dir DIR] [--cfg-options k=v ...]
                                           [--launcher {none,pytorch,slurm,mpi}] [--debug]
                                           [--allocator {default,tuned}]
                                           [--benchmark | --benchmark-only]
                                           [--batch-size N] [--repeats N] [--warmup N]
                                           [--shape H W] [--dump FILE.pkl] [--amp]

--dump writes every prediction (with its ground truth) to a pickle file, through mmengine's
``DumpResults`` as mmpose's own tools/test.py does. --amp evaluates under bf16 autocast (where the
CPU has native bf16; --backend pytorch).

--benchmark runs after the evaluation, --benchmark-only instead of it: parameters, backbone
GMACs per image, throughput, latency p50/p90 and peak memory of the model's forward with the
checkpoint's weights, printed as a table and written to <work_dir>/benchmark.json (see
hourglass_plugin/perf/model_benchmark.py for what is measured and how).

--backend onnxruntime / openvino: CHECKPOINT is a graph exported by tools/export.py, and the
network runs in that engine (evaluation and benchmark alike); the data preprocessing, flip test,
decoding and metrics stay mmpose's, as with --backend pytorch (pose configs).
"""
import argparse
import os
import os.path as osp
from typing import Tuple

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin.perf.model_benchmark import (benchmark_model, check_run_counts, format_table,
                                        input_size_from_config, write_json)
from hourglass_plugin import allocator
from hourglass_plugin.cli import add_allocator_argument, run_main, set_work_dir
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS
from hourglass_plugin.engine import PreparedRunner
from hourglass_plugin.preflight import check_before_run
from hourglass_plugin.engine import TestProgressBarHook, use_amp_in_test


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a stacked hourglass model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or the exported .onnx file '
                        'for --backend onnxruntime/openvino')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='what runs the network (default: pytorch)')
    parser.add_argument('--work-dir', help='the dir to save evaluation results')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=8')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='what the engine computes in: bf16 is an OpenVINO setting for the '
                        'same exported file (default fp32)')
    parser.add_argument('--dump', metavar='FILE.pkl',
                        help='write the predictions to this pickle file (mmengine DumpResults)')
    parser.add_argument('--amp', action='store_true',
                        help='evaluate the PyTorch model under bf16 autocast')
    add_allocator_argument(parser)
    bench = parser.add_argument_group('benchmark')
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument('--benchmark', action='store_true',
                      help='benchmark the model after the evaluation')
    mode.add_argument('--benchmark-only', action='store_true',
                      help='benchmark the model without evaluating (needs no dataset)')
    bench.add_argument('--batch-size', type=int, default=1, help='images per timed forward')
    bench.add_argument('--repeats', type=int, default=20, help='timed forwards')
    bench.add_argument('--warmup', type=int, default=5, help='untimed forwards before')
    bench.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                       help='input size (default: the codec input size of a pose config)')
    args = parser.parse_args()
    if args.dump is not None and not args.dump.endswith(('.pkl', '.pickle')):
        parser.error(f'--dump {args.dump}: the file must end in .pkl or .pickle')
    if args.precision != 'fp32' and args.backend == 'pytorch':
        parser.error(f'--precision {args.precision} is an engine setting; eager PyTorch '
                     'evaluates in bf16 with --amp')
    if args.amp and args.backend != 'pytorch':
        parser.error(f'--amp is eager PyTorch\'s bf16; --backend {args.backend} runs an engine')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def print_metrics(metrics: dict) -> None:
    """The evaluator's metrics as a two-column table (the logger has them on one long line)."""
    if not metrics:
        return
    width = max(len(name) for name in metrics)
    print(f'{"metric":<{width}} | value')
    print('-' * width + '-+-' + '-' * 10)
    for name, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, float) else str(value)
        print(f'{name:<{width}} | {shown}')


def run_benchmark(runner, args: argparse.Namespace, input_size: Tuple[int, int]) -> None:
    """Benchmark the runner's (loaded) model; print the table, write <work_dir>/benchmark.json."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    result = benchmark_model(model, input_size, batch_size=args.batch_size,
                             repeats=args.repeats, warmup=args.warmup)
    print(format_table(result))
    path = osp.join(runner.work_dir, 'benchmark.json')
    write_json(result, path, config=args.config, checkpoint=args.checkpoint)
    print(f'benchmark written to {path}')


def main() -> None:
    args = parse_args()
    allocator.apply(args.allocator)
    if not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    benchmark = args.benchmark or args.benchmark_only
    if benchmark and args.launcher != 'none':
        # a benchmark times one process; several would compete for the same cores or report
        # one number per rank
        raise ValueError(f'--benchmark needs --launcher none, got --launcher {args.launcher}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    if args.amp:
        use_amp_in_test(cfg)
    if args.dump is not None:
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = [*evaluators, dump] if isinstance(evaluators, (list, tuple)) else [
            evaluators, dump]
    engine = None
    if args.backend == 'pytorch':
        cfg.load_from = args.checkpoint
    else:  # the weights are in the exported graph; the model keeps the rest of the work
        from hourglass_plugin.deploy import load_engine
        engine = load_engine(args.backend, args.checkpoint, precision=args.precision)
        engine.check_input_size(input_size_from_config(cfg, args.shape))
        print(f'{args.backend} computes in {engine.precision}')
    # before anything slow: a config without an input size fails here, not after the evaluation
    input_size = None
    if benchmark:
        input_size = input_size_from_config(cfg, args.shape)
        check_run_counts(args.batch_size, args.repeats, args.warmup)
    # model, checkpoint (strictly: it must fit the model; loaded into the model here, once) and
    # test data, before anything is written
    prepared = check_before_run(cfg, 'model' if args.benchmark_only else 'test')
    runner = PreparedRunner.from_prepared(cfg, prepared)  # on the checked model and data
    if engine is not None:
        from hourglass_plugin.deploy import run_with_engine
        run_with_engine(runner.model, engine)
    if args.benchmark_only:
        # what runner.test() does before its loop: hooks that set up on before_run (EMA, ...)
        runner.call_hook('before_run')
        runner.load_or_resume()
        run_benchmark(runner, args, input_size)
        runner.call_hook('after_run')
        return
    runner.register_hook(TestProgressBarHook())
    print_metrics(runner.test())
    if args.benchmark:
        run_benchmark(runner, args, input_size)


if __name__ == '__main__':
    run_main(main)
