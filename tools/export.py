"""Export a checkpoint's network to ONNX, checked against PyTorch on a real image.

    python tools/export.py CONFIG CHECKPOINT [--out MODEL.onnx] [--all-stacks]
                                             [--batch-size N] [--shape H W] [--image IMAGE]
                                             [--check-backend {onnxruntime,openvino}]
                                             [--precision {fp32,int8}] [--calib-images N]
                                             [--compare-images N] [--cfg-options k=v ...]
                                             [--debug]

The graph is the network between the data preprocessor and the decoding (see
``hourglass_plugin/deploy/export.py``): for a pose config the normalised image batch in and the
last stack's heatmaps out (every stack's with --all-stacks); for a detection config every stack's
backbone features. The batch size is dynamic unless --batch-size fixes it; the input size is the
config's codec input size (--shape for a config without one, e.g. detection).

The check: the image (--image, default the first image of the config's test set) resized to the
input size and its mirror image, normalised by the model's data preprocessor, go through the
exported graph in --check-backend and through the PyTorch model; the export is kept only when no
output differs by more than 1e-4 of its range (``PARITY_TOLERANCE``, justified there). For pose
the decoded keypoints of both are compared too. On a failed check nothing is left at --out.

--precision int8 (pose configs) then quantizes that graph with NNCF, calibrated on --calib-images
crops of the config's training set made by its test pipeline, into OpenVINO IR
(``MODEL_int8.xml``/``.bin`` beside MODEL.onnx; ``--backend openvino`` runs it), and compares INT8
with fp32 on --compare-images held-out crops of the test set: the mean keypoint shift in image
pixels and the config's test metric of both (``hourglass_plugin/deploy/quantize.py``).
"""
import argparse
import os
import os.path as osp
import re

import cv2
import torch
from mmengine.config import DictAction

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin.cli import read_image, run_main

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmpose or mmdet config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', help='ONNX file (default: the checkpoint\'s name with .onnx)')
    parser.add_argument('--all-stacks', action='store_true',
                        help="pose: every stack's heatmaps as outputs, not only the last one's")
    parser.add_argument('--batch-size', type=int,
                        help='a fixed batch size (default: dynamic)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: the codec input size of a pose config)')
    parser.add_argument('--image', help='real image for the parity check (default: the first '
                        "image of the config's test set)")
    parser.add_argument('--check-backend', choices=('onnxruntime', 'openvino'),
                        default='onnxruntime', help='engine that runs the parity check')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_dataloader.dataset.data_root=data/lsp/')
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


def first_test_image(cfg) -> str:
    """The first image (by name) in the test set's image folder of ``cfg``."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    folder = osp.join(dataset.get('data_root') or '',
                      (dataset.get('data_prefix') or {}).get('img', ''))
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)) \
        if osp.isdir(folder) else []
    if not names:
        raise FileNotFoundError(f'no image in the test set folder {folder or "(none)"} of the '
                                'config: give one with --image')
    return osp.join(folder, names[0])


def preprocess(model, image, input_size) -> torch.Tensor:
    """The image at the input size and its mirror image, through the model's data preprocessor
    (mmengine's ``ImgDataPreprocessor`` part of it, which mmpose's and mmdet's extend with what
    only concerns data samples): (2, 3, H, W)."""
    from mmengine.model import ImgDataPreprocessor
    height, width = input_size
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    inputs = [torch.from_numpy(img.copy()).permute(2, 0, 1) for img in
              (resized, resized[:, ::-1])]  # (3, H, W) uint8 BGR each
    with torch.no_grad():
        return ImgDataPreprocessor.forward(model.data_preprocessor, dict(inputs=inputs),
                                           False)['inputs']


def keypoint_shift(model, expected, got) -> float:
    """Largest distance, in heatmap pixels, between keypoints decoded from the two last-stack
    heatmaps by the head's codec (as mmpose decodes them)."""
    decoder = model.head.decoder
    worst = 0.0
    for e, g in zip(expected, got):  # (K, h, w) each
        kp_e, _ = decoder.decode(e.numpy())
        kp_g, _ = decoder.decode(g.numpy())
        worst = max(worst, float(abs(kp_e - kp_g).max()))
    return worst


