"""Test (evaluate) a checkpoint with an mmpose or mmdet config, and optionally benchmark it.

--out writes every prediction (with its ground truth) to a pickle file, through mmengine's
``DumpResults``. --amp evaluates under bf16 autocast (where the CPU has native bf16; --backend
pytorch). --backend onnxruntime / openvino: CHECKPOINT is a graph exported by tools/export.py
and the network runs in that engine; the data preprocessing, flip test, decoding and metrics
stay mmpose's (pose configs).

--benchmark runs after the evaluation, --benchmark-only instead of it: parameters, backbone
GMACs per image, throughput, latency p50/p90 and peak memory of the model's forward with the
checkpoint's weights, printed as a table and written to <work_dir>/benchmark.json
(``hourglass_plugin/model_benchmark.py`` says what is measured and how).
"""
import os.path as osp

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, cli
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS
from hourglass_plugin.errors import UsageError


def parse_args():
    parser = cli.tool_parser('Test (evaluate) a stacked hourglass model', cli.add_config,
                             cli.add_checkpoint, cli.add_work_dir, cli.add_cfg_options,
                             cli.add_launcher, cli.add_allocator)
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='what runs the network (default: pytorch)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='what the engine computes in: bf16 is an OpenVINO setting for the '
                        'same exported file (default fp32)')
    parser.add_argument('--amp', action='store_true',
                        help='evaluate the PyTorch model under bf16 autocast')
    parser.add_argument('--out', metavar='FILE.pkl',
                        help='write the predictions to this pickle file (mmengine DumpResults)')
    bench = parser.add_argument_group('benchmark')
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument('--benchmark', action='store_true',
                      help='benchmark the model after the evaluation')
    mode.add_argument('--benchmark-only', action='store_true',
                      help='benchmark the model without evaluating (needs no dataset)')
    bench.add_argument('--batch-size', type=int, default=1, help='images per timed forward')
    bench.add_argument('--repeats', type=int, default=20, help='timed forwards')
    bench.add_argument('--warmup', type=int, default=5, help='untimed forwards before')
    cli.add_shape(bench)
    args = parser.parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: the file must end in .pkl or .pickle')
    if args.precision != 'fp32' and args.backend == 'pytorch':
        parser.error(f'--precision {args.precision} is an engine setting; eager PyTorch '
                     'evaluates in bf16 with --amp')
    if args.amp and args.backend != 'pytorch':
        parser.error(f'--amp is eager PyTorch\'s bf16; --backend {args.backend} runs an engine')
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


def main(args) -> None:
    from hourglass_plugin.engine import TestProgressBarHook, use_amp_in_test
    from hourglass_plugin.model_benchmark import (benchmark_model, check_run_counts, format_table,
                                                  write_json)
    from hourglass_plugin.run import build_model, build_runner, input_size_from_config, prepare_run
    allocator.apply(args.allocator)
    benchmark = args.benchmark or args.benchmark_only
    if benchmark and args.launcher != 'none':
        # a benchmark times one process; several would compete for the same cores
        raise UsageError(f'--benchmark needs --launcher none, got --launcher {args.launcher}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = cli.load_config(args.config, args.cfg_options, args.work_dir, args.launcher,
                          args.local_rank)
    if args.amp:
        use_amp_in_test(cfg)
    if args.out is not None:
        dump = dict(type='DumpResults', out_file_path=args.out)
        evaluators = cfg.test_evaluator
        cfg.test_evaluator = [*evaluators, dump] if isinstance(evaluators, (list, tuple)) else [
            evaluators, dump]
    if benchmark:  # before anything slow: a config without an input size fails here
        input_size = input_size_from_config(cfg, args.shape)
        check_run_counts(args.batch_size, args.repeats, args.warmup)
    network_cfg = cfg
    if args.backend != 'pytorch':  # the network is the exported graph, its weights in it
        from hourglass_plugin.deploy import engine_model_config
        cfg = engine_model_config(cfg, args.checkpoint, args.backend, args.precision)
    # model, checkpoint (it must fit the model) and test data, before anything is written
    prepared = prepare_run(cfg, 'model' if args.benchmark_only else 'test',
                           checkpoint=args.checkpoint if args.backend == 'pytorch' else None)
    if args.backend != 'pytorch':
        print(f'{args.backend} computes in {prepared.model.backbone.precision}')
    if not args.benchmark_only:
        runner = build_runner(cfg, prepared)
        runner.register_hook(TestProgressBarHook())
        print_metrics(runner.test())
        work_dir = runner.work_dir
    else:
        work_dir = cfg.work_dir
    if benchmark:
        # an exported graph is counted (parameters, GMACs) on the config's PyTorch network
        counted = None if args.backend == 'pytorch' else build_model(network_cfg)
        result = benchmark_model(prepared.model, input_size, batch_size=args.batch_size,
                                 repeats=args.repeats, warmup=args.warmup, counted=counted)
        print(format_table(result))
        path = osp.join(work_dir, 'benchmark.json')
        write_json(result, path, config=args.config, checkpoint=args.checkpoint)
        print(f'benchmark written to {path}')


if __name__ == '__main__':
    cli.run_main(main, parse_args)
