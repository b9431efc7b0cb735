"""Speed and size of a model's forward pass: parameters, GMACs, throughput, latency, peak memory.

What is timed is the model's network forward (``mode='tensor'``: backbone and head, no data
preprocessing, no decoding, no flip test) on random inputs of the config's input size, under
``torch.inference_mode()``, after warm-up runs, one batch at a time. On CUDA every timed batch is
synchronized, so a latency is the whole batch's time on the device.

Peak memory, with the method named in the result:

- CUDA: ``torch.cuda.max_memory_allocated`` over warm-up and timed runs (weights included).
- CPU: how much the process's peak resident set size (``ru_maxrss``) grew over warm-up and timed
  runs. It is a high-water mark of the whole process: if an earlier step (an evaluation, a larger
  batch) already peaked higher, the increase reads 0 although the forward did allocate memory. The
  process peak itself is reported beside it. (tracemalloc would not see torch's allocations.)

GMACs are counted after the timed runs, for the same reason: mmengine's counter traces forwards.
"""
import dataclasses
import json
import platform
import resource
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.analysis import get_model_complexity_info
from torch import nn

# ru_maxrss is in kilobytes on Linux (bytes on macOS)
_RU_MAXRSS_TO_MB = 1 / 1024 if platform.system() != 'Darwin' else 1 / 1024**2