def main() -> None:
    args = parse_args()
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            raise FileNotFoundError(f'{name} {getattr(args, name)} does not exist')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    from hourglass_plugin.perf.model_benchmark import input_size_from_config
    from hourglass_plugin.deploy import load_engine, parity
    from hourglass_plugin.deploy.export import (PARITY_TOLERANCE, ExportedNetwork, as_list,
                                                export_onnx, task_of)
    from hourglass_plugin.errors import ConfigError
    from hourglass_plugin.preflight import build_model, check_checkpoint, check_model

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    input_size = input_size_from_config(cfg, args.shape)
    image = read_image(args.image or first_test_image(cfg))  # (H, W, 3) BGR
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    if not out.endswith('.onnx'):
        raise ValueError(f'--out {out}: the exported file must end in .onnx')
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = build_model(cfg)
    check_model(model, cfg)
    backbone = getattr(model, 'backbone', None)
    if hasattr(backbone, 'check_input_size'):
        backbone.check_input_size(*input_size)
    # loaded once, and only if it fits the model exactly
    _load_checkpoint_to_model(model, check_checkpoint(model, args.checkpoint))
    model.eval()
    calibration = None
    if args.precision == 'int8':  # before anything is written: a pose config, its training set
        if task_of(model) != 'pose':
            raise ConfigError(f'--precision int8 quantizes pose configs, calibrated on their '
                              f'training set; {args.config} is a detection config')
        from hourglass_plugin.deploy.quantize import pose_dataset, spread
        train_set = pose_dataset(cfg, 'train')
        calibration = (train_set, spread(args.calib_images, len(train_set)))

    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    partial = out[:-len('.onnx')] + '.partial.onnx'
    print(f'exporting {args.config} with {args.checkpoint} at {input_size[0]}x{input_size[1]} '
          f'(batch {args.batch_size or "dynamic"}) ...', flush=True)
    try:
        names = export_onnx(model, partial, input_size, args.all_stacks, args.batch_size)
        x = preprocess(model, image, input_size)
        if args.batch_size:
            x = x[:1].expand(args.batch_size, -1, -1, -1).contiguous()
        with torch.no_grad():
            expected = as_list(ExportedNetwork(model, args.all_stacks)(x))
        got = load_engine(args.check_backend, partial)(x)
        check = parity(expected, got)
        if check['max_rel_diff'] > PARITY_TOLERANCE:
            raise ValueError(
                f'{out}: the exported graph in {args.check_backend} differs from PyTorch by '
                f"{check['max_abs_diff']:.3g} ({check['max_rel_diff']:.2e} of the output range, "
                f'more than {PARITY_TOLERANCE:g}); nothing was written')
        os.replace(partial, out)
    finally:
        if osp.exists(partial):
            os.remove(partial)
    print(f"{out}: outputs {', '.join(names)}; {args.check_backend} vs PyTorch on "
          f"{args.image or 'the first test image'} and its mirror image: max|diff| "
          f"{check['max_abs_diff']:.2e} ({check['max_rel_diff']:.1e} of the output range, "
          f'tolerance {PARITY_TOLERANCE:g})')
    if task_of(model) == 'pose':
        shift = keypoint_shift(model, expected[-1], got[-1])
        print(f'decoded keypoints (last stack): largest shift {shift:.2e} heatmap pixels')
    if calibration is not None:
        quantize(args, cfg, model, out, *calibration)


def quantize(args, cfg, model, onnx_path: str, train_set, indices) -> None:
    """INT8 IR beside ``onnx_path``, calibrated on ``indices`` of ``train_set``; compared with
    fp32 on held-out test crops."""
    from hourglass_plugin.deploy import load_engine
    from hourglass_plugin.deploy.quantize import (calibration_inputs, compare_int8,
                                                  quantize_to_openvino)
    out_xml = onnx_path[:-len('.onnx')] + '_int8.xml'
    print(f'quantizing to INT8 (NNCF), calibrated on {len(indices)} training crops ...',
          flush=True)
    quantize_to_openvino(onnx_path, calibration_inputs(model, train_set, indices), out_xml)
    result = compare_int8(model, cfg, load_engine('openvino', onnx_path),
                          load_engine('openvino', out_xml), args.compare_images)
    key = next((k for k in result['fp32'] if re.fullmatch(r'(\w+/)?PCK(@[\d.]+)?', k)),
               next(iter(result['fp32'])))
    print(f"{out_xml}: INT8 vs fp32 on {result['num_images']} held-out test crops: keypoints "
          f"move {result['mean_shift_px']:.2f} px on average (at most "
          f"{result['max_shift_px']:.1f}); {key} fp32 {result['fp32'][key]:.2f}, "
          f"INT8 {result['int8'][key]:.2f}")


if __name__ == '__main__':
    run_main(main)
