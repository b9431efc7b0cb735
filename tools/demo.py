"""The main job (``make demo``): train and test a stacked hourglass on the embedded synthetic MPII,
or (``--dataset lsp --data-root LSP_RELEASE``) on the real photos of Leeds Sports Pose.

1. renders the synthetic people in MPII's format into ``data/synthetic_mpii`` if missing
   (tools/make_synthetic_mpii.py; deterministic by seed); for LSP, converts its release into
   mmpose's COCO-style files in ``data/lsp`` (tools/dataset_converters/lsp2coco.py) if missing,
2. trains the demo config through ``tools/train.py`` (mmengine Runner; re-running after a crash
   resumes from the last checkpoint),
3. tests the best checkpoint with mmpose's ``MpiiPCKAccuracy`` and prints the PCKh table (LSP:
   ``TorsoPCKAccuracy``, PCK@0.2 and @0.1 of the torso),
4. writes pictures into the work dir: predicted skeletons over the test images (mmpose's
   visualizer) and a grid of them, per-joint heatmaps of each stack for a few images, the loss
   curve of every stack, and (LSP) the test PCK against the training time.
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
#: TorsoPCKAccuracy's joint kinds on LSP, in the order of LSP's tables
LSP_ROWS = ('head_top', 'neck', 'shoulder', 'elbow', 'wrist', 'hip', 'knee', 'ankle')
LSP_CONFIG = osp.join(REPO, 'configs', 'stacked_hourglass',
                      'td-hm_stacked-hourglass-hg2-f128_1xb16-5000it_lsp-128x128.py')
#: where --dataset lsp writes the converted annotations (the LSP config's data_root)
LSP_CONVERTED = osp.join('data', 'lsp')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', choices=('synthetic', 'lsp'), default='synthetic',
                        help='synthetic: rendered offline (default); lsp: Leeds Sports Pose, '
                        'real photos, from --data-root')
    parser.add_argument('--config', help='default: the demo config, or the LSP config')
    parser.add_argument('--work-dir', help='default: work_dirs/demo or work_dirs/demo_lsp')
    parser.add_argument('--data-root', help='synthetic: where the images are rendered (default '
                        'data/synthetic_mpii); lsp: LSP as released (images/, joints.mat), or '
                        'a folder lsp2coco.py converted it into')
    parser.add_argument('--num-train', type=int, default=3000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the rendering of the data and the training (default 0)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to tools/train.py, e.g. train_cfg.max_iters=100')
    parser.add_argument('--num-heatmap-images', type=int, default=4)
    from hourglass_plugin.cli import add_allocator_argument
    add_allocator_argument(parser)
    args = parser.parse_args()
    from hourglass_plugin.demo import DEMO_CONFIG
    lsp = args.dataset == 'lsp'
    if lsp and args.data_root is None:
        parser.error('--dataset lsp needs --data-root: Leeds Sports Pose as released '
                     '(images/, joints.mat), from http://sam.johnson.io/research/lsp.html')
    args.config = args.config or (LSP_CONFIG if lsp else DEMO_CONFIG)
    args.work_dir = args.work_dir or osp.join('work_dirs', 'demo_lsp' if lsp else 'demo')
    args.data_root = args.data_root or osp.join('data', 'synthetic_mpii')
    return args


def options_dict(options: list) -> dict:
    """``['k=v', ...]`` parsed as ``--cfg-options`` is by mmengine's DictAction."""
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, options)
    return getattr(namespace, 'options', {})


def step(message: str) -> None:
    print(f'\n=== {message}', flush=True)


