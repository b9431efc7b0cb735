"""The demo's four steps (``python -m tools.demo``): the data, the training through
``tools/train.py`` (a crashed demo resumes), the test of the best checkpoint, the pictures."""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

from hourglass_plugin.checkpoint import atomic_write
from hourglass_plugin.visualization import tile_images
from .demo_data import make_data, make_lsp_data
from .demo_run import (best_checkpoint, options_dict, prepare_work_dir, run_fingerprint,
                       run_options, trained_to_the_end)
from .loss_curves import plot_loss_curves
from .metric_curve import latest_metric_curve, plot_metric_curve
from .report import draw_heatmaps, print_lsp_table, print_pckh_table

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def step(message: str) -> None:
    print(f'\n=== {message}', flush=True)


def training_precision(choice: str) -> str:
    """'bf16' or 'fp32' for ``--precision choice``, said in one line with the reason (for
    ``auto``, the faster of the two here: :func:`hourglass_plugin.engine.amp_precision`)."""
    from hourglass_plugin.engine import amp_precision
    if choice != 'auto':
        print(f'precision: {choice} (--precision {choice})')
        return choice
    precision, reason = amp_precision()
    print(f'precision: {precision} ({reason})')
    return precision


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


def run_demo(args: argparse.Namespace) -> None:
    """Data, training, test and pictures, as ``python -m tools.demo`` describes them."""
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
