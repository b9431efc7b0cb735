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
comes from the config's dataset). The work is ``hourglass_plugin.apis.infer_images``.
"""
import hourglass_plugin  # noqa: F401  registrations and safe checkpoint loading
from hourglass_plugin import allocator, apis, cli
from hourglass_plugin.deploy.engines import BACKENDS, PRECISIONS


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


def main(args) -> None:
    allocator.apply(args.allocator)
    cfg = cli.load_config(args.config, args.cfg_options)
    apis.infer_images(cfg, args.checkpoint, args.image, bbox=args.bbox, out=args.out,
                      grid=args.grid, kpt_thr=args.kpt_thr, backend=args.backend,
                      precision=args.precision, device=cli.device_of(args))


if __name__ == '__main__':
    cli.run_main(main, parse_args)
