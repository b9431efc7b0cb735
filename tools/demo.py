"""The main job (``make demo``; ``python -m tools.demo`` from the repository root): train and test
a stacked hourglass on the embedded synthetic MPII, or (``--dataset lsp --data-root LSP_RELEASE``)
on the real photos of Leeds Sports Pose.

1. renders the synthetic people in MPII's format into ``data/synthetic_mpii`` if missing
   (``python -m tools.make_synthetic_mpii``; deterministic by seed); for LSP, converts its release
   into mmpose's COCO-style files in ``data/lsp`` (tools/dataset_converters/lsp2coco.py) if
   missing,
2. trains the demo config through ``tools/train.py`` (mmengine Runner; re-running after a crash
   resumes from the last checkpoint), in fp32, or with ``--precision auto`` in bf16
   (``tools/train.py --amp``) where the CPU computes bf16 natively,
3. tests the best checkpoint with mmpose's ``MpiiPCKAccuracy`` and prints the PCKh table (LSP:
   ``TorsoPCKAccuracy``, PCK@0.2 and @0.1 of the torso),
4. writes pictures into the work dir: predicted skeletons over the test images (mmpose's
   visualizer) and a grid of them, per-joint heatmaps of each stack for a few images, the loss
   curve of every stack, and (LSP) the validation PCK against the training time.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

from hourglass_plugin import cli
from hourglass_plugin.checkpoint import atomic_write
from hourglass_plugin.visualization import tile_images

try:  # the repository's demo_kit/, importable from its root
    from demo_kit import (DEMO_CONFIG, NUM_TRAIN, NUM_VAL, latest_metric_curve, plot_loss_curves,
                          plot_metric_curve)
    from demo_kit.demo_data import make_data, make_lsp_data
    from demo_kit.demo_run import (best_checkpoint, options_dict, prepare_work_dir, run_fingerprint,
                                   run_options, trained_to_the_end)
    from demo_kit.report import draw_heatmaps, print_lsp_table, print_pckh_table
except ModuleNotFoundError as error:
    if error.name != 'demo_kit':
        raise
    sys.exit('error: run it from the repository root: python -m tools.demo')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

LSP_CONFIG = osp.join(REPO, 'configs', 'stacked_hourglass',
                      'td-hm_stacked-hourglass-hg2-f128_1xb16-6500it_lsp-128x128.py')


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
    parser.add_argument('--precision', choices=('fp32', 'auto', 'bf16'), default='fp32',
                        help='training precision (default fp32, what the results were measured '
                        'in); auto: bf16 autocast where the CPU computes bf16 natively (or on a '
                        'GPU), else fp32')
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


def step(message: str) -> None:
    print(f'\n=== {message}', flush=True)


def training_precision(choice: str) -> str:
    """'bf16' or 'fp32' for ``--precision choice``, said in one line with the reason."""
    import torch

    from hourglass_plugin.engine import cpu_has_native_bf16
    if choice != 'auto':
        print(f'precision: {choice} (--precision {choice})')
        return choice
    if torch.cuda.is_available():
        print('precision: bf16 (a GPU: mixed precision, tools/train.py --amp)')
        return 'bf16'
    if cpu_has_native_bf16():
        print('precision: bf16 (this CPU computes bf16 natively: avx512_bf16 or AMX; '
              'tools/train.py --amp)')
        return 'bf16'
    print('precision: fp32 (this CPU has no native bf16, which it would only emulate, slower)')
    return 'fp32'


def train(args: argparse.Namespace) -> None:
    """Train through tools/train.py; a crashed demo continues where it stopped."""
    from hourglass_plugin.errors import HourglassPluginError
    command = [sys.executable, osp.join(REPO, 'tools', 'train.py'), args.config,
               '--work-dir', args.work_dir, '--allocator', args.allocator]
    if training_precision(args.precision) == 'bf16':
        command.append('--amp')
    if prepare_work_dir(args.work_dir, run_fingerprint(args)):
        if trained_to_the_end(args):
            print(f'{args.work_dir} holds this run trained to its last iteration: nothing to '
                  'train')
            return
        command.append('--resume')
        print('resuming from the last checkpoint in', args.work_dir)
    command += ['--cfg-options', *run_options(args)]
    returncode = subprocess.run(command).returncode
    if returncode != 0:
        raise HourglassPluginError(f'training failed (tools/train.py exited with {returncode}); '
                                   'its message is above')


def test(args: argparse.Namespace, checkpoint: str):
    """(metrics, the tested model, the val dataset) of ``checkpoint``, prepared as every tool
    prepares a run (the checkpoint must fit the model); the predicted skeletons drawn into the
    work dir."""
    from mmengine.config import Config

    from hourglass_plugin.run import build_runner, prepare_run
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))  # test the model that was trained
    cfg.merge_from_dict({
        'default_hooks.visualization':
        dict(type='PoseVisualizationHook', enable=True, out_dir='predicted_skeletons'),
    })
    cfg.work_dir = args.work_dir
    runner = build_runner(cfg, prepare_run(cfg, 'test', checkpoint=checkpoint))
    metrics = runner.test()
    return metrics, runner.model, runner.test_loop.dataloader.dataset


def main(args: argparse.Namespace) -> None:
    from hourglass_plugin import allocator
    args.allocator = allocator.apply(args.allocator)  # here, and in the training process
    lsp = args.dataset == 'lsp'
    start = time.perf_counter()
    os.makedirs(args.work_dir, exist_ok=True)
    if lsp:
        step(f'1/4 data: Leeds Sports Pose from {args.data_root}')
        make_lsp_data(args)
    else:
        step(f'1/4 data: synthetic MPII, {args.num_train} train + {args.num_val} val, '
             f'seed {args.seed}')
        make_data(args)
    step(f'2/4 training {osp.relpath(args.config, REPO)} (work dir {args.work_dir})')
    train(args)
    trained = time.perf_counter()
    checkpoint = best_checkpoint(args.work_dir)
    step(f'3/4 testing {checkpoint}')
    metrics, model, dataset = test(args, checkpoint)
    step('4/4 pictures')
    curves = osp.join(args.work_dir, 'loss_curves.png')
    plot_loss_curves(args.work_dir, curves)
    heatmaps = draw_heatmaps(model, dataset, args.work_dir, args.num_heatmap_images)
    skeletons = sorted(glob.glob(osp.join(args.work_dir, '*', 'predicted_skeletons')))
    grid = osp.join(args.work_dir, 'skeletons_grid.jpg')
    if skeletons:
        tile_images(sorted(glob.glob(osp.join(skeletons[-1], '*')))[:12], grid)
    elapsed = time.perf_counter() - start
    metrics = {k.split('/', 1)[-1]: v for k, v in metrics.items()}
    if lsp:
        pck_curve = osp.join(args.work_dir, 'pck_curve.png')
        points = latest_metric_curve(args.work_dir, 'pck/PCK@0.2')
        if points:
            plot_metric_curve(points, pck_curve, 'PCK@0.2 (LSP validation split)',
                              'PCK@0.2 on the held-out training photos while training')
        print('\nPCK of the torso on the LSP test photos')
        print_lsp_table(metrics)
        print(f'\nPCK@0.2 against the training time: {pck_curve if points else "(no val)"}')
        summary = dict(pck_0_2=metrics['PCK@0.2'], pck_0_1=metrics['PCK@0.1'])
    else:
        print('\nPCKh on the held-out synthetic split')
        print_pckh_table(metrics)
        summary = dict(pckh_0_5=metrics['PCK'], pckh_0_1=metrics['PCK@0.1'])
    print(f'loss curves: {curves}')
    print(f'heatmaps of every stack: {", ".join(heatmaps)}')
    print(f'predicted skeletons: {skeletons[-1] if skeletons else "(none)"} (grid: {grid})')
    summary.update(seconds_total=round(elapsed, 1),
                   seconds_data_and_training=round(trained - start, 1), checkpoint=checkpoint)
    atomic_write(osp.join(args.work_dir, 'demo_summary.json'), json.dumps(summary, indent=2))
    headline = (f"PCK@0.2 = {metrics['PCK@0.2']:.2f}" if lsp else
                f"PCKh@0.5 = {metrics['PCK']:.2f}")
    print(f'demo finished in {elapsed / 60:.1f} min (data + training {(trained - start) / 60:.1f} '
          f'min): {headline}')


if __name__ == '__main__':
    cli.run_main(main, parse_args)
