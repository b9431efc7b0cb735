"""Fixtures the test modules share. The expensive ones (a trained and exported model) are made
once a session; helpers that are not fixtures are in the ``helpers`` package beside this file."""
import os.path as osp
from typing import List, NamedTuple

import pytest
import torch

import hourglass_plugin  # noqa: F401  registrations and safe loading, as in every real use
from helpers.models import save_sample_head_boxes, save_tiny_checkpoint
from helpers.paths import DEMO, IMAGE
from helpers.processes import run_tool, succeeded


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture()
def one_thread():
    """One intra-op thread for in-process training of a tiny model, as the subprocesses run
    (OMP_NUM_THREADS=1): on a busy 2-core machine two OpenMP threads spin waiting for each other
    and a tiny model trains many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_checkpoint(tmp_path_factory) -> str:
    """Seeded random weights of the tiny config's model, in mmengine's layout (not to be
    changed by a test)."""
    return save_tiny_checkpoint(str(tmp_path_factory.mktemp('tiny') / 'tiny.pth'))


@pytest.fixture(scope='session')
def sample_head_boxes(tmp_path_factory) -> str:
    """``mpii_gt_val.mat`` of the 5 sample images (not to be changed by a test)."""
    return save_sample_head_boxes(str(tmp_path_factory.mktemp('headboxes') / 'mpii_gt_val.mat'))


class DemoRun(NamedTuple):
    """The demo's config trained on a small rendering of its synthetic data, and exported."""

    #: the rendered data set (train, val/test with head boxes)
    root: str
    #: the last checkpoint of the run
    checkpoint: str
    #: the checkpoint exported to ONNX (fp32, dynamic batch)
    onnx: str
    #: the --cfg-options that point the config at ``root`` without loader workers
    options: List[str]


#: iterations of the shared demo run: past the config's warm-up (100), into peaked heatmaps
DEMO_ITERS = 300


@pytest.fixture(scope='session')
def demo_run(tmp_path_factory) -> DemoRun:
    """The demo config trained ``DEMO_ITERS`` iterations by tools/train.py on 64 rendered people
    and exported by tools/export.py; 96 held-out people to evaluate on. Seeded and deterministic
    through the config's ``randomness``, loaded without worker processes: the same checkpoint at
    every run on a machine (tests/test_crash_recovery.py checks that a seeded run repeats)."""
    from demo_kit import render_dataset
    tmp = tmp_path_factory.mktemp('demo')
    root = str(tmp / 'synthetic') + '/'
    render_dataset(root, num_train=64, num_val=96, seed=0)
    options = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    options += [f'{s}_dataloader.dataset.headbox_file={root}annotations/mpii_gt_val.mat'
                for s in ('val', 'test')]
    options += [f'{s}_dataloader.{key}' for s in ('train', 'val', 'test')
                for key in ('num_workers=0', 'persistent_workers=False')]
    work = str(tmp / 'work')
    succeeded(run_tool('train.py', DEMO, '--work-dir', work, '--cfg-options',
                       f'train_cfg.max_iters={DEMO_ITERS}', 'train_cfg.val_interval=100000',
                       'randomness.seed=0', 'randomness.deterministic=True', *options,
                       threads=2))
    checkpoint = osp.join(work, f'iter_{DEMO_ITERS}.pth')
    onnx = str(tmp / 'demo.onnx')
    succeeded(run_tool('export.py', DEMO, checkpoint, '--out', onnx, '--image', IMAGE,
                       threads=2))
    return DemoRun(root, checkpoint, onnx, options)
