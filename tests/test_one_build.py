"""The tools build the model once and load a checkpoint once per run: the checks before the run
work on the objects the Runner then uses."""
import os
import sys

import pytest
import torch

from helpers.models import save_sample_head_boxes, save_tiny_checkpoint
from helpers.paths import REPO, TINY
from helpers.processes import load_tool


def tool(name: str):
    return load_tool(name)


@pytest.fixture()
def counts(monkeypatch):
    """How often a StackedHourglass is built and a checkpoint file is unpickled."""
    from hourglass_plugin.models import StackedHourglass
    seen = {'built': 0, 'loaded': 0}
    build, load = StackedHourglass.__init__, torch.load

    def counted_build(self, *args, **kwargs):
        seen['built'] += 1
        build(self, *args, **kwargs)

    def counted_load(*args, **kwargs):
        seen['loaded'] += 1
        return load(*args, **kwargs)

    monkeypatch.setattr(StackedHourglass, '__init__', counted_build)
    monkeypatch.setattr(torch, 'load', counted_load)
    monkeypatch.chdir(REPO)  # the tiny config's data root is relative to the repo
    return seen


def test_test_tool_builds_once_and_loads_once(counts, tmp_path, monkeypatch):
    checkpoint = save_tiny_checkpoint(str(tmp_path / 'tiny.pth'))
    head_boxes = save_sample_head_boxes(str(tmp_path / 'mpii_gt_val.mat'))
    counts.update(built=0, loaded=0)  # the run's own, not the fixtures' above
    monkeypatch.setattr(sys, 'argv', [
        'test.py', TINY, checkpoint, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.headbox_file={head_boxes}'])
    module = tool('test')
    module.main(module.parse_args())
    assert counts == {'built': 1, 'loaded': 1}


def test_train_tool_builds_once_and_loads_load_from_once(counts, tmp_path, monkeypatch):
    checkpoint = save_tiny_checkpoint(str(tmp_path / 'tiny.pth'))
    counts.update(built=0, loaded=0)  # the run's own, not the fixture's above
    work = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv', [
        'train.py', TINY, '--work-dir', str(work), '--cfg-options', f'load_from={checkpoint}',
        'train_cfg.max_epochs=1'])
    module = tool('train')
    module.main(module.parse_args())
    assert counts == {'built': 1, 'loaded': 1}
    # the weights trained from are the checkpoint's: one step of RMSprop away from them
    from hourglass_plugin.checkpoint import load_checkpoint_safely
    start = load_checkpoint_safely(checkpoint)['state_dict']
    trained = load_checkpoint_safely(str(work / 'epoch_1.pth'))['state_dict']
    key = 'backbone.stack_outputs.1.predict.weight'
    assert 0 < float((trained[key] - start[key]).abs().max()) < 0.05
    assert os.listdir(work)
