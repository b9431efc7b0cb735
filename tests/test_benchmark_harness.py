"""python -m tools.benchmark and its measurements (values, not speed: speed is what it reports)."""
import json
import mmap
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmarks import measure
from benchmarks.measure import (alternate, conv_flops, conv_seconds, kernel_usage, max_abs_diff_rel,
                                ratios, step_memory_bytes)


def test_conv_flops_counts_two_per_multiply_add():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2))
    x = torch.randn(2, 3, 16, 16)
    expected = 2 * (2 * 8 * 16 * 16 * 3 * 9 + 2 * 8 * 8 * 8 * 4 * 9)
    assert conv_flops(model, lambda: model(x)) == expected
    assert not model[0]._forward_hooks  # hooks removed


def test_conv_seconds_counts_the_convolutions_only():
    conv = nn.Conv2d(32, 32, 3, padding=1)
    x = torch.randn(4, 32, 64, 64, requires_grad=True)
    big = torch.randn(4_000_000)

    def no_conv():
        for _ in range(2):
            big.sort()

    def conv_step():
        conv(x).sum().backward()

    assert conv_seconds(no_conv) == 0
    one = conv_seconds(conv_step)
    assert one > 0

    def conv_and_more():
        conv_step()
        no_conv()

    assert conv_seconds(conv_and_more) > 0  # the conv's forward and backward; not the sorts


def test_step_memory_sees_the_peak_not_the_end():
    n = 1 << 20  # 4 MiB of float32

    def step():
        a = torch.ones(n)
        b = a * 2  # 8 MiB live here
        del a, b
        return torch.zeros(n // 4)  # 1 MiB at the end

    peak = step_memory_bytes(step, torch.device('cpu'))
    assert 8 * 2**20 <= peak < 9 * 2**20


def test_alternate_and_ratios():
    calls = []
    times = alternate({'ref': lambda: calls.append('ref'), 'b': lambda: calls.append('b')},
                      rounds=3, warmup=1)
    assert calls == ['ref', 'b'] * 4  # warm-up round, then alternating rounds
    assert all(len(v) == 3 for v in times.values())
    rel = ratios({'ref': [1.0, 2.0, 4.0], 'b': [0.5, 1.0, 4.0]}, 'ref')
    assert rel == {'ref': 1.0, 'b': 0.5}


def _touch_new_pages(nbytes: int) -> None:
    """Write one byte on every page of ``nbytes`` fresh anonymous pages (mmap: from the kernel,
    whatever malloc the process runs with), then give them back."""
    region = mmap.mmap(-1, nbytes)
    try:
        for offset in range(0, nbytes, mmap.PAGESIZE):
            region[offset] = 1
    finally:
        region.close()


@pytest.mark.slow  # what the kernel counts: an OS-dependent measurement, not the fast tier's
@pytest.mark.skipif(kernel_usage() is None,
                    reason='no page fault counts here (no resource module, or the OS reports none)')
def test_alternate_counts_page_faults_of_each_step():
    nbytes = 64 * 2**20
    kernel = {}
    alternate({'quiet': lambda: None, 'touching': lambda: _touch_new_pages(nbytes)}, rounds=2,
              kernel=kernel)
    assert [len(v) for v in kernel.values()] == [2, 2]
    pages = nbytes // mmap.PAGESIZE
    for faults, sys_s in kernel['touching']:
        # every page once (fewer if the kernel maps huge pages: then not all pages fault)
        assert faults >= pages // 512 and sys_s >= 0
    assert max(f for f, _ in kernel['quiet']) < min(f for f, _ in kernel['touching'])


class _UsageWithoutFaults:
    """What getrusage gives in a sandbox that counts no page faults (gVisor): always 0."""
    RUSAGE_SELF = 0
    ru_minflt = 0
    ru_stime = 0.0

    @staticmethod
    def getrusage(who):
        return _UsageWithoutFaults


def test_no_page_fault_counts_where_the_os_reports_none(monkeypatch):
    monkeypatch.setattr(measure, 'resource', _UsageWithoutFaults)
    measure.page_faults_counted.cache_clear()
    try:
        assert not measure.page_faults_counted()
        assert kernel_usage() is None
        kernel = {}
        alternate({'touching': lambda: _touch_new_pages(2**20)}, rounds=1, kernel=kernel)
        assert kernel == {'touching': []}  # left out, not recorded as 0 faults
    finally:
        measure.page_faults_counted.cache_clear()


def test_max_abs_diff_rel():
    a = [torch.tensor([0.0, 2.0]), torch.tensor([1.0, 4.0])]
    b = [torch.tensor([0.0, 2.0]), torch.tensor([1.0, 4.4])]
    assert max_abs_diff_rel(a, b) == pytest.approx(0.1)


@pytest.mark.slow
def test_benchmark_tool_tiny_run(benchmark_tool_run):
    """python -m tools.benchmark --tiny, one round (helpers.runs.benchmark_tool_run, one thread)."""
    result = benchmark_tool_run
    out = Path(result.directory) / 'perf.json'
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(out.read_text())['allocators']
    assert set(runs) == {'default', 'tuned'}  # one child process each (glibc reads it at start)
    assert runs['default']['allocator'] == 'default' and runs['tuned']['allocator'] == 'tuned'
    assert '##### allocator: tuned' in result.stdout
    report = runs['default']
    assert report['torch_threads'] == 1
    assert report['environment']['OMP_NUM_THREADS'] == '1' and 'OMP_NUM_THREADS=1' in result.stdout
    assert set(report['conv_peak_gflops']) and all(v > 0 for v in
                                                   report['conv_peak_gflops'].values())
    by_name = {s['name']: s for s in report['scenarios']}
    assert set(by_name) == {'pose_train', 'pose_infer', 'hg104_train'}
    for scenario in by_name.values():
        rows = {c['contender']: c for c in scenario['contenders']}
        assert rows[scenario['reference']]['ratio'] == 1.0
        assert scenario['target']['contender'] in rows
        for row in rows.values():
            assert row['median_s'] > 0 and row['gflops_per_s'] > 0
            assert row['contender'] in result.stdout
            if kernel_usage() is not None:
                assert len(row['minor_faults']) == len(row['sys_times_s']) == 1
    for name in ('pose_train', ):
        train = {c['contender']: c for c in by_name[name]['contenders']}
        reference_s = train[by_name[name]['reference']]['median_s']
        for row in train.values():  # seconds in convolutions, and as a share of the reference
            assert row['conv_s'] > 0 and row['step_memory_mb'] > 0
            assert row['conv_ratio'] == pytest.approx(row['conv_s'] / reference_s)
            assert f"{row['conv_s']:.3f} ({row['conv_ratio']:.3f})" in result.stdout
    hg104 = {c['contender']: c for c in by_name['hg104_train']['contenders']}
    assert all(c['step_memory_mb'] > 0 for c in hg104.values())
    # checkpointing keeps less: the measurement sees it even at toy sizes
    assert hg104['ours, with_cp=True (per unit, NCHW)']['step_memory_mb'] < \
        hg104['mmdet HourglassNet']['step_memory_mb']
    infer = {c['contender']: c for c in by_name['pose_infer']['contenders']}
    for name in ('ours exported, ONNX Runtime', 'ours exported, OpenVINO'):
        diff = float(infer[name]['check'].split('vs ours eager ')[1].split()[0])
        assert diff <= 1e-4, infer[name]['check']