def make_lsp_data(args: argparse.Namespace) -> None:
    """Point ``args.data_root`` at LSP in mmpose's files: ``--data-root`` itself if it holds them,
    else ``data/lsp``, converted there from the release in ``--data-root`` unless done before."""
    def converted(root):
        return all(osp.isfile(osp.join(root, 'annotations', f'lsp_{split}.json'))
                   for split in ('train', 'test'))
    if converted(args.data_root):
        print(f'{args.data_root} holds LSP in mmpose\'s files: used as it is')
        return
    joints = osp.join(args.data_root, 'joints.mat')
    if not osp.isfile(joints):
        raise FileNotFoundError(f'--data-root {args.data_root} holds neither LSP as released '
                                '(joints.mat, images/) nor annotations/lsp_{train,test}.json')
    if converted(LSP_CONVERTED) and osp.getmtime(osp.join(
            LSP_CONVERTED, 'annotations', 'lsp_train.json')) >= osp.getmtime(joints):
        print(f'{LSP_CONVERTED} holds LSP converted: nothing to convert')
    else:
        command = [sys.executable, osp.join(REPO, 'tools', 'dataset_converters', 'lsp2coco.py'),
                   args.data_root, LSP_CONVERTED]
        if subprocess.run(command).returncode != 0:
            from hourglass_plugin.errors import DatasetError
            raise DatasetError(f'{args.data_root}: LSP could not be converted (message above)')
    args.data_root = LSP_CONVERTED


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
    if getattr(args, 'dataset', 'synthetic') == 'lsp':
        return roots + [f'randomness.seed={args.seed}'] + list(args.cfg_options)
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
    for name in (META_FILE, 'annotations/mpii_train.json', 'annotations/mpii_val.json',
                 'annotations/lsp_train.json', 'annotations/lsp_test.json'):
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


def trained_to_the_end(args: argparse.Namespace) -> bool:
    """Whether the work dir's last checkpoint is the run's last iteration (then resuming would
    only replay the data loader up to it, as mmengine's resume does)."""
    import re
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(options_dict(run_options(args)))
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        last = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(f.read().strip()))
    return bool(last) and osp.isfile(best_checkpoint(args.work_dir)) and \
        int(last.group(1)) >= cfg.train_cfg.get('max_iters', float('inf'))


def train(args: argparse.Namespace) -> None:
    """Train through tools/train.py; a crashed demo continues where it stopped."""
    from hourglass_plugin.errors import HourglassPluginError
    command = [sys.executable, osp.join(REPO, 'tools', 'train.py'), args.config,
               '--work-dir', args.work_dir, '--allocator', args.allocator]
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


def print_lsp_table(metrics: dict) -> None:
    print(f"{'joint':<10}{'PCK@0.2':>10}{'PCK@0.1':>10}")
    for row in LSP_ROWS + ('Mean', ):
        key = '' if row == 'Mean' else f'/{row}'
        print(f"{row:<10}{metrics[f'PCK@0.2{key}']:>10.2f}{metrics[f'PCK@0.1{key}']:>10.2f}")


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
    from hourglass_plugin.demo import plot_loss_curves, tile_images
    curves = osp.join(args.work_dir, 'loss_curves.png')
    plot_loss_curves(args.work_dir, curves)
    heatmaps = draw_heatmaps(args, model, dataset, args.work_dir)
    skeletons = sorted(glob.glob(osp.join(args.work_dir, '*', 'predicted_skeletons')))
    grid = osp.join(args.work_dir, 'skeletons_grid.jpg')
    if skeletons:
        tile_images(sorted(glob.glob(osp.join(skeletons[-1], '*')))[:12], grid)
    elapsed = time.perf_counter() - start
    metrics = {k.split('/', 1)[-1]: v for k, v in metrics.items()}
    if lsp:
        from hourglass_plugin.demo import latest_metric_curve, plot_metric_curve
        pck_curve = osp.join(args.work_dir, 'pck_curve.png')
        points = latest_metric_curve(args.work_dir, 'pck/PCK@0.2')
        if points:
            plot_metric_curve(points, pck_curve, 'PCK@0.2 (LSP test)',
                              'LSP test PCK@0.2 while training')
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
    with open(osp.join(args.work_dir, 'demo_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    headline = (f"PCK@0.2 = {metrics['PCK@0.2']:.2f}" if lsp else
                f"PCKh@0.5 = {metrics['PCK']:.2f}")
    print(f'demo finished in {elapsed / 60:.1f} min (data + training {(trained - start) / 60:.1f} '
          f'min): {headline}')


if __name__ == '__main__':
    from hourglass_plugin.cli import run_main
    run_main(main)
