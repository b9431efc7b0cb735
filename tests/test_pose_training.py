"""Pose training through mmpose's pipeline: it learns on real pictures, and runs distributed."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import DATA, REPO
from helpers import TINY, save_sample_head_boxes

OVERFIT = osp.join(DATA, 'configs', 'overfit_hg2_mpii-sample-128x128.py')


@pytest.fixture()
def head_box_file(tmp_path):
    """The 5 real images ship without MPII's head boxes: derive them, in the real file's layout."""
    return save_sample_head_boxes(str(tmp_path / 'mpii_gt_val.mat'))


def test_overfits_the_real_mpii_images(tmp_path, head_box_file):
    cfg = Config.fromfile(OVERFIT)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.val_dataloader.dataset.headbox_file = head_box_file
    cfg.randomness = dict(seed=0)
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = runner.val()
    finally:
        os.chdir(cwd)
    assert metrics['PCK'] >= 95.0, metrics


def test_two_process_distributed_training(tmp_path):
    """torchrun with 2 CPU processes (gloo): both ranks finish and a checkpoint is written."""
    work_dir = tmp_path / 'dist'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
         '--master-port', '29533', osp.join(REPO, 'tools', 'train.py'), TINY, '--launcher',
         'pytorch', '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2'],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    assert osp.isfile(work_dir / 'epoch_2.pth')
