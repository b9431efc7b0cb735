"""Measuring contenders side by side: alternating timings, conv FLOPs and time, step memory,
conv peak.

Timing: every round runs each contender once, in turn, in one process, so load from elsewhere
hits all of them alike; a contender's ratio is the median over rounds of its time divided by the
reference's time in the same round. The process's CPU time per step is recorded beside it, and
its ratio too: under load from elsewhere, wall time also counts the waits for a core. So are the
step's minor page faults and system CPU time (``resource.getrusage``, where the OS counts them;
some sandboxes, e.g. gVisor, report 0 faults whatever happens, and then they are left out): on this
machine a new tensor of 32 MiB or more is a fresh ``mmap`` whose pages the kernel faults in one by
one, and what a fault costs drifts with the machine's memory state, so the faults show how much of
a contender's time is the kernel's.

Memory: the bytes that torch's CPU allocator hands out during one step, recorded by
``torch.profiler`` (``profile_memory=True``: one event per allocation and free, with its size).
The peak of their running sum is the step's memory above what was live before it: weights,
gradients (kept between steps: ``zero_grad(set_to_none=False)``) and optimizer state. So it is
the activations and temporaries of forward, backward and the optimizer update, and nothing of
the process's own bookkeeping. oneDNN's scratch buffers come from the same allocator. On CUDA,
``torch.cuda.max_memory_allocated`` minus the memory allocated before the step.
"""
import functools
import mmap
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

try:
    import resource
except ImportError:  # not on Windows: no page fault counts there
    resource = None

import torch
from torch import nn


def conv_flops(model: nn.Module, run: Callable[[], object]) -> int:
    """FLOPs (2 per multiply-add) of every ``nn.Conv2d`` in ``model`` during ``run()``."""
    total = [0]

    def hook(module: nn.Conv2d, inputs, output) -> None:
        kh, kw = module.kernel_size
        total[0] += 2 * output.numel() * (module.in_channels // module.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return total[0]


def conv_peak_gflops(repeats: int = 5) -> Dict[str, float]:
    """Best achieved GFLOP/s of this machine's convs, fp32 channels-last: the hourglass's
    3x3 (128 -> 128) and 1x1 (256 -> 128) convs at 64x64, batch 8."""
    results = {}
    cases = {'conv3x3 128->128 64x64 b8': (128, 128, 3), 'conv1x1 256->128 64x64 b8': (256, 128, 1)}
    for name, (cin, cout, k) in cases.items():
        conv = nn.Conv2d(cin, cout, k, padding=k // 2).to(memory_format=torch.channels_last)
        x = torch.randn(8, cin, 64, 64).contiguous(memory_format=torch.channels_last)
        flops = 2 * 8 * 64 * 64 * cin * cout * k * k
        best = float('inf')
        with torch.no_grad():
            conv(x)
            for _ in range(repeats):
                start = time.perf_counter()
                conv(x)
                best = min(best, time.perf_counter() - start)
        results[name] = flops / best / 1e9
    return results


def conv_seconds(step: Callable[[], object]) -> float:
    """Seconds of one CPU ``step()`` spent in convolutions, forward and backward: the self
    times of the ATen conv ops in ``torch.profiler`` (wall time on the calling thread, which
    runs backward too on CPU; the ops' worker threads work inside it). Whatever else a step
    does, it takes at least this long with these convolutions."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return sum(e.self_cpu_time_total for e in prof.key_averages()
               if e.key.startswith('aten::') and 'conv' in e.key) / 1e6


def step_memory_bytes(step: Callable[[], object], device: torch.device) -> int:
    """Peak bytes allocated during ``step()`` above what was allocated before (module doc)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak


@functools.lru_cache(maxsize=None)
def page_faults_counted(nbytes: int = 8 * 2**20) -> bool:
    """Whether ``getrusage`` counts this process's minor page faults: it must see some when
    ``nbytes`` of fresh anonymous pages (straight from the kernel, whatever the allocator) are
    written. False without ``resource``. Asked once per process (cached)."""
    if resource is None:
        return False
    page = mmap.PAGESIZE
    region = mmap.mmap(-1, nbytes)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for offset in range(0, nbytes, page):
            region[offset] = 1
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    finally:
        region.close()
    return after > before


def kernel_usage() -> Optional[Tuple[int, float]]:
    """(minor page faults, system CPU seconds) of this process so far; None without ``resource``
    or where the OS does not count page faults (:func:`page_faults_counted`)."""
    if resource is None or not page_faults_counted():
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_stime


def alternate(steps: Dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
              sync: Callable[[], None] = lambda: None,
              cpu_times: Optional[Dict[str, List[float]]] = None,
              kernel: Optional[Dict[str, List[Tuple[int, float]]]] = None
              ) -> Dict[str, List[float]]:
    """Wall seconds of each step over ``rounds`` rounds, contenders in turn within each round.

    ``cpu_times``, if given, receives the process's CPU seconds (all threads) of each step: on a
    shared machine wall time includes waiting for a core, CPU time much less so. ``kernel``, if
    given, receives each step's (minor page faults, system CPU seconds) where
    :func:`kernel_usage` has them.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for record in (cpu_times, kernel):
        if record is not None:
            record.update({name: [] for name in steps})
    for _ in range(rounds):
        for name, step in steps.items():
            sync()
            usage_start = kernel_usage()
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            sync()
            times[name].append(time.perf_counter() - start)
            if cpu_times is not None:
                cpu_times[name].append(time.process_time() - cpu_start)
            if kernel is not None and usage_start is not None:
                faults, sys_s = kernel_usage()
                kernel[name].append((faults - usage_start[0], sys_s - usage_start[1]))
    return times


def ratios(times: Dict[str, List[float]], reference: str) -> Dict[str, float]:
    """Median over rounds of each contender's time / the reference's time in that round."""
    ref = times[reference]
    return {name: statistics.median(t / r for t, r in zip(ts, ref)) for name, ts in times.items()}


def max_abs_diff_rel(expected: Sequence[torch.Tensor], got: Sequence[torch.Tensor]) -> float:
    """max |expected - got| over all outputs, divided by the range of ``expected``."""
    diff = max(float((a.float() - b.float()).abs().max()) for a, b in zip(expected, got))
    span = max(float(a.max()) for a in expected) - min(float(a.min()) for a in expected)
    return diff / span if span > 0 else diff
