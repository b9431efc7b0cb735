"""Test (evaluate) a checkpoint with an mmpose or mmdet config, and optionally benchmark it.

--out writes every prediction (with its ground truth) to a pickle file, through mmengine's
``DumpResults``. --amp evaluates under bf16 autocast (where the CPU has native bf16; --backend
pytorch). --backend onnxruntime / openvino: CHECKPOINT is a graph exported by tools/export.py
and the network runs in that engine; the data preprocessing, flip test, decoding and metrics
stay mmpose's (pose configs).

--benchmark runs after the evaluation, --benchmark-only instead of it: parameters, backbone
GMACs per image, throughput, latency p50/p90 and peak memory of the model's forward with the
checkpoint's weights, printed as a table and written to <work_dir>/benchmark.json
(``hourglass_plugin/model_benchmark.py`` says what is measured and how). The work is
``hourglass_plugin.apis.test_model``.
"""
import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, apis, cli
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS


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
    if args.amp and args.backend != 'pytorch':
        parser.error(f'--amp is eager PyTorch\'s bf16; --backend {args.backend} runs an engine')
    return args


def main(args) -> None:
    allocator.apply(args.allocator)
    cfg = cli.load_config(args.config, args.cfg_options, args.work_dir, args.launcher,
                          args.local_rank)
    benchmark = None
    if args.benchmark or args.benchmark_only:
        benchmark = dict(shape=args.shape, batch_size=args.batch_size, repeats=args.repeats,
                         warmup=args.warmup)
    apis.test_model(cfg, args.checkpoint, backend=args.backend, precision=args.precision,
                    amp=args.amp, out=args.out, evaluate=not args.benchmark_only,
                    benchmark=benchmark)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
