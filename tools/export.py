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
"""
import os.path as osp
import re

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import cli


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
    from hourglass_plugin.deploy import is_pose_model
    from hourglass_plugin.deploy.checked_export import export_checked, first_test_image
    from hourglass_plugin.deploy.export import PARITY_TOLERANCE
    from hourglass_plugin.errors import ConfigError
    from hourglass_plugin.run import check_input_size, input_size_from_config, prepare_run
    cfg = cli.load_config(args.config, args.cfg_options)
    input_size = input_size_from_config(cfg, args.shape)
    image = cli.read_image(args.image or first_test_image(cfg))  # (H, W, 3) BGR
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    model = prepare_run(cfg, 'model', checkpoint=args.checkpoint).model.eval()
    check_input_size(model, input_size)
    calibration = None
    if args.precision == 'int8':  # before anything is written: a pose config, its training set
        if not is_pose_model(cfg.model):
            raise ConfigError(f'--precision int8 quantizes pose configs, calibrated on their '
                              f'training set; {args.config} is a detection config')
        from hourglass_plugin.deploy.quantize import pose_dataset, spread
        train_set = pose_dataset(cfg, 'train')
        calibration = (train_set, spread(args.calib_images, len(train_set)))
    print(f'exporting {args.config} with {args.checkpoint} at {input_size[0]}x{input_size[1]} '
          f'(batch {args.fixed_batch or "dynamic"}) ...', flush=True)
    report = export_checked(model, out, input_size, image, args.all_stacks, args.fixed_batch,
                            args.check_backend)
    print(f"{out}: outputs {', '.join(report['names'])}; {args.check_backend} vs PyTorch on "
          f"{args.image or 'the first test image'} and its mirror image: max|diff| "
          f"{report['max_abs_diff']:.2e} ({report['max_rel_diff']:.1e} of the output range, "
          f'tolerance {PARITY_TOLERANCE:g})')
    if 'keypoint_shift' in report:
        print(f"decoded keypoints (last stack): largest shift {report['keypoint_shift']:.2e} "
              'heatmap pixels')
    if calibration is not None:
        quantize(args, cfg, model, out, *calibration)


def quantize(args, cfg, model, onnx_path: str, train_set, indices) -> None:
    """INT8 IR beside ``onnx_path``, calibrated on ``indices`` of ``train_set``; compared with
    fp32 on held-out test crops."""
    from hourglass_plugin.deploy.quantize import (calibration_inputs, compare_int8,
                                                  quantize_to_openvino)
    out_xml = onnx_path[:-len('.onnx')] + '_int8.xml'
    print(f'quantizing to INT8 (NNCF), calibrated on {len(indices)} training crops ...',
          flush=True)
    quantize_to_openvino(onnx_path, calibration_inputs(model, train_set, indices), out_xml)
    result = compare_int8(cfg, onnx_path, out_xml, args.compare_images)
    key = next((k for k in result['fp32'] if re.fullmatch(r'(\w+/)?PCK(@[\d.]+)?', k)),
               next(iter(result['fp32'])))
    print(f"{out_xml}: INT8 vs fp32 on {result['num_images']} held-out test crops: keypoints "
          f"move {result['mean_shift_px']:.2f} px on average (at most "
          f"{result['max_shift_px']:.1f}); {key} fp32 {result['fp32'][key]:.2f}, "
          f"INT8 {result['int8'][key]:.2f}")


if __name__ == '__main__':
    cli.run_main(main, parse_args)
