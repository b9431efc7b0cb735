"""Checkpoints under torch 2.13: mmengine's own load and resume; code in a pickle is refused."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from helpers.models import tiny_cfg
from helpers.paths import REPO, TINY
from helpers.pickles import Evil, GetattrEvil
from hourglass_plugin.checkpoint import load_checkpoint_safely
from hourglass_plugin.errors import CheckpointError, UnsafeCheckpointError


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-epoch run of the real Runner: checkpoints with message_hub and meta (numpy inside)."""
    work_dir = tmp_path_factory.mktemp('run')
    cwd = os.getcwd()
    os.chdir(REPO)  # the config's data_root is relative to the repo, as in a user's checkout
    try:
        runner = Runner.from_cfg(tiny_cfg(work_dir))
        runner.train()
    finally:
        os.chdir(cwd)
    return work_dir


@pytest.mark.slow
def test_importing_the_plugin_is_what_makes_runner_checkpoints_load(trained):
    """torch 2.13 refuses mmengine's checkpoint; after ``import hourglass_plugin`` it loads."""
    code = ('import sys, torch\n'
            'try:\n'
            '    torch.load(sys.argv[1])\n'
            '    print("loaded-before")\n'
            'except Exception as e:\n'
            '    print("refused-before")\n'
            'import hourglass_plugin\n'
            'ckpt = torch.load(sys.argv[1])\n'
            'print("loaded-after", ckpt["meta"]["epoch"], sorted(ckpt["message_hub"]))\n')
    result = subprocess.run([sys.executable, '-c', code, osp.join(trained, 'epoch_2.pth')],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.split('\n')
    assert lines[0] == 'refused-before'
    assert lines[1].startswith('loaded-after 2') and 'log_scalars' in lines[1]


@pytest.mark.slow
def test_runner_resumes_from_its_checkpoint(trained, tmp_path):
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        cfg = tiny_cfg(tmp_path, train_cfg=dict(max_epochs=3))
        cfg.resume, cfg.load_from = True, osp.join(trained, 'epoch_2.pth')
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        os.chdir(cwd)
    assert runner.epoch == 3 and runner.iter == 3  # 1 iteration per epoch: resumed at 2
    history = runner.message_hub.get_scalar('train/loss_stack1')
    assert len(history.data[0]) == 3  # two losses restored from the checkpoint + one new
    assert osp.isfile(osp.join(tmp_path, 'epoch_3.pth'))


def test_load_from_builds_and_loads_weights(trained):
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    model = MODELS.build(Config.fromfile(TINY).model)
    ckpt = load_checkpoint(model, osp.join(trained, 'epoch_2.pth'))
    key = 'backbone.stack_outputs.1.predict.weight'
    assert torch.equal(model.state_dict()[key], ckpt['state_dict'][key])


def test_malicious_checkpoint_refused_without_side_effect(tmp_path):
    target = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Evil(str(target))}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pth.*open') as info:
        load_checkpoint_safely(str(path))
    assert not target.exists()
    assert 'nothing was executed' in str(info.value)
    # and through mmengine's loader, which the plugin routes to the same place
    from mmengine.runner import CheckpointLoader
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
    assert not target.exists()


def test_getattr_is_only_allowed_for_history_buffer(tmp_path):
    target = tmp_path / 'written'
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': GetattrEvil(str(target))}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'getattr\(ndarray, .tofile.\)'):
        load_checkpoint_safely(str(path))
    assert not target.exists()


@pytest.mark.slow
def test_tools_test_refuses_malicious_checkpoint(tmp_path):
    target = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Evil(str(target))}, path)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'test.py'), TINY, str(path), '--work-dir',
         str(tmp_path / 'work')], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()
    assert any(line.startswith('error: refused to load checkpoint') and 'evil.pth' in line
               and 'open' in line for line in last), result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    assert not target.exists()


def test_truncated_checkpoint_names_the_file(trained, tmp_path):
    data = open(osp.join(trained, 'epoch_2.pth'), 'rb').read()
    path = tmp_path / 'truncated.pth'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=r'truncated\.pth is truncated'):
        load_checkpoint_safely(str(path))


class BytesCall:
    """Pickles as a call of builtins.bytes with the given arguments (``bytes(10**12)`` would
    allocate a terabyte)."""

    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        return (bytes, self.args)


def test_harmless_constructs_of_checkpoints_load(tmp_path):
    """What mmengine, mmpose and mmdet (and users' meta) put into checkpoints: empty bytes and
    empty arrays (pickle protocol 2 writes bytes() for them), OrderedDict, torch.Size, numpy
    scalars of every dtype but object, datetime values."""
    import collections
    import datetime

    import numpy as np
    scalars = {code: np.zeros(1, dtype=code)[0] for code in np.typecodes['All']
               if code != 'O'}
    meta = dict(empty_bytes=b'', bytes=b'\x00\xffabc', empty_array=np.zeros(0),
                empty_float32=np.zeros((0, 3), np.float32), ordered=collections.OrderedDict(a=1),
                size=torch.Size([2, 3]), scalars=scalars,
                when=datetime.datetime(2026, 11, 29, 13, 0, tzinfo=datetime.timezone.utc),
                day=datetime.date(2026, 11, 29), took=datetime.timedelta(seconds=5))
    path = tmp_path / 'harmless.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': meta}, path)
    loaded = load_checkpoint_safely(str(path))['meta']
    assert loaded['empty_bytes'] == b'' and loaded['bytes'] == b'\x00\xffabc'
    assert loaded['empty_array'].shape == (0, ) and loaded['empty_float32'].dtype == np.float32
    assert loaded['ordered'] == collections.OrderedDict(a=1)
    assert loaded['size'] == torch.Size([2, 3])
    assert all(loaded['scalars'][c].dtype == np.dtype(c) for c in scalars)
    assert loaded['when'] == meta['when'] and loaded['took'] == meta['took']


@pytest.mark.parametrize('args', [(10**12, ), ([1, 2, 3], ), ('abc', 'rot13')])
def test_bytes_is_refused_with_anything_but_a_literal(tmp_path, args):
    path = tmp_path / 'bytes.pth'
    torch.save({'meta': BytesCall(*args)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'builtins\.bytes is allowed only as'):
        load_checkpoint_safely(str(path))
