"""Estimate one person's pose in each image and draw the predicted skeleton.

A top-down model sees one person: the crop given by --bbox (pixels, x1 y1 x2 y2; one image only),
or the whole image without one. With one image --out is the drawing's file; with several it is
a directory (default: the current one), and --grid also tiles the drawings into one picture.
The model is prepared as every tool prepares it (``hourglass_plugin.run.prepare_run``: the
checkpoint must fit it), its inference is mmpose's (``inference_topdown``), the drawing the
config's PoseLocalVisualizer with the checkpoint's dataset meta (skeleton, colours).
Keypoints scored below --kpt-thr are not drawn.
With --backend onnxruntime / openvino, CHECKPOINT is a graph exported by tools/export.py that
runs the network; the crop, flip test, decoding and drawing stay mmpose's (the skeleton then
comes from the config's dataset).
"""
import math
import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np

import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, cli
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS
from hourglass_plugin.errors import UsageError


def parse_args():
    parser = cli.tool_parser(__doc__.split('\n\n')[0], cli.add_config, cli.add_checkpoint,
                             cli.add_cfg_options, cli.add_device, cli.add_allocator)
    parser.add_argument('image', nargs='+', help='input image file(s)')
    parser.add_argument('--bbox', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help="the person's box in pixels (default: the whole image)")
    parser.add_argument('--out', help='output image, or with several images a directory '
                        '(default: <image name>_pose<ext> in the current directory)')
    parser.add_argument('--grid', help='also tile the drawings into this image')
    parser.add_argument('--kpt-thr', type=float, default=0.3,
                        help='draw keypoints (and links) scored at least this (default 0.3)')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='what runs the network (default: pytorch)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='what the engine computes in: bf16 is an OpenVINO setting for the '
                        'same exported file (default fp32)')
    return parser.parse_args()


def check_bbox(bbox: Optional[Sequence[float]], width: int, height: int) -> Optional[np.ndarray]:
    """``bbox`` as a (1, 4) xyxy array, after checking it is a box that overlaps the image."""
    if bbox is None:
        return None
    x1, y1, x2, y2 = bbox
    shown = ' '.join(f'{value:g}' for value in bbox)
    if not all(math.isfinite(value) for value in bbox):
        raise UsageError(f'--bbox {shown}: coordinates must be finite numbers')
    if x2 <= x1 or y2 <= y1:
        raise UsageError(f'--bbox {shown}: needs x1 < x2 and y1 < y2 (x1 y1 x2 y2 in pixels)')
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise UsageError(f'--bbox {shown}: lies outside the {width}x{height} image')
    return np.array([bbox], dtype=np.float32)


def default_out(image_path: str) -> str:
    stem, ext = osp.splitext(osp.basename(image_path))
    return f'{stem}_pose{ext}'


def build_model(args, cfg):
    """The model of ``cfg``, prepared as every tool prepares it, with ``args.checkpoint`` (it
    must fit the model) or, for an engine backend, built with the exported graph as its network
    (``ExportedGraph``); then what mmpose's ``init_model`` attaches for inference (the config,
    the dataset meta)."""
    from mmpose.apis.inference import dataset_meta_from_config

    from hourglass_plugin.run import prepare_run
    engine = args.backend != 'pytorch'
    if engine:  # the network is the exported graph, its weights in it, run on the CPU
        from hourglass_plugin.deploy import engine_model_config
        cfg = engine_model_config(cfg, args.checkpoint, args.backend, args.precision)
    cfg.model.train_cfg = None  # as init_model: an inference model
    prepared = prepare_run(cfg, 'model', checkpoint=None if engine else args.checkpoint)
    model = prepared.model
    model.cfg = cfg
    model.dataset_meta = ((prepared.checkpoint or {}).get('meta') or {}).get(
        'dataset_meta') or dataset_meta_from_config(cfg, dataset_mode='train')
    if engine:
        print(f'{args.backend} computes in {model.backbone.precision}')
        return model.eval()
    return model.to(cli.device_of(args)).eval()


def draw(model, visualizer, image: np.ndarray, bboxes, out: str, kpt_thr: float) -> None:
    """Estimate the pose in ``image`` (BGR) and draw it into ``out``; print what was drawn."""
    from mmpose.apis import inference_topdown

    from hourglass_plugin.visualization import write_image

    # the BGR array, not the path: the image is read once, and mmpose's pipeline expects BGR
    sample = inference_topdown(model, image, bboxes=bboxes, bbox_format='xyxy')[0]
    visualizer.add_datasample(
        'result', mmcv.bgr2rgb(image), data_sample=sample, draw_gt=False, draw_heatmap=False,
        draw_bbox=False, show=False, kpt_thr=kpt_thr)
    write_image(out, mmcv.rgb2bgr(visualizer.get_image()))
    scores = sample.pred_instances.keypoint_scores[0]  # (K, )
    drawn = int((scores >= kpt_thr).sum())
    height, width = image.shape[:2]
    print(f'{out}: {width}x{height}, {drawn}/{len(scores)} keypoints scored >= {kpt_thr:g} '
          f'drawn (mean score {scores.mean():.3f})')
    if drawn == 0:
        print('no keypoint reached --kpt-thr: lower it to draw the predictions anyway')


def main(args) -> None:
    allocator.apply(args.allocator)
    if args.precision != 'fp32' and args.backend == 'pytorch':
        raise UsageError(f'--precision {args.precision} is an engine setting: use it with '
                         '--backend openvino')
    if args.bbox is not None and len(args.image) > 1:
        raise UsageError(f'--bbox is one person\'s box: give one image, not {len(args.image)}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = cli.load_config(args.config, args.cfg_options)
    images = [cli.read_image(path) for path in args.image]  # (H, W, 3) BGR; all checked first
    bboxes = check_bbox(args.bbox, images[0].shape[1], images[0].shape[0])
    if bboxes is None:
        print("no --bbox: each whole image is the person's box (a photo framed on one person, "
              'as LSP\'s are)')
    if len(images) == 1:
        outs = [args.out or default_out(args.image[0])]
    else:
        out_dir = args.out or '.'
        os.makedirs(out_dir, exist_ok=True)
        outs = [osp.join(out_dir, default_out(path)) for path in args.image]

    # imported here so that argument errors above come before mmpose's import time
    from mmpose.registry import VISUALIZERS
    model = build_model(args, cfg)
    # the config's visualizer without its storage backends: the drawing goes to --out only
    visualizer = VISUALIZERS.build(dict(model.cfg.visualizer, vis_backends=None))
    visualizer.set_dataset_meta(model.dataset_meta)
    for image, out in zip(images, outs):
        draw(model, visualizer, image, bboxes, out, args.kpt_thr)
    if args.grid:
        from hourglass_plugin.visualization import tile_images
        tile_images(outs, args.grid)
        print(f'{args.grid}: {len(outs)} drawings tiled')


if __name__ == '__main__':
    cli.run_main(main, parse_args)
