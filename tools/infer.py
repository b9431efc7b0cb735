"""Estimate one person's pose in each image and draw the predicted skeleton.

    python tools/infer.py CONFIG CHECKPOINT IMAGE [IMAGE ...] [--bbox X1 Y1 X2 Y2]
                          [--out OUT] [--grid GRID.jpg] [--device DEVICE] [--kpt-thr THR]
                          [--backend {pytorch,onnxruntime,openvino}] [--precision {fp32,bf16}]
                          [--allocator {default,tuned}] [--debug]

A top-down model sees one person: the crop given by --bbox (pixels, x1 y1 x2 y2; one image only),
or the whole image without one. With one image --out is the drawing's file; with several it is
a directory (default: the current one), and --grid also tiles the drawings into one picture.
The model and its inference come from mmpose's API (init_model, inference_topdown), the drawing
from the config's PoseLocalVisualizer with the checkpoint's dataset meta (skeleton, colours).
Keypoints scored below --kpt-thr are not drawn.
With --backend onnxruntime / openvino, CHECKPOINT is a graph exported by tools/export.py that
runs the network; the crop, flip test, decoding and drawing stay mmpose's (the skeleton then
comes from the config's dataset).
"""
import argparse
import math
import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
import torch

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator
from hourglass_plugin.cli import add_allocator_argument, read_image, run_main
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='pose config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or the exported .onnx file '
                        'for --backend onnxruntime/openvino')
    parser.add_argument('image', nargs='+', help='input image file(s)')
    parser.add_argument('--bbox', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help="the person's box in pixels (default: the whole image)")
    parser.add_argument('--out', help='output image, or with several images a directory '
                        '(default: <image name>_pose<ext> in the current directory)')
    parser.add_argument('--grid', help='also tile the drawings into this image')
    parser.add_argument('--device', help='torch device (default: cuda:0 if available, else cpu)')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='draw keypoints (and links) scored at least this (default 0.3)')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='what runs the network (default: pytorch)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='what the engine computes in: bf16 is an OpenVINO setting for the '
                        'same exported file (default fp32)')
    add_allocator_argument(parser)
    return parser.parse_args()


def check_bbox(bbox: Optional[Sequence[float]], width: int, height: int) -> Optional[np.ndarray]:
    """``bbox`` as a (1, 4) xyxy array, after checking it is a box that overlaps the image."""
    if bbox is None:
        return None
    x1, y1, x2, y2 = bbox
    shown = ' '.join(f'{value:g}' for value in bbox)
    if not all(math.isfinite(value) for value in bbox):
        raise ValueError(f'--bbox {shown}: coordinates must be finite numbers')
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f'--bbox {shown}: needs x1 < x2 and y1 < y2 (x1 y1 x2 y2 in pixels)')
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise ValueError(f'--bbox {shown}: lies outside the {width}x{height} image')
    return np.array([bbox], dtype=np.float32)


def default_out(image_path: str) -> str:
    stem, ext = osp.splitext(osp.basename(image_path))
    return f'{stem}_pose{ext}'


def build_model(args: argparse.Namespace):
    """The model of ``args.config`` with ``args.checkpoint`` (checked to fit exactly) or, for
    an engine backend, with the exported graph running its network."""
    from mmpose.apis import init_model
    from hourglass_plugin.preflight import check_checkpoint
    if args.backend == 'pytorch':
        # built once by mmpose's API; the checkpoint loaded once, and only if it fits the model
        # exactly (mmengine alone loads non-strictly and only warns: another model's weights
        # would draw noise); its dataset meta (keypoint names, skeleton) as init_model takes it
        from mmengine.runner.checkpoint import _load_checkpoint_to_model
        device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
        model = init_model(args.config, None, device=device)
        checkpoint = check_checkpoint(model, args.checkpoint)
        _load_checkpoint_to_model(model, checkpoint)
        dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta')
        if dataset_meta is not None:
            model.dataset_meta = dataset_meta
        return model
    # the weights are in the exported graph, which runs on the CPU
    from hourglass_plugin.deploy import load_engine, run_with_engine
    engine = load_engine(args.backend, args.checkpoint, precision=args.precision)
    print(f'{args.backend} computes in {engine.precision}')
    model = init_model(args.config, None, device='cpu')
    width, height = model.head.decoder.input_size
    engine.check_input_size((height, width))
    run_with_engine(model, engine)
    return model


def draw(model, visualizer, image: np.ndarray, bboxes, out: str, kpt_thr: float) -> None:
    """Estimate the pose in ``image`` (BGR) and draw it into ``out``; print what was drawn."""
    from mmpose.apis import inference_topdown
    # the BGR array, not the path: the image is read once, and mmpose's pipeline expects BGR
    sample = inference_topdown(model, image, bboxes=bboxes, bbox_format='xyxy')[0]
    visualizer.add_datasample(
        'result', mmcv.bgr2rgb(image), data_sample=sample, draw_gt=False, draw_heatmap=False,
        draw_bbox=False, show=False, out_file=out, kpt_thr=kpt_thr)
    scores = sample.pred_instances.keypoint_scores[0]  # (K, )
    drawn = int((scores >= kpt_thr).sum())
    height, width = image.shape[:2]
    print(f'{out}: {width}x{height}, {drawn}/{len(scores)} keypoints scored >= {kpt_thr:g} '
          f'drawn (mean score {scores.mean():.3f})')
    if drawn == 0:
        print('no keypoint reached --kpt-thr: lower it to draw the predictions anyway')


def main() -> None:
    args = parse_args()
    allocator.apply(args.allocator)
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            raise FileNotFoundError(f'{name} {getattr(args, name)} does not exist')
    if args.precision != 'fp32' and args.backend == 'pytorch':
        raise ValueError(f'--precision {args.precision} is an engine setting: use it with '
                         '--backend openvino')
    if args.bbox is not None and len(args.image) > 1:
        raise ValueError(f'--bbox is one person\'s box: give one image, not {len(args.image)}')
    images = [read_image(path) for path in args.image]  # (H, W, 3) BGR; all checked first
    bboxes = check_bbox(args.bbox, images[0].shape[1], images[0].shape[0])
    if len(images) == 1:
        outs = [args.out or default_out(args.image[0])]
    else:
        out_dir = args.out or '.'
        os.makedirs(out_dir, exist_ok=True)
        outs = [osp.join(out_dir, default_out(path)) for path in args.image]

    # imported here so that argument errors above come before mmpose's import time
    from mmpose.registry import VISUALIZERS
    model = build_model(args)
    # the config's visualizer without its storage backends: the drawing goes to --out only
    visualizer = VISUALIZERS.build(dict(model.cfg.visualizer, vis_backends=None))
    visualizer.set_dataset_meta(model.dataset_meta)
    for image, out in zip(images, outs):
        draw(model, visualizer, image, bboxes, out, args.kpt_thr)
    if args.grid:
        from hourglass_plugin.demo import tile_images
        tile_images(outs, args.grid)
        print(f'{args.grid}: {len(outs)} drawings tiled')


if __name__ == '__main__':
    run_main(main)
