"""Crashes lose nothing: atomic checkpoints, resume after kill -9, a stop on NaN, determinism."""
import builtins
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint

from helpers.models import pausing_config, tiny_cfg
from helpers.paths import REPO, RESUME_CFG, TINY, checkpoint_files
from helpers.processes import kill_when_paused, tool_env
from hourglass_plugin.checkpoint import (atomic_output, find_resumable_checkpoint,
                                         is_complete_checkpoint, load_checkpoint_safely,
                                         remove_orphaned_temporaries)
from hourglass_plugin.checkpoint.atomic import TEMPORARY_NAME
from hourglass_plugin.errors import NonFiniteLossError

pytestmark = pytest.mark.slow  # end to end: see setup.cfg

TRAIN = osp.join(REPO, 'tools', 'train.py')


def _in_repo(function):
    """Run ``function()`` from the repo root (the configs' data roots are relative to it)."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return function()
    finally:
        os.chdir(cwd)


def _temporaries(directory) -> list:
    return [name for name in os.listdir(directory) if TEMPORARY_NAME.match(name)]


# --- a checkpoint is never half-written ----------------------------------------------------

class _DiskFullAfterHalf:
    """A file whose ``write`` writes half of the bytes, then fails as a full disk does."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        raise OSError(28, 'No space left on device')

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


#: what CrashSafeCheckpointHook (and so every config of the plugin) writes checkpoints with
ATOMIC = dict(backend='atomic_local')


def test_importing_the_plugin_leaves_mmengines_local_backend_alone():
    from mmengine.fileio import LocalBackend, get_file_backend

    from hourglass_plugin.checkpoint import AtomicLocalBackend
    assert type(get_file_backend('/tmp/x.pth')) is LocalBackend
    assert type(get_file_backend('/tmp/x.pth', backend_args=ATOMIC)) is AtomicLocalBackend


def test_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """mmengine's own save_checkpoint through the atomic backend, failing half-way: the old file
    stays, no partial file."""
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.zeros(1000)}}, path, backend_args=ATOMIC)
    before = open(path, 'rb').read()

    real_open = builtins.open

    def failing_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return _DiskFullAfterHalf(f) if 'w' in mode and str(tmp_path) in str(file) else f

    monkeypatch.setattr(builtins, 'open', failing_open)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint({'state_dict': {'w': torch.ones(1000)}}, path, backend_args=ATOMIC)
    monkeypatch.undo()

    assert open(path, 'rb').read() == before  # mmengine alone leaves half of the new bytes here
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # the temporary is gone too
    assert torch.equal(load_checkpoint_safely(path)['state_dict']['w'], torch.zeros(1000))


_WRITER = '''
import sys, torch
import hourglass_plugin
from hourglass_plugin.checkpoint import atomic as atomic_module
from mmengine.runner.checkpoint import save_checkpoint
path, n = sys.argv[1], 1 << 20
atomic = dict(backend='atomic_local')  # as CrashSafeCheckpointHook writes
save_checkpoint({'v': torch.zeros(n)}, path, backend_args=atomic)


class HalfThenPause:
    # the file the second save writes to: half of its bytes reach the disk, then the writer
    # says so and waits for the kill

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        print('PAUSED half-way through the write', flush=True)
        import threading
        threading.Event().wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


atomic_module.open = lambda *args, **kwargs: HalfThenPause(open(*args, **kwargs))
save_checkpoint({'v': torch.ones(n)}, path, backend_args=atomic)
'''


def test_writer_killed_mid_write_leaves_a_whole_checkpoint(tmp_path):
    """SIGKILL while mmengine writes a checkpoint over an older one, half of the new bytes
    written: the final name holds the old version whole; the half-written temporary is left for
    the next run to remove."""
    path = tmp_path / 'iter_1.pth'
    kill_when_paused([sys.executable, '-c', _WRITER, str(path)], tool_env(),
                     tmp_path / 'writer.log')
    assert osp.basename(path) in os.listdir(tmp_path)
    assert is_complete_checkpoint(str(path))
    assert torch.equal(load_checkpoint_safely(str(path))['v'], torch.zeros(1 << 20))
    (temporary, ) = _temporaries(tmp_path)
    assert not is_complete_checkpoint(str(tmp_path / temporary))
    assert remove_orphaned_temporaries(str(tmp_path)) == [str(tmp_path / temporary)]
    assert sorted(os.listdir(tmp_path)) == ['iter_1.pth', 'writer.log']


