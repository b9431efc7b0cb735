"""Pose training through mmpose's pipeline: it learns on real pictures (distributed runs:
tests/test_distributed.py)."""
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from helpers.models import save_sample_head_boxes
from helpers.paths import DATA, REPO

pytestmark = pytest.mark.slow  # end to end: see setup.cfg

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
