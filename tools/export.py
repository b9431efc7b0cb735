"""Export a checkpoint's network to ONNX, checked against PyTorch on a real image.

The graph is the network between the data preprocessor and the decoding
(``hourglass_plugin/deploy/export.py``): for a pose config the normalised image batch in and the
last stack's heatmaps out (every stack's with --all-stacks); for a detection config every stack's
backbone features. The batch size is dynamic unless --fixed-batch sets it; the input size is the
config's codec input size (--shape for a config without one, e.g. detection). The export is kept
only when the graph, run in --check-backend on --image (default: the first image of the config's
test set) and its mirror image, computes what PyTorch computes
(``hourglass_plugin/deploy/checked_export.py``).

--precision int8 (pose configs) then quantizes that graph with NNCF, calibrated on --calib-images
crops of the config's training set made by its test pipeline, into OpenVINO IR
(``MODEL_int8.xml``/``.bin`` beside MODEL.onnx; ``--backend openvino`` runs it), and compares INT8
with fp32 on --compare-images held-out crops of the test set: the mean keypoint shift in image
pixels and the config's test metric of both (``hourglass_plugin/deploy/quantize.py``).
The work is ``hourglass_plugin.apis.export_model``.
"""
import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import apis, cli


def parse_args():
    parser = cli.tool_parser('Export a checkpoint\'s network to ONNX, checked against PyTorch',
                             cli.add_config, cli.add_checkpoint, cli.add_cfg_options,
                             cli.add_shape)
    parser.add_argument('--out', help='ONNX file (default: the checkpoint\'s name with .onnx)')
    parser.add_argument('--all-stacks', action='store_true',
                        help="pose: every stack's heatmaps as outputs, not only the last one's")
    parser.add_argument('--fixed-batch', type=int, metavar='N',
                        help='a fixed batch size for the graph (default: dynamic)')
    parser.add_argument('--image', help='real image for the parity check (default: the first '
                        "image of the config's test set)")
    parser.add_argument('--check-backend', choices=('onnxruntime', 'openvino'),
                        default='onnxruntime', help='engine that runs the parity check')
    parser.add_argument('--precision', choices=('fp32', 'int8'), default='fp32',
                        help='int8: also quantize to OpenVINO IR with NNCF (pose configs)')
    parser.add_argument('--calib-images', type=int, default=32,
                        help='int8: training crops to calibrate on (default 32)')
    parser.add_argument('--compare-images', type=int, default=200,
                        help='int8: held-out test crops to compare INT8 with fp32 on '
                        '(default 200)')
    args = parser.parse_args()
    for name in ('calib_images', 'compare_images'):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, "
                         f'got {getattr(args, name)}')
    return args


def main(args) -> None:
    cfg = cli.load_config(args.config, args.cfg_options)
    apis.export_model(cfg, args.checkpoint, out=args.out, shape=args.shape, image=args.image,
                      all_stacks=args.all_stacks, fixed_batch=args.fixed_batch,
                      check_backend=args.check_backend, precision=args.precision,
                      calib_images=args.calib_images, compare_images=args.compare_images)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