# --- files that belong together (an OpenVINO .bin and its .xml) ------------------------------

def _pair(directory, content):
    """An IR-like pair: ``model.bin`` and the ``model.xml`` that names its content."""
    (directory / 'model.bin').write_text(content)
    (directory / 'model.xml').write_text(f'reads {content}')


def _write_pair(directory, content):
    with atomic_output(directory / 'model.bin', directory / 'model.xml') as (bin_, xml):
        assert osp.basename(xml).startswith('.model.') and xml.endswith('.tmp.xml')
        open(bin_, 'w').write(content)
        open(xml, 'w').write(f'reads {content}')


def test_a_pair_is_put_in_place_together(tmp_path):
    _pair(tmp_path, 'old')
    _write_pair(tmp_path, 'new')
    assert sorted(os.listdir(tmp_path)) == ['model.bin', 'model.xml']
    assert (tmp_path / 'model.xml').read_text() == 'reads new'
    assert (tmp_path / 'model.bin').read_text() == 'new'


def test_a_failed_pair_write_leaves_the_old_pair(tmp_path):
    _pair(tmp_path, 'old')
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / 'model.bin', tmp_path / 'model.xml') as (bin_, xml):
            open(bin_, 'w').write('new')
            raise RuntimeError('the writer failed before the .xml')
    assert sorted(os.listdir(tmp_path)) == ['model.bin', 'model.xml']
    assert (tmp_path / 'model.bin').read_text() == 'old'


def test_a_crash_between_the_renames_leaves_no_mismatched_pair(tmp_path, monkeypatch):
    """Stopped after the .bin is replaced and before the .xml is: the old .xml is gone already,
    so no reader pairs it with the new .bin."""
    _pair(tmp_path, 'old')
    real_replace = os.replace

    def replace_then_die(source, target):
        if str(target).endswith('.xml'):
            raise OSError('killed between the renames')
        real_replace(source, target)

    monkeypatch.setattr(os, 'replace', replace_then_die)
    with pytest.raises(OSError, match='between the renames'):
        _write_pair(tmp_path, 'new')
    monkeypatch.undo()
    assert not (tmp_path / 'model.xml').exists()
    assert os.listdir(tmp_path) == ['model.bin']


# --- --resume finds the newest complete checkpoint -----------------------------------------

def _write_checkpoint(path, value):
    """A checkpoint holding ``value``, its modification time ``value`` seconds after a fixed
    instant (checkpoints written later are newer, as in a run)."""
    save_checkpoint({'state_dict': {'w': torch.full((10, ), float(value))}}, str(path),
                    backend_args=ATOMIC)
    os.utime(path, (1_700_000_000 + value, ) * 2)
    return str(path)


def _point_to(work_dir, text):
    (work_dir / 'last_checkpoint').write_text(text)


def test_resume_takes_the_checkpoint_last_checkpoint_names(tmp_path):
    first = _write_checkpoint(tmp_path / 'epoch_1.pth', 1)
    _write_checkpoint(tmp_path / 'epoch_2.pth', 2)
    _point_to(tmp_path, first)  # trusted when complete, even if not the newest
    assert find_resumable_checkpoint(str(tmp_path)) == first


