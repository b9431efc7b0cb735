"""The main job (``make demo``; ``python -m tools.demo`` from the repository root): train and test
a stacked hourglass on the embedded synthetic MPII, or (``--dataset lsp --data-root LSP_RELEASE``)
on the real photos of Leeds Sports Pose.

1. renders the synthetic people in MPII's format into ``data/synthetic_mpii`` if missing
   (``python -m tools.make_synthetic_mpii``; deterministic by seed); for LSP, converts its release
   into mmpose's COCO-style files in ``data/lsp`` (tools/dataset_converters/lsp2coco.py) if
   missing,
2. trains the demo config through ``tools/train.py`` (mmengine Runner; re-running after a crash
   resumes from the last checkpoint), in bf16 (``tools/train.py --amp``) where the CPU computes
   bf16 natively and a probe measures it faster than fp32, else in fp32 (``--precision auto``,
   the default; one line says which and why),
3. tests the best checkpoint with mmpose's ``MpiiPCKAccuracy`` and prints the PCKh table (LSP:
   ``TorsoPCKAccuracy``, PCK@0.2 and @0.1 of the torso),
4. writes pictures into the work dir: predicted skeletons over the test images (mmpose's
   visualizer) and a grid of them, per-joint heatmaps of each stack for a few images, the loss
   curve of every stack, and (LSP) the validation PCK against the training time.
"""
import argparse
import os.path as osp
import sys

from hourglass_plugin import cli

try:  # the repository's demo_kit/, importable from its root
    from demo_kit import DEMO_CONFIG, NUM_TRAIN, NUM_VAL
    from demo_kit.demo import run_demo
except ModuleNotFoundError as error:
    if error.name != 'demo_kit':
        raise
    sys.exit('error: run it from the repository root: python -m tools.demo')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

LSP_CONFIG = osp.join(REPO, 'configs', 'stacked_hourglass',
                      'td-hm_stacked-hourglass-hg2-f128_1xb16-8700it_lsp-128x128.py')


def parse_args() -> argparse.Namespace:
    parser = cli.tool_parser(__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', choices=('synthetic', 'lsp'), default='synthetic',
                        help='synthetic: rendered offline (default); lsp: Leeds Sports Pose, '
                        'real photos, from --data-root')
    parser.add_argument('--config', help='default: the demo config, or the LSP config')
    parser.add_argument('--work-dir', help='default: work_dirs/demo or work_dirs/demo_lsp')
    parser.add_argument('--data-root', help='synthetic: where the images are rendered (default '
                        'data/synthetic_mpii); lsp: LSP as released (images/, joints.mat), or '
                        'a folder lsp2coco.py converted it into')
    parser.add_argument('--num-train', type=int, default=NUM_TRAIN)
    parser.add_argument('--num-val', type=int, default=NUM_VAL)
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the rendering of the data and the training (default 0)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py, e.g. train_cfg.max_iters=100')
    parser.add_argument('--num-heatmap-images', type=int, default=4)
    parser.add_argument('--precision', choices=('auto', 'fp32', 'bf16'), default='auto',
                        help='training precision; auto (default): bf16 autocast on a GPU, or '
                        'where the CPU computes bf16 natively and a short probe measures it '
                        'faster than fp32; else fp32')
    cli.add_allocator(parser)
    args = parser.parse_args()
    lsp = args.dataset == 'lsp'
    if lsp and args.data_root is None:
        parser.error('--dataset lsp needs --data-root: Leeds Sports Pose as released '
                     '(images/, joints.mat), from http://sam.johnson.io/research/lsp.html')
    args.config = args.config or (LSP_CONFIG if lsp else DEMO_CONFIG)
    args.work_dir = args.work_dir or osp.join('work_dirs', 'demo_lsp' if lsp else 'demo')
    args.data_root = args.data_root or osp.join('data', 'synthetic_mpii')
    return args


def main(args: argparse.Namespace) -> None:
    run_demo(args)


if __name__ == '__main__':
    cli.run_main(main, parse_args)
