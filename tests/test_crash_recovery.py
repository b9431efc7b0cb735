"""Crashes lose nothing: atomic checkpoints, resume after kill -9, a stop on NaN, determinism."""
import builtins
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint

from conftest import DATA, REPO
from helpers import TINY, save_sample_head_boxes
from hourglass_plugin.engine import find_resumable_checkpoint, is_complete_checkpoint
from hourglass_plugin.engine.atomic_files import TEMPORARY_NAME, remove_orphaned_temporaries
from hourglass_plugin.errors import NonFiniteLossError
from hourglass_plugin.safe_loading import load_checkpoint_safely

pytestmark = pytest.mark.slow  # end to end: see setup.cfg

TESTS = osp.dirname(osp.abspath(__file__))
TRAIN = osp.join(REPO, 'tools', 'train.py')
RESUME_CFG = osp.join(DATA, 'configs', 'resume_hg2_mpii-sample-64x64.py')


def _in_repo(function):
    """Run ``function()`` from the repo root (the configs' data roots are relative to it)."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return function()
    finally:
        os.chdir(cwd)


@pytest.fixture()
def one_thread():
    """In-process training on one thread, as the subprocesses (OMP_NUM_THREADS=1): on this busy
    2-core machine two threads made the determinism test 5x slower (35 s instead of 7 s a run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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

    from hourglass_plugin.engine import AtomicLocalBackend
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
from mmengine.runner.checkpoint import save_checkpoint
path, n = sys.argv[1], 16 * 2 ** 20  # 64 MB: every write takes long enough to be caught
atomic = dict(backend='atomic_local')  # as CrashSafeCheckpointHook writes
save_checkpoint({'v': torch.zeros(n)}, path, backend_args=atomic)
print('ready', flush=True)
version = 1
while True:
    save_checkpoint({'v': torch.full((n, ), float(version))}, path, backend_args=atomic)
    version += 1
'''


def _kill_writer_mid_write(directory) -> bool:
    """Start a writer of 64 MB checkpoints, SIGKILL it once a write has begun; True if the kill
    landed before that write's rename (its temporary is left)."""
    writer = subprocess.Popen(
        [sys.executable, '-c', _WRITER, str(directory / 'iter_1.pth')], stdout=subprocess.PIPE,
        text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        for line in writer.stdout:  # mmengine's warnings come first
            if line.strip() == 'ready':
                break
        deadline = time.monotonic() + 60
        while not _temporaries(directory):  # a write has started
            assert writer.poll() is None, 'the writer failed'
            assert time.monotonic() < deadline, 'no write started'
            time.sleep(0.001)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    finally:
        writer.kill()
        writer.wait()
    return bool(_temporaries(directory))


def test_writer_killed_mid_write_leaves_a_whole_checkpoint(tmp_path):
    """SIGKILL while mmengine writes a checkpoint: the final name holds a complete version."""
    attempts = 0
    while True:  # a busy machine may deliver the kill only after the rename: try again
        attempts += 1
        killed_mid_write = _kill_writer_mid_write(tmp_path)
        path = tmp_path / 'iter_1.pth'
        assert is_complete_checkpoint(str(path))
        values = load_checkpoint_safely(str(path))['v']
        assert values.numel() == 16 * 2**20 and bool((values == values[0]).all())
        if killed_mid_write or attempts == 3:
            break
    assert killed_mid_write, 'the kill never landed during a write: nothing was tested'
    assert remove_orphaned_temporaries(str(tmp_path)) and not _temporaries(tmp_path)


# --- --resume finds the newest complete checkpoint -----------------------------------------

def _write_checkpoint(path, value):
    save_checkpoint({'state_dict': {'w': torch.full((10, ), float(value))}}, str(path),
                    backend_args=ATOMIC)
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
    time.sleep(0.01)
    second = str(tmp_path / 'epoch_2.pth')
    if pointer == 'truncated file':  # written by a non-atomic writer, cut short by a kill
        data = open(_write_checkpoint(second, 2), 'rb').read()
        open(second, 'wb').write(data[:len(data) // 2])
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

def _kill_when(command, env, log_path, condition, timeout=300):
    """Start ``command``, SIGKILL it as soon as ``condition()`` holds; fail if it ends first."""
    with open(log_path, 'w') as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            assert process.poll() is None, (
                f'the run ended before the kill point: {open(log_path).read()[-3000:]}')
            assert time.monotonic() < deadline, 'no kill point within the time limit'
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()


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


def test_killed_three_times_then_resumed_equals_uninterrupted(tmp_path):
    """``tools/train.py`` killed while epoch_3.pth is being written, just after epoch_5.pth
    appeared (before last_checkpoint names it), and in the middle of epoch 6; each time
    ``--resume`` continues, and the final weights, losses and PCKh equal those of a run never
    interrupted (no random augmentation in this config and the sampler is seeded per epoch, so
    equal means bit-equal here). ``max_keep_ckpts=1``: mmengine's CheckpointHook would have
    removed epoch_2.pth before writing epoch_3.pth, leaving nothing to resume from."""
    head_boxes = save_sample_head_boxes(str(tmp_path / 'mpii_gt_val.mat'))
    options = ['--cfg-options', f'val_dataloader.dataset.headbox_file={head_boxes}']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')  # logs seen as written
    slow = dict(env, PYTHONPATH=os.pathsep.join([TESTS, env.get('PYTHONPATH', '')]),
                SLOW_SECONDS='1.5')
    # mmengine imports custom_imports while it parses a config file, not from --cfg-options: the
    # slowed rename needs a config file of its own
    slow_cfg = tmp_path / 'resume_slow_rename.py'
    slow_cfg.write_text(f'_base_ = [{RESUME_CFG!r}]\n'
                        "custom_imports = dict(imports=['hourglass_plugin', "
                        "'slow_checkpoint_rename'], allow_failed_imports=False)\n")

    def train(work_dir, *extra, config=RESUME_CFG):
        return [sys.executable, TRAIN, str(config), '--work-dir', str(work_dir), *extra]

    baseline = tmp_path / 'uninterrupted'
    subprocess.run(train(baseline, *options), cwd=REPO, env=env, check=True,
                   capture_output=True)

    work = tmp_path / 'killed'
    _kill_when(train(work, *options, config=slow_cfg), dict(slow, SLOW_CHECKPOINT='epoch_3.pth'),
               tmp_path / 'leg1.log',
               lambda: work.is_dir() and any(n.startswith('.epoch_3.pth.')
                                             for n in os.listdir(work)))
    assert _temporaries(work) and not (work / 'epoch_3.pth').exists()
    _all_checkpoints_complete(work)

    assert (work / 'epoch_2.pth').exists()  # the previous one is removed only after

    _kill_when(train(work, '--resume', *options, config=slow_cfg),
               dict(slow, SLOW_CHECKPOINT='epoch_5.pth'),
               tmp_path / 'leg2.log', lambda: (work / 'epoch_5.pth').exists())
    assert re.search(r'Load checkpoint from \S*epoch_2\.pth', open(tmp_path / 'leg2.log').read())
    assert not _temporaries(work)  # leg 1's leftover was removed
    pointer = (work / 'last_checkpoint').read_text()
    # epoch_4.pth unless this busy machine let more than SLOW_SECONDS pass before the kill
    assert osp.basename(pointer) in ('epoch_4.pth', 'epoch_5.pth') and osp.isfile(pointer)
    _all_checkpoints_complete(work)

    # (epoch_6.pth written slowly only to leave time for the kill on a busy machine)
    _kill_when(train(work, '--resume', *options, config=slow_cfg),
               dict(slow, SLOW_CHECKPOINT='epoch_6.pth'),
               tmp_path / 'leg3.log',
               lambda: 'Epoch(train) [6][2/3]' in open(tmp_path / 'leg3.log').read())
    # last_checkpoint is trusted when it names a complete file (even if epoch_5.pth is newer)
    assert f'Load checkpoint from {pointer}' in open(tmp_path / 'leg3.log').read()

    result = subprocess.run(train(work, '--resume', *options), cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r'Load checkpoint from \S*epoch_5\.pth', result.stdout)
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_6.pth']

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
    cfg = Config.fromfile(TINY)  # 1 iteration per epoch, a checkpoint after each
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 6
    cfg.custom_hooks.append(dict(type='_PoisonWeightsHook', at=4))
    with pytest.raises(NonFiniteLossError) as info:
        _in_repo(lambda: Runner.from_cfg(cfg).train())
    message = str(info.value)
    assert 'iteration 4 ' in message and 'loss=nan' in message, message
    assert f'Last good checkpoint: {tmp_path / "epoch_3.pth"}' in message, message
    assert '\n' not in message
    assert sorted(os.listdir(tmp_path)).count('epoch_4.pth') == 0


def test_diverging_run_exits_with_one_line_and_no_broken_checkpoint(tmp_path):
    """A learning rate of 1e6 through tools/train.py: the plugin's configs carry the hook."""
    result = subprocess.run(
        [sys.executable, TRAIN, TINY, '--work-dir', str(tmp_path), '--cfg-options',
         'optim_wrapper.optimizer.lr=1e6', 'randomness.seed=0', 'train_cfg.max_epochs=6'],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
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


# --- same seed, same config, same data: the same losses -------------------------------------

def _losses(work_dir, seed) -> np.ndarray:
    """Losses of 3 epochs of the tiny model with the paper's random augmentation, one worker."""
    cfg = Config.fromfile(TINY)
    base = Config.fromfile(osp.join(REPO, 'configs', 'stacked_hourglass', '_base_',
                                    'td-hm_stacked-hourglass_mpii-256x256.py'))
    pipeline = [dict(t, input_size=(64, 64)) if t['type'] == 'TopdownAffine' else
                dict(t, encoder=cfg.codec) if t['type'] == 'GenerateTarget' else t
                for t in base.train_pipeline]
    cfg.merge_from_dict({
        'work_dir': str(work_dir), 'randomness': dict(seed=seed),
        'train_cfg.max_epochs': 3, 'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 1, 'train_dataloader.persistent_workers': True,
        'train_dataloader.dataset.pipeline': pipeline,
        'default_hooks.checkpoint.interval': 100})
    runner = _in_repo(lambda: Runner.from_cfg(cfg))
    _in_repo(runner.train)
    return np.asarray(runner.message_hub.get_scalar('train/loss').data[0])


def test_same_seed_same_losses(tmp_path, one_thread):
    first = _losses(tmp_path / 'a', seed=0)
    second = _losses(tmp_path / 'b', seed=0)
    assert len(first) == 9
    np.testing.assert_allclose(second, first, rtol=0, atol=1e-6)
    other = _losses(tmp_path / 'c', seed=1)  # the comparison can fail: another seed differs
    assert np.abs(other - first).max() > 1e-4