@pytest.mark.parametrize('pointer', ['missing file', 'empty', 'no pointer', 'truncated file'])
def test_resume_falls_back_to_the_newest_complete_checkpoint(tmp_path, pointer):
    first = _write_checkpoint(tmp_path / 'epoch_1.pth', 1)
    second = str(tmp_path / 'epoch_2.pth')
    if pointer == 'truncated file':  # written by a non-atomic writer, cut short by a kill
        data = open(_write_checkpoint(second, 2), 'rb').read()
        open(second, 'wb').write(data[:len(data) // 2])
        os.utime(second, (1_700_000_002, ) * 2)
        _point_to(tmp_path, second)
        assert find_resumable_checkpoint(str(tmp_path)) == first
        return
    _write_checkpoint(second, 2)
    if pointer == 'missing file':  # max_keep_ckpts=1 removes the named file before the next
        _point_to(tmp_path, str(tmp_path / 'epoch_0.pth'))
    elif pointer == 'empty':  # killed while CheckpointHook wrote last_checkpoint
        _point_to(tmp_path, '')
    assert find_resumable_checkpoint(str(tmp_path)) == second


def test_resume_without_checkpoint_starts_over_and_removes_killed_temporaries(tmp_path):
    orphan = tmp_path / '.epoch_1.pth.999999999.tmp'  # a pid that cannot be running
    orphan.write_bytes(b'PK\x03\x04 half a checkpoint')
    mine = tmp_path / f'.epoch_2.pth.{os.getpid()}.tmp'  # a live writer's: kept
    mine.write_bytes(b'')
    assert find_resumable_checkpoint(str(tmp_path)) is None
    assert not orphan.exists() and mine.exists()


# --- kill -9 at any moment, then --resume: the same result as an uninterrupted run ----------

def _final_scalars(work_dir):
    """(losses by iteration, PCK) from the scalars.json of the newest run in ``work_dir``."""
    newest = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1]
    losses, pck = {}, None
    with open(newest) as f:
        for line in f:
            record = json.loads(line)
            if 'loss' in record:
                losses[record['iter']] = record['loss']
            if 'PCK' in record:
                pck = record['PCK']
    return losses, pck


def _all_checkpoints_complete(work_dir):
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        load_checkpoint_safely(path)  # raises on a truncated file


def test_killed_three_times_then_resumed_equals_uninterrupted(tmp_path, sample_head_boxes):
    """``tools/train.py`` killed while epoch_3.pth is being written, just after epoch_5.pth
    appeared (before last_checkpoint names it), and after iteration 17 (in epoch 6); each time
    ``--resume`` continues, and the final weights, losses and PCKh equal those of a run never
    interrupted (no random augmentation in this config and the sampler is seeded per epoch, so
    equal means bit-equal here). ``max_keep_ckpts=1``: mmengine's CheckpointHook would have
    removed epoch_2.pth before writing epoch_3.pth, leaving nothing to resume from. The run
    pauses itself at each point (helpers/pause_points.py) and is killed there."""
    options = ['--cfg-options', f'val_dataloader.dataset.headbox_file={sample_head_boxes}']
    pausing = pausing_config(tmp_path)

    def train(work_dir, *extra, config=RESUME_CFG):
        return [sys.executable, TRAIN, str(config), '--work-dir', str(work_dir), *extra]

    baseline = tmp_path / 'uninterrupted'
    subprocess.run(train(baseline, *options), cwd=REPO, env=tool_env(), check=True,
                   capture_output=True)

    work = tmp_path / 'killed'
    kill_when_paused(train(work, *options, config=pausing),
                     tool_env(PAUSE_BEFORE_REPLACE='epoch_3.pth'), tmp_path / 'leg1.log')
    assert _temporaries(work) and not (work / 'epoch_3.pth').exists()
    assert checkpoint_files(work) == ['epoch_2.pth']
    _all_checkpoints_complete(work)

    log = kill_when_paused(train(work, '--resume', *options, config=pausing),
                           tool_env(PAUSE_AFTER_REPLACE='epoch_5.pth'), tmp_path / 'leg2.log')
    assert f'Load checkpoint from {work / "epoch_2.pth"}' in log
    assert not _temporaries(work)  # leg 1's leftover was removed
    pointer = (work / 'last_checkpoint').read_text()
    assert pointer == str(work / 'epoch_4.pth')  # epoch_5.pth is not named yet
    checkpoints = checkpoint_files(work)
    assert checkpoints == ['epoch_4.pth', 'epoch_5.pth']
    _all_checkpoints_complete(work)

    log = kill_when_paused(train(work, '--resume', *options, config=pausing),
                           tool_env(PAUSE_AT_ITER='17'), tmp_path / 'leg3.log')
    # last_checkpoint is trusted when it names a complete file (even if epoch_5.pth is newer)
    assert f'Load checkpoint from {pointer}' in log
    assert 'Epoch(train) [6][2/3]' in log

    result = subprocess.run(train(work, '--resume', *options), cwd=REPO, env=tool_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'Load checkpoint from {work / "epoch_5.pth"}' in result.stdout
    assert checkpoint_files(work) == ['epoch_6.pth']

    expected = load_checkpoint_safely(str(baseline / 'epoch_6.pth'))['state_dict']
    resumed = load_checkpoint_safely(str(work / 'epoch_6.pth'))['state_dict']
    assert expected.keys() == resumed.keys()
    for key in expected:
        torch.testing.assert_close(resumed[key], expected[key], rtol=0, atol=1e-6, msg=key)
    expected_losses, expected_pck = _final_scalars(baseline)
    losses, pck = _final_scalars(work)
    assert sorted(losses) == [16, 17, 18]  # the last run trained epoch 6 again
    for iteration in losses:
        assert losses[iteration] == pytest.approx(expected_losses[iteration], abs=1e-6)
    assert expected_pck is not None and pck == pytest.approx(expected_pck, abs=1e-6)


# --- a NaN or infinite loss stops the run, naming the last good checkpoint ------------------

@HOOKS.register_module(force=True)
class _PoisonWeightsHook(Hook):
    """Before iteration ``at`` (1-based) a weight becomes NaN, so that iteration's loss is NaN."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


def test_nan_loss_stops_naming_the_iteration_and_last_good_checkpoint(tmp_path, one_thread):
    cfg = tiny_cfg(tmp_path)  # 1 iteration per epoch, a checkpoint after each
    cfg.train_cfg.max_epochs = 6
    cfg.custom_hooks.append(dict(type='_PoisonWeightsHook', at=4))
    with pytest.raises(NonFiniteLossError) as info:
        _in_repo(lambda: Runner.from_cfg(cfg).train())
    message = str(info.value)
    assert 'iteration 4 ' in message and 'loss=nan' in message, message
    assert f'Last good checkpoint: {tmp_path / "epoch_3.pth"}' in message, message
    assert '\n' not in message
    assert sorted(os.listdir(tmp_path)).count('epoch_4.pth') == 0


def test_diverging_run_exits_with_one_line_and_no_broken_checkpoint(tmp_path, run_tool_here):
    """A learning rate of 1e6 through tools/train.py: the plugin's configs carry the hook."""
    result = run_tool_here('train.py', TINY, '--work-dir', str(tmp_path), '--cfg-options',
                           'optim_wrapper.optimizer.lr=1e6', 'randomness.seed=0',
                           'train_cfg.max_epochs=6')
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'not finite' in errors[0], result.stderr[-3000:]
    assert re.search(r'Last good checkpoint: \S*epoch_\d\.pth', errors[0]), errors[0]
    assert 'Traceback' not in result.stderr
    checkpoints = glob.glob(str(tmp_path / '*.pth'))
    assert checkpoints
    for path in checkpoints:  # never a checkpoint of broken weights
        state = load_checkpoint_safely(path)['state_dict']
        assert all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point())


# --- same seed, same config, same data: the same losses and the same checkpoint -------------

def _train_three_epochs(work_dir, seed) -> np.ndarray:
    """Losses of 3 epochs of the tiny model with the paper's random augmentation, one worker,
    seeded through the config's ``randomness`` as every training fixture of the tests is."""
    cfg = tiny_cfg(work_dir)
    base = Config.fromfile(osp.join(REPO, 'configs', 'stacked_hourglass', '_base_',
                                    'td-hm_stacked-hourglass_mpii-256x256.py'))
    pipeline = [dict(t, input_size=(64, 64)) if t['type'] == 'TopdownAffine' else
                dict(t, encoder=cfg.codec) if t['type'] == 'GenerateTarget' else t
                for t in base.train_pipeline]
    cfg.merge_from_dict({
        'randomness': dict(seed=seed, deterministic=True),
        # a name of its own: a Runner's MessageHub (the losses read below) is the one of its
        # experiment name, by default the second it started, which another run in this process
        # may share
        'experiment_name': f'{osp.basename(osp.dirname(work_dir))}_{osp.basename(work_dir)}',
        'train_cfg.max_epochs': 3, 'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 1, 'train_dataloader.persistent_workers': True,
        'train_dataloader.dataset.pipeline': pipeline,
        'default_hooks.checkpoint.interval': 100})  # saves the last epoch only
    runner = _in_repo(lambda: Runner.from_cfg(cfg))
    _in_repo(runner.train)
    return np.asarray(runner.message_hub.get_scalar('train/loss').data[0])


def _weights(work_dir) -> dict:
    return load_checkpoint_safely(str(work_dir / 'epoch_3.pth'))['state_dict']


def test_same_seed_same_losses_and_checkpoint(tmp_path, one_thread):
    first = _train_three_epochs(tmp_path / 'a', seed=0)
    second = _train_three_epochs(tmp_path / 'b', seed=0)
    assert len(first) == 9
    np.testing.assert_array_equal(second, first)
    a, b = _weights(tmp_path / 'a'), _weights(tmp_path / 'b')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = _train_three_epochs(tmp_path / 'c', seed=1)  # the comparison can fail:
    assert np.abs(other - first).max() > 1e-4  # another seed differs
    c = _weights(tmp_path / 'c')
    assert not all(torch.equal(a[k], c[k]) for k in a)
