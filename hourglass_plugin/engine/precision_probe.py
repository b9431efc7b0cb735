"""Whether bf16 trains faster than fp32 on this CPU, measured rather than read from its flags.

``avx512_bf16`` or AMX in ``/proc/cpuinfo`` says that a CPU has bf16 instructions, not that they
are faster than its fp32 ones: on a 2-core Intel Xeon with ``avx512_bf16`` and no AMX a bf16
training step of Newell's hg8 takes 1.53 times the fp32 one, on an AMD EPYC with the same flag
0.50 times (``docs/benchmarks.md``, ``pose_train``). The probe times the operation that
dominates a stacked hourglass's training step, a 3x3 convolution of 128 features at 32x32 for 16
crops, forward and backward, channels-last, in fp32 and under bf16 autocast.
"""
import time
from typing import Callable, Tuple

import torch

#: bf16 is chosen where its probe takes at most this share of fp32's time
BF16_MARGIN = 0.9
#: the probe's input: (batch, channels, height, width), as a hg2-f128 stack at 128x128 crops
PROBE_SHAPE = (16, 128, 32, 32)


def probe_seconds(bf16: bool, repeats: int = 5) -> float:
    """The fastest of ``repeats`` timed forward and backward passes of the probe convolution
    (after one untimed pass), under bf16 autocast when ``bf16``, in seconds."""
    if repeats < 1:
        raise ValueError(f'repeats={repeats}: time at least one pass')
    generator = torch.Generator().manual_seed(0)
    channels = PROBE_SHAPE[1]
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(
        memory_format=torch.channels_last)
    x = torch.randn(PROBE_SHAPE, generator=generator).contiguous(
        memory_format=torch.channels_last).requires_grad_()

    def one_pass() -> None:
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            y = conv(x)
        y.float().sum().backward()

    one_pass()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - start)
    return min(times)


def faster_precision(probe: Callable[[bool], float] = probe_seconds) -> Tuple[str, str]:
    """(``'bf16'`` or ``'fp32'``, why, with the two times): bf16 where ``probe(True)`` takes at
    most :data:`BF16_MARGIN` of ``probe(False)``."""
    fp32, bf16 = probe(False), probe(True)
    times = (f"a 3x3 convolution's forward and backward took {bf16 * 1e3:.1f} ms in bf16 "
             f'against {fp32 * 1e3:.1f} ms in fp32')
    if bf16 <= BF16_MARGIN * fp32:
        return 'bf16', f'this CPU computes bf16 natively and faster: {times}'
    return 'fp32', f'this CPU has bf16 instructions, but {times}: fp32 is the faster here'
