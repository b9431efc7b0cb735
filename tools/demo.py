"""The main job (``make demo``): train and test a stacked hourglass on the embedded synthetic MPII.

1. renders the synthetic people in MPII's format into ``data/synthetic_mpii`` if missing
   (tools/make_synthetic_mpii.py; deterministic by seed),
2. trains the demo config through ``tools/train.py`` (mmengine Runner; re-running after a crash
   resumes from the last checkpoint),
3. tests the best checkpoint with mmpose's ``MpiiPCKAccuracy`` and prints the PCKh table,
4. writes pictures into the work dir: predicted skeletons over the test images (mmpose's
   visualizer), per-joint heatmaps of each stack for a few images, the loss curve of every stack.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: MpiiPCKAccuracy's keys, in the order of the paper's tables
PCKH_ROWS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    from hourglass_plugin.demo import DEMO_CONFIG
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--data-root', default=osp.join('data', 'synthetic_mpii'))
    parser.add_argument('--num-train', type=int, default=3000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the rendering of the data and the training (default 0)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py, e.g. train_cfg.max_iters=100')
    parser.add_argument('--num-heatmap-images', type=int, default=4)
    from hourglass_plugin.cli import add_allocator_argument
    add_allocator_argument(parser)
    return parser.parse_args()


def options_dict(options: list) -> dict:
    """``['k=v', ...]`` parsed as ``--cfg-options`` is by mmengine's DictAction."""
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, options)
    return getattr(namespace, 'options', {})


def step(message: str) -> None:
    print(f'\n=== {message}', flush=True)


def make_data(args: argparse.Namespace) -> None:
    """Render the synthetic set into ``--data-root`` unless it is there already, or unless the
    root holds a dataset of the user's own (MPII json without our meta file): that one is used as
    it is and nothing in it is written."""
    from hourglass_plugin.demo import META_FILE, is_complete, render_dataset
    own = [osp.join(args.data_root, 'annotations', f'mpii_{split}.json')
           for split in ('train', 'val')]
    if any(osp.isfile(path) for path in own) and not osp.isfile(
            osp.join(args.data_root, META_FILE)):
        missing = [path for path in own + [osp.join(args.data_root, 'annotations',
                                                    'mpii_gt_val.mat')] if not osp.isfile(path)]
        if missing:
            raise FileNotFoundError(
                f'{args.data_root} holds a dataset that tools/demo.py did not render, but not '
                f'all of it: missing {", ".join(missing)}')
        print(f'{args.data_root} holds a dataset of your own (no {META_FILE}): used as it is')
        return
    if is_complete(args.data_root, args.num_train, args.num_val, args.seed):
        print(f'{args.data_root} is complete (seed {args.seed}): nothing to render')
        return
    start = time.perf_counter()
    summary = render_dataset(args.data_root, args.num_train, args.num_val, seed=args.seed)
    print(f"rendered {summary['num_train']} train + {summary['num_val']} val images into "
          f'{args.data_root} in {time.perf_counter() - start:.1f} s')


def run_options(args: argparse.Namespace) -> list:
    """``--cfg-options`` that point every split at ``--data-root`` and seed the training with
    ``--seed`` (so a repeat of the demo trains alike), then the user's own."""
    root = f'{args.data_root}/'
    roots = [f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'val', 'test')]
    head_boxes = [f'{split}_dataloader.dataset.headbox_file={root}annotations/mpii_gt_val.mat'
                  for split in ('val', 'test')]
    return roots + head_boxes + [f'randomness.seed={args.seed}'] + list(args.cfg_options)


def run_fingerprint(args: argparse.Namespace) -> dict:
    """What makes a training run the same one: the whole config as trained (options merged) and
    the data it reads (the renderer's meta file, or the annotation files' sizes and times)."""
    import hashlib
    from mmengine.config import Config
    from hourglass_plugin.demo import META_FILE
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))
    data = {}
    for name in (META_FILE, 'annotations/mpii_train.json', 'annotations/mpii_val.json'):
        path = osp.join(args.data_root, name)
        if osp.isfile(path):
            data[name] = [os.path.getsize(path), os.path.getmtime(path)]
    return dict(config=args.config,
                config_sha256=hashlib.sha256(cfg.pretty_text.encode()).hexdigest(), data=data)


def prepare_work_dir(work_dir: str, fingerprint: dict) -> bool:
    """Whether to resume: yes if ``work_dir`` holds a checkpoint of the same run (see
    :func:`run_fingerprint`); a work dir left by another config or other data is moved aside to
    ``WORK_DIR.<time>`` (nothing deleted). Records the fingerprint of this run in it."""
    stamp = osp.join(work_dir, 'demo_run.json')
    resume = False
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        previous = None
        if osp.isfile(stamp):
            with open(stamp) as f:
                previous = json.load(f)
        if previous == fingerprint:
            resume = True
        else:
            moved = f"{work_dir.rstrip('/')}.{time.strftime('%Y%m%d_%H%M%S')}"
            os.rename(work_dir, moved)
            print(f'{work_dir} held a run of another config or other data: moved to {moved}')
    os.makedirs(work_dir, exist_ok=True)
    with open(stamp, 'w') as f:
        json.dump(fingerprint, f, indent=2)
    return resume


