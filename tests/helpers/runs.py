"""The long runs that tests check, as functions of a fresh directory: each runs tools in
processes of their own with one thread, so that conftest.py can make them in the background
(:mod:`helpers.background`) while other tests run, and the tests assert on what they left.

They parse no config on their thread: mmengine's ``Config.fromfile`` reloads ``pkg_resources``
(``mmengine.utils.is_installed``), which races with a parse in the main thread; what they need
of a config is read here, when the module is imported."""
import glob
import json
import os.path as osp
from typing import List, NamedTuple

from mmengine.config import Config

from .models import save_sample_head_boxes
from .paths import DEMO_64, IMAGE, OVERFIT, SHARED_DATA
from .processes import run_python, run_tool, succeeded

#: the last iteration of DEMO_64 and the last epoch of OVERFIT
DEMO_64_ITERS = Config.fromfile(DEMO_64).max_iters
OVERFIT_EPOCHS = Config.fromfile(OVERFIT).train_cfg.max_epochs


class DemoRun(NamedTuple):
    """The demo's network trained on rendered people, and exported."""

    #: the config it was trained with (helpers.paths.DEMO_64)
    config: str
    #: the rendered data set (train, val/test with head boxes)
    root: str
    #: the last checkpoint of the run
    checkpoint: str
    #: the checkpoint exported to ONNX (fp32, dynamic batch)
    onnx: str
    #: the --cfg-options that point the config at ``root``
    options: List[str]


def make_demo_run(directory: str) -> DemoRun:
    """DEMO_64 trained by tools/train.py on 1024 rendered people (seeded and deterministic, one
    thread) and exported by tools/export.py; 288 held-out people to evaluate on. Every step is a
    process of its own: this runs on a background thread (helpers.background)."""
    root = osp.join(directory, 'synthetic') + '/'
    succeeded(run_python('-c', 'import sys; from demo_kit import render_dataset; '
                         'render_dataset(sys.argv[1], num_train=1024, num_val=288, seed=0)',
                         root, threads=1))
    options = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    options += [f'{s}_dataloader.dataset.headbox_file={root}annotations/mpii_gt_val.mat'
                for s in ('val', 'test')]
    work = osp.join(directory, 'work')
    succeeded(run_tool('train.py', DEMO_64, '--work-dir', work, '--cfg-options', *options,
                       threads=1))
    checkpoint = osp.join(work, f'iter_{DEMO_64_ITERS}.pth')
    onnx = osp.join(directory, 'demo.onnx')
    succeeded(run_tool('export.py', DEMO_64, checkpoint, '--out', onnx, '--image', IMAGE,
                       '--cfg-options', *options, threads=1))
    return DemoRun(DEMO_64, root, checkpoint, onnx, options)


class ToolRun(NamedTuple):
    """A tool's run: where it ran and wrote, and its output."""

    directory: str
    returncode: int
    stdout: str
    stderr: str


def _tool_run(directory: str, tool: str, *args: str, cwd: str = None) -> ToolRun:
    result = run_tool(tool, *args, threads=1, **({'cwd': cwd} if cwd else {}))
    return ToolRun(directory, result.returncode, result.stdout, result.stderr)


def demo_flow(directory: str) -> ToolRun:
    """``python -m tools.demo`` on 32 + 16 rendered people, 4 iterations, 2 heatmap pictures."""
    return _tool_run(directory, 'demo.py', '--work-dir', osp.join(directory, 'demo'),
                     '--data-root', osp.join(directory, 'synthetic'), '--num-train', '32',
                     '--num-val', '16', '--num-heatmap-images', '2', '--cfg-options',
                     'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                     'model.backbone.stem.downsample_before=1')


def lsp_demo(directory: str) -> ToolRun:
    """``python -m tools.demo --dataset lsp`` on the release in ../shared/data/lsp (converted into
    ``data/lsp`` under ``directory``, its working directory), 4 iterations, 16 test photos;
    None where the release is not there."""
    if not osp.isdir(osp.join(SHARED_DATA, 'lsp')):
        return None
    return _tool_run(directory, 'demo.py', '--dataset', 'lsp', '--data-root',
                     osp.join(SHARED_DATA, 'lsp'), '--work-dir', osp.join(directory, 'demo_lsp'),
                     '--num-heatmap-images', '1', '--cfg-options', 'train_cfg.max_iters=4',
                     'train_cfg.val_interval=4', 'default_hooks.logger.interval=1',
                     'val_dataloader.dataset.indices=16', 'test_dataloader.dataset.indices=16',
                     cwd=directory)


def benchmark_tool_run(directory: str) -> ToolRun:
    """``python -m tools.benchmark --tiny``, one round of three scenarios, under both allocators."""
    return _tool_run(directory, 'benchmark.py', '--tiny', '--rounds', '1', '--scenarios',
                     'pose_train', 'pose_infer', 'hg104_train', '--out',
                     osp.join(directory, 'perf.json'))


def overfit_run(directory: str) -> dict:
    """``tools/train.py`` on the OVERFIT config (the 5 real MPII images, seeded), validated on
    the same images at the end: the validation's metrics."""
    head_boxes = save_sample_head_boxes(osp.join(directory, 'mpii_gt_val.mat'))
    work = osp.join(directory, 'work')
    succeeded(run_tool('train.py', OVERFIT, '--work-dir', work, '--cfg-options',
                       f'val_dataloader.dataset.headbox_file={head_boxes}', 'randomness.seed=0',
                       f'train_cfg.val_interval={OVERFIT_EPOCHS}', threads=1))
    (scalars, ) = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        return [r for r in map(json.loads, f) if 'PCK' in r][-1]
