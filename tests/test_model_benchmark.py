"""The model benchmark (hourglass_plugin/model_benchmark.py) that tools/test.py --benchmark runs."""
import json
import os.path as osp
import re
import subprocess

import pytest
import torch
from mmengine.config import Config

from helpers.models import build_tiny_model
from helpers.paths import TINY
from helpers.processes import run_tool
from hourglass_plugin.model_benchmark import (BenchmarkResult, benchmark_model, check_run_counts,
                                              count_gmacs, device_name, format_table, write_json)
from hourglass_plugin.run import input_size_from_config

RESULT_KEYS = {f.name for f in BenchmarkResult.__dataclass_fields__.values()}


@pytest.fixture(scope='module')
def tiny_model() -> torch.nn.Module:
    return build_tiny_model()


def run_test_tool(*args: str) -> subprocess.CompletedProcess:
    # one thread: keeps the run light on a shared machine, and checks that the reported thread
    # count is the real one, not a constant
    return run_tool('test.py', *args, threads=1)


def test_benchmark_numbers_are_consistent(tiny_model):
    result = benchmark_model(tiny_model, (64, 64), batch_size=2, repeats=5, warmup=1)
    assert result.params == sum(p.numel() for p in tiny_model.parameters())
    assert result.input_shape == [2, 3, 64, 64] and result.batch_size == 2
    assert result.warmup == 1 and result.repeats == 5
    assert result.throughput_img_s > 0
    assert 0 < result.latency_ms_p50 <= result.latency_ms_p90
    # throughput is images over the summed batch latencies
    assert result.throughput_img_s == pytest.approx(2 * 1000 / result.latency_ms_mean, rel=1e-6)
    assert result.gmacs_per_image == pytest.approx(count_gmacs(tiny_model.backbone, 64, 64))
    assert result.gmacs_per_image > 0
    assert result.torch_threads == torch.get_num_threads()
    assert result.device == 'cpu' and result.device_name == device_name(torch.device('cpu'))
    assert result.peak_memory_mb >= 0 and result.process_peak_rss_mb > 0
    assert 'ru_maxrss' in result.peak_memory_method
    assert result.model == 'TopdownPoseEstimator / StackedHourglass / StackedHourglassHead'


def test_gmacs_follow_the_input_size(tiny_model):
    # every layer is a convolution over the image: four times the pixels, four times the MACs
    small = count_gmacs(tiny_model.backbone, 64, 64)
    assert count_gmacs(tiny_model.backbone, 128, 128) == pytest.approx(4 * small, rel=1e-6)


def test_cpu_name_comes_from_proc_cpuinfo():
    if not osp.isfile('/proc/cpuinfo'):
        pytest.skip('no /proc/cpuinfo on this system')
    with open('/proc/cpuinfo') as cpuinfo:
        names = [line.split(':', 1)[1].strip() for line in cpuinfo
                 if line.startswith('model name')]
    if not names:
        pytest.skip('/proc/cpuinfo names no CPU model here')
    assert device_name(torch.device('cpu')) == names[0]


def test_input_size_is_height_width_from_codec_or_shape():
    cfg = Config(dict(codec=dict(input_size=(48, 64))))  # mmpose: (W, H)
    assert input_size_from_config(cfg) == (64, 48)
    assert input_size_from_config(cfg, [32, 16]) == (32, 16)
    with pytest.raises(ValueError, match='--shape H W'):
        input_size_from_config(Config(dict(model=dict())))
    with pytest.raises(ValueError, match='--shape 0 16'):
        input_size_from_config(cfg, [0, 16])


@pytest.mark.parametrize('counts, message', [((0, 5, 1), '--batch-size must be >= 1, got 0'),
                                             ((1, 0, 1), '--repeats must be >= 1, got 0'),
                                             ((1, 5, -1), '--warmup must be >= 0, got -1')])
def test_bad_run_counts_are_refused(counts, message):
    with pytest.raises(ValueError, match=message):
        check_run_counts(*counts)


def test_table_and_json_carry_the_numbers(tiny_model, tmp_path):
    result = benchmark_model(tiny_model, (64, 64), batch_size=1, repeats=3, warmup=0)
    table = format_table(result)
    assert f'{result.params:,}' in table
    assert f'{result.throughput_img_s:.2f} img/s' in table
    assert f'{result.latency_ms_p90:.1f} ms' in table
    assert result.device_name in table and result.peak_memory_method in table
    path = tmp_path / 'sub' / 'benchmark.json'
    write_json(result, str(path), config='c.py')
    written = json.loads(path.read_text())
    assert set(written) == RESULT_KEYS | {'config'}
    assert written['params'] == result.params
    assert written['latency_ms_p50'] == result.latency_ms_p50


@pytest.mark.slow
def test_tools_test_evaluates_then_benchmarks(tiny_checkpoint, sample_head_boxes, tmp_path):
    result = run_test_tool(
        TINY, tiny_checkpoint, '--work-dir', str(tmp_path), '--cfg-options',
        f'test_dataloader.dataset.headbox_file={sample_head_boxes}', '--benchmark', '--batch-size',
        '2', '--repeats', '3', '--warmup', '1')
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r'\] 1/1, [\d.]+ task/s', out), out[-3000:]  # the test loop's progress bar
    assert re.search(r'^PCK +\| \d+\.\d{4}$', out, re.M), out[-3000:]  # the metric table
    benchmark = json.loads((tmp_path / 'benchmark.json').read_text())
    assert RESULT_KEYS <= set(benchmark)
    assert benchmark['checkpoint'] == tiny_checkpoint and benchmark['config'] == TINY
    assert benchmark['input_shape'] == [2, 3, 64, 64]
    assert benchmark['torch_threads'] == 1  # OMP_NUM_THREADS=1 in the child
    assert benchmark['params'] == sum(p.numel() for p in build_tiny_model().parameters())
    assert benchmark['latency_ms_p90'] >= benchmark['latency_ms_p50'] > 0
    # the printed table shows the same run as the JSON
    assert f'{benchmark["throughput_img_s"]:.2f} img/s' in out
    assert re.search(r'torch threads +\| 1$', out, re.M)
    assert f'{benchmark["params"]:,}' in out
    assert out.index('PCK') < out.index('img/s')  # evaluation first, benchmark after


@pytest.mark.slow
def test_tools_test_benchmark_only_needs_no_dataset(tiny_checkpoint, tmp_path, run_tool_here):
    # no head-box file: an evaluation would fail, so none may run
    result = run_tool_here('test.py', TINY, tiny_checkpoint, '--work-dir', str(tmp_path),
                           '--benchmark-only', '--shape', '32', '48', '--repeats', '2',
                           '--warmup', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert not re.search(r'^PCK +\|', result.stdout, re.M)  # no metric table
    assert 'task/s' not in result.stdout  # no test loop, so no progress bar
    benchmark = json.loads((tmp_path / 'benchmark.json').read_text())
    assert benchmark['input_shape'] == [1, 3, 32, 48]
    assert benchmark['repeats'] == 2 and benchmark['warmup'] == 0
    assert '1x3x32x48' in result.stdout


@pytest.mark.slow
def test_tools_test_bad_batch_size_is_one_line(tiny_checkpoint, tmp_path, run_tool_here):
    result = run_tool_here('test.py', TINY, tiny_checkpoint, '--work-dir', str(tmp_path),
                           '--benchmark-only', '--batch-size', '0')
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert errors == ['error: --batch-size must be >= 1, got 0'], result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'benchmark.json').exists()