def train(args: argparse.Namespace) -> None:
    """Train through tools/train.py; a crashed demo continues where it stopped."""
    from hourglass_plugin.errors import HourglassPluginError
    command = [sys.executable, osp.join(REPO, 'tools', 'train.py'), args.config,
               '--work-dir', args.work_dir, '--allocator', args.allocator]
    if prepare_work_dir(args.work_dir, run_fingerprint(args)):
        command.append('--resume')
        print('resuming from the last checkpoint in', args.work_dir)
    command += ['--cfg-options', *run_options(args)]
    returncode = subprocess.run(command).returncode
    if returncode != 0:
        raise HourglassPluginError(f'training failed (tools/train.py exited with {returncode}); '
                                   'its message is above')


def best_checkpoint(work_dir: str) -> str:
    best = sorted(glob.glob(osp.join(work_dir, 'best_PCK_*.pth')), key=osp.getmtime)
    if best:
        return best[-1]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test(args: argparse.Namespace, checkpoint: str):
    """(metrics, the tested model, the val dataset) of ``checkpoint``, through mmengine's
    Runner; the predicted skeletons drawn into the work dir."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))  # test the model that was trained
    cfg.merge_from_dict({
        'default_hooks.visualization':
        dict(type='PoseVisualizationHook', enable=True, out_dir='predicted_skeletons'),
    })
    cfg.work_dir = args.work_dir
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    return metrics, runner.model, runner.test_loop.dataloader.dataset


def print_pckh_table(metrics: dict) -> None:
    print(f"{'joint':<10}{'PCKh@0.5':>10}")
    for row in PCKH_ROWS:
        print(f'{row:<10}{metrics[f"{row} PCK"]:>10.2f}')
    print(f"{'Mean':<10}{metrics['PCK']:>10.2f}")
    print(f"{'Mean@0.1':<10}{metrics['PCK@0.1']:>10.2f}")


def draw_heatmaps(args: argparse.Namespace, model, dataset, out_dir: str) -> list:
    """Per-stack, per-joint heatmaps of the first val images, as the network saw them."""
    import cv2
    import torch
    from mmengine.dataset import pseudo_collate
    from hourglass_plugin.demo import draw_stack_heatmaps
    model.eval()
    names = [dataset.metainfo['keypoint_id2name'][i]
             for i in range(dataset.metainfo['num_keypoints'])]
    mean = model.data_preprocessor.mean.view(-1).numpy()
    std = model.data_preprocessor.std.view(-1).numpy()
    written = []
    for index in range(min(args.num_heatmap_images, len(dataset))):
        batch = model.data_preprocessor(pseudo_collate([dataset[index]]), False)
        with torch.no_grad():
            stacks = model(batch['inputs'], None, mode='tensor')  # num_stacks x (1, K, h, w)
        crop = batch['inputs'][0].permute(1, 2, 0).numpy() * std + mean  # (H, W, 3) RGB
        crop = cv2.cvtColor(crop.clip(0, 255).astype('uint8'), cv2.COLOR_RGB2BGR)
        picture = draw_stack_heatmaps(crop, [s[0] for s in stacks], names)
        name = osp.splitext(osp.basename(batch['data_samples'][0].img_path))[0]
        out_file = osp.join(out_dir, f'heatmaps_{name}.png')
        cv2.imwrite(out_file, picture)
        written.append(out_file)
    return written


def main() -> None:
    args = parse_args()
    from hourglass_plugin import allocator
    args.allocator = allocator.apply(args.allocator)  # here, and in the training process
    start = time.perf_counter()
    os.makedirs(args.work_dir, exist_ok=True)
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
    from hourglass_plugin.demo import plot_loss_curves
    curves = osp.join(args.work_dir, 'loss_curves.png')
    plot_loss_curves(args.work_dir, curves)
    heatmaps = draw_heatmaps(args, model, dataset, args.work_dir)
    skeletons = sorted(glob.glob(osp.join(args.work_dir, '*', 'predicted_skeletons')))
    elapsed = time.perf_counter() - start
    metrics = {k.split('/')[-1]: v for k, v in metrics.items()}
    print('\nPCKh on the held-out synthetic split')
    print_pckh_table(metrics)
    print(f'\nloss curves: {curves}')
    print(f'heatmaps of every stack: {", ".join(heatmaps)}')
    print(f'predicted skeletons: {skeletons[-1] if skeletons else "(none)"}')
    summary = dict(pckh_0_5=metrics['PCK'], pckh_0_1=metrics['PCK@0.1'],
                   seconds_total=round(elapsed, 1),
                   seconds_data_and_training=round(trained - start, 1), checkpoint=checkpoint)
    with open(osp.join(args.work_dir, 'demo_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'demo finished in {elapsed / 60:.1f} min (data + training {(trained - start) / 60:.1f} '
          f"min): PCKh@0.5 = {metrics['PCK']:.2f}")


if __name__ == '__main__':
    from hourglass_plugin.cli import run_main
    run_main(main)