@dataclasses.dataclass
class BenchmarkResult:
    """One benchmark of one model at one input shape on one device; every field goes to JSON."""

    model: str  #: class names: estimator / backbone / head
    backend: str  #: what runs the network: 'pytorch', 'onnxruntime' or 'openvino'
    device: str  #: torch device, e.g. ``cpu`` or ``cuda:0``
    device_name: str  #: CPU model name from /proc/cpuinfo, or the GPU's name
    torch_threads: int  #: ``torch.get_num_threads()`` during the runs
    torch_version: str
    input_shape: List[int]  #: (B, 3, H, W) of the timed forward
    batch_size: int
    warmup: int  #: untimed runs before the timed ones
    repeats: int  #: timed runs, one batch each
    params: int  #: parameters of the whole model
    gmacs_per_image: float  #: backbone multiply-adds for one image, in 1e9 (mmengine's counter)
    gmacs_scope: str  #: what the GMACs cover
    throughput_img_s: float  #: images per second over the timed runs
    latency_ms_p50: float  #: median time of one batch
    latency_ms_p90: float
    latency_ms_mean: float
    peak_memory_mb: float  #: see ``peak_memory_method``
    peak_memory_method: str
    process_peak_rss_mb: Optional[float]  #: CPU only: the process's ru_maxrss after the runs

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model name (first ``model name`` line of /proc/cpuinfo)."""
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:  # not Linux: fall through to what platform knows
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def count_macs(backbone: nn.Module, height: int, width: int) -> int:
    """Multiply-adds of the backbone for one 3xHxW image (mmengine's FlopAnalyzer).

    mmengine counts one multiply-add as one "flop", so its ``flops`` are MACs; OpenMMLab's
    metafiles report that count as ``FLOPs``.
    """
    device = next(backbone.parameters()).device
    inputs = (torch.randn(1, 3, height, width, device=device), )
    info = get_model_complexity_info(backbone, inputs=inputs, show_table=False, show_arch=False)
    return int(info['flops'])


def count_gmacs(backbone: nn.Module, height: int, width: int) -> float:
    """:func:`count_macs` in 1e9."""
    return count_macs(backbone, height, width) / 1e9


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RU_MAXRSS_TO_MB


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def check_run_counts(batch_size: int, repeats: int, warmup: int) -> None:
    """Raise a UsageError, naming the argument, for counts the benchmark cannot run with."""
    from hourglass_plugin.errors import UsageError
    if batch_size < 1:
        raise UsageError(f'--batch-size must be >= 1, got {batch_size}')
    if repeats < 1:
        raise UsageError(f'--repeats must be >= 1, got {repeats}')
    if warmup < 0:
        raise UsageError(f'--warmup must be >= 0, got {warmup}')


def benchmark_model(model: nn.Module,
                    input_size: Tuple[int, int],
                    batch_size: int = 1,
                    repeats: int = 20,
                    warmup: int = 5,
                    counted: Optional[nn.Module] = None) -> BenchmarkResult:
    """Measure ``model`` (an mmpose/mmdet model with a ``backbone``) on its own device.

    Args:
        model: the model, already on its device; it is put in eval mode.
        input_size: (H, W) of the input images.
        batch_size: images per forward.
        repeats: timed forwards; latencies are per forward (per batch).
        warmup: untimed forwards before, so that lazy initialisation and allocator growth are
            not timed.
        counted: the PyTorch model whose parameters and backbone GMACs are reported; default
            ``model`` (an estimator whose network is an exported graph has none of its own).

    Returns:
        The measurements; see :class:`BenchmarkResult` and the module docstring.
    """
    check_run_counts(batch_size, repeats, warmup)
    counted = model if counted is None else counted
    if not hasattr(counted, 'backbone'):
        raise ValueError(f'{type(counted).__name__} has no backbone to count GMACs on')
    height, width = input_size
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device  # an engine's: the CPU
    params = sum(p.numel() for p in counted.parameters())

    inputs = torch.randn(batch_size, 3, height, width, device=device)  # (B, 3, H, W)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    rss_before_mb = _max_rss_mb()
    latencies_s = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(inputs, None, mode='tensor')
        _synchronize(device)
        for _ in range(repeats):
            start = time.perf_counter()
            model(inputs, None, mode='tensor')
            _synchronize(device)
            latencies_s.append(time.perf_counter() - start)

    if device.type == 'cuda':
        peak_mb = torch.cuda.max_memory_allocated(device) / 1024**2
        method = 'torch.cuda.max_memory_allocated over warm-up + timed runs (weights included)'
        process_peak = None
    else:
        process_peak = _max_rss_mb()
        peak_mb = process_peak - rss_before_mb
        method = ('increase of the process peak RSS (ru_maxrss) over warm-up + timed runs; '
                  '0 if an earlier step peaked higher')

    # after the timed runs: FlopAnalyzer's traced forwards would otherwise set the process's
    # peak RSS before the runs and hide their memory
    gmacs = count_gmacs(counted.backbone, height, width)
    latencies_ms = np.array(latencies_s) * 1e3
    head = getattr(model, 'head', None)  # mmpose
    if head is None:
        head = getattr(model, 'bbox_head', None)  # mmdet
    names = [type(model).__name__, type(model.backbone).__name__]
    if head is not None:
        names.append(type(head).__name__)
    return BenchmarkResult(
        model=' / '.join(names),
        # an exported graph in the place of the network (ExportedGraph) says which engine
        backend=getattr(model.backbone, 'backend', 'pytorch'),
        device=str(device),
        device_name=device_name(device),
        torch_threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        input_shape=[batch_size, 3, height, width],
        batch_size=batch_size,
        warmup=warmup,
        repeats=repeats,
        params=params,
        gmacs_per_image=gmacs,
        gmacs_scope='backbone, one image',
        throughput_img_s=batch_size * repeats / float(np.sum(latencies_s)),
        latency_ms_p50=float(np.percentile(latencies_ms, 50)),
        latency_ms_p90=float(np.percentile(latencies_ms, 90)),
        latency_ms_mean=float(latencies_ms.mean()),
        peak_memory_mb=peak_mb,
        peak_memory_method=method,
        process_peak_rss_mb=process_peak)


def format_table(result: BenchmarkResult) -> str:
    """The result as a two-column text table, one measurement a row."""
    shape = 'x'.join(str(size) for size in result.input_shape)
    memory = f'{result.peak_memory_mb:.1f} MB'
    if result.process_peak_rss_mb is not None:
        memory += f' (process peak RSS {result.process_peak_rss_mb:.1f} MB)'
    rows = [
        ('model', result.model),
        ('backend', result.backend),
        ('device', f'{result.device} ({result.device_name})'),
        ('torch threads', str(result.torch_threads)),
        ('input (B x C x H x W)', shape),
        ('warm-up / timed runs', f'{result.warmup} / {result.repeats}'),
        ('parameters', f'{result.params:,}'),
        ('GMACs per image', f'{result.gmacs_per_image:.3f} ({result.gmacs_scope})'),
        ('throughput', f'{result.throughput_img_s:.2f} img/s'),
        ('latency p50 (per batch)', f'{result.latency_ms_p50:.1f} ms'),
        ('latency p90 (per batch)', f'{result.latency_ms_p90:.1f} ms'),
        ('peak memory', memory),
        ('peak memory method', result.peak_memory_method),
    ]
    width = max(len(name) for name, _ in rows)
    rule = '-' * (width + 2) + '+' + '-' * (max(len(value) for _, value in rows) + 2)
    lines = [rule] + [f' {name:<{width}} | {value}' for name, value in rows] + [rule]
    return '\n'.join(lines)


def write_json(result: BenchmarkResult, path: str, **extra: Any) -> None:
    """Write the result (plus ``extra`` keys such as config and checkpoint) as JSON to ``path``."""
    from .checkpoint import atomic_write
    atomic_write(path, json.dumps(dict(result.to_dict(), **extra), indent=2) + '\n')
