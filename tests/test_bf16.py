"""bf16 mixed precision through mmengine's Runner on a CPU: BF16OptimWrapper and --amp."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from torch import nn

from helpers.paths import REPO, TINY
from hourglass_plugin.engine import BF16OptimWrapper, bf16_optim_wrapper, use_amp
from hourglass_plugin.engine.bf16_optim_wrapper import cpu_has_native_bf16


class ConvBN(nn.Module):
    """A 1x1 convolution (as a Linear over channels, which autocast runs in bf16 like a conv,
    cheaply on CPUs without bf16 units too) and a BatchNorm."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        return self.bn(self.conv(x))


@pytest.fixture
def native(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) native bf16."""

    def set_native(value: bool):
        monkeypatch.setattr(bf16_optim_wrapper, 'cpu_has_native_bf16', lambda: value)

    return set_native


def one_step(model):
    wrapper = BF16OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        conv_out = model.conv(torch.randn(16, 3))
        out = model.bn(conv_out)
        loss = ((out - torch.zeros(16, 4))**2).mean()
    wrapper.update_params(loss)
    return wrapper, conv_out, out, loss


def test_forward_in_bf16_weights_statistics_and_loss_in_fp32(native):
    native(True)
    model = ConvBN()
    wrapper, conv_out, out, loss = one_step(model)
    assert wrapper.precision('cpu') == 'bf16'
    assert conv_out.dtype == torch.bfloat16  # the convolution ran in bf16
    assert loss.dtype == torch.float32
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float32, name
    assert model.bn.running_mean.abs().sum() > 0  # the statistics were updated, in fp32


def test_cpu_without_native_bf16_trains_in_fp32(native):
    native(False)
    model = ConvBN()
    wrapper, conv_out, _, _ = one_step(model)
    assert wrapper.precision('cpu') == 'fp32'
    assert conv_out.dtype == torch.float32


def test_enabled_false_is_fp32(native):
    native(True)
    wrapper = BF16OptimWrapper(enabled=False, optimizer=torch.optim.SGD([nn.Parameter(
        torch.ones(1))], lr=0.1))
    assert wrapper.precision('cpu') == 'fp32'


def test_state_dict_is_plain_optim_wrappers():
    """No loss scaler: a checkpoint of either precision resumes in the other."""
    from mmengine.optim import OptimWrapper
    model = ConvBN()
    ours = BF16OptimWrapper(optimizer=torch.optim.Adam(model.parameters()))
    plain = OptimWrapper(optimizer=torch.optim.Adam(model.parameters()))
    assert ours.state_dict().keys() == plain.state_dict().keys()


@pytest.mark.parametrize('flags, expected', [('fpu avx2 avx512f avx512_bf16 avx512_vnni', True),
                                             ('fpu avx2 amx_bf16 amx_tile', True),
                                             ('fpu avx2 avx512f avx512_vnni', False)])
def test_native_bf16_read_from_cpuinfo(tmp_path, flags, expected):
    cpuinfo = tmp_path / f'cpuinfo_{expected}_{len(flags)}'
    cpuinfo.write_text(f'processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\n')
    assert cpu_has_native_bf16(str(cpuinfo)) is expected


def test_the_precision_probe_times_both_and_chooses_by_its_times():
    """--precision auto's probe (a real convolution, forward and backward) times fp32 and bf16
    once each, and its choice and its sentence follow the two times it measured."""
    from hourglass_plugin.engine.precision_probe import BF16_MARGIN, faster_precision, probe_seconds
    measured = {}

    def recorded(bf16: bool) -> float:
        measured[bf16] = probe_seconds(bf16, repeats=2)
        return measured[bf16]

    precision, reason = faster_precision(recorded)
    assert set(measured) == {False, True}
    assert all(0 < seconds < 10 for seconds in measured.values())
    assert precision == ('bf16' if measured[True] <= BF16_MARGIN * measured[False] else 'fp32')
    assert (f'{measured[True] * 1e3:.1f} ms in bf16 against {measured[False] * 1e3:.1f} ms '
            'in fp32') in reason
    with pytest.raises(ValueError, match='repeats=0'):
        probe_seconds(False, repeats=0)


def test_use_amp_picks_the_wrapper_for_a_cpu():
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3))))
    use_amp(cfg)
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'BF16OptimWrapper'
    assert cfg.optim_wrapper.type == expected
    if not torch.cuda.is_available():
        cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper', optimizer=dict())))
        with pytest.raises(ValueError, match='ApexOptimWrapper'):
            use_amp(cfg)


@pytest.mark.slow
def test_amp_resumes_an_fp32_run(tmp_path):
    """tools/train.py: 1 epoch in fp32, then --resume --amp for the 2nd; the precision is said
    in the log, and the checkpoint stays fp32; tools/test.py --amp evaluates it."""
    train = [sys.executable, osp.join(REPO, 'tools', 'train.py'), TINY, '--work-dir',
             str(tmp_path)]
    first = subprocess.run(train + ['--cfg-options', 'train_cfg.max_epochs=1'],
                           capture_output=True, text=True, cwd=REPO, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run(train + ['--resume', '--amp'], capture_output=True, text=True,
                            cwd=REPO, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    log = second.stdout + second.stderr
    assert 'Resumed from' in log or 'resumed' in log.lower()
    if cpu_has_native_bf16():
        assert 'BF16OptimWrapper: forward in bf16 on cpu' in log
    else:
        assert 'BF16OptimWrapper: this CPU has no native bf16' in log
    checkpoint = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert all(t.dtype == torch.float32 for t in checkpoint['state_dict'].values()
               if t.is_floating_point())
    # and tools/test.py --amp evaluates that checkpoint
    test = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'test.py'), TINY,
                           str(tmp_path / 'epoch_2.pth'), '--work-dir', str(tmp_path), '--amp',
                           '--cfg-options', 'test_evaluator.type=PCKAccuracy'],  # no head boxes
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert test.returncode == 0, test.stderr[-2000:]
    log = test.stdout + test.stderr
    assert ('runs under autocast' if cpu_has_native_bf16() else 'testing in fp32') in log
    assert 'PCK' in test.stdout
