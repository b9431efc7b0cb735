"""bfloat16 mixed-precision training through mmengine's Runner, on CPUs too.

mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU/MUSA device. bfloat16 needs none of what it
adds there (bf16 has fp32's exponent range, so no loss scaler), only the autocast around the
forward, which torch offers on the CPU: convolutions and matrix products run in bf16 (oneDNN's
AVX512-BF16 kernels), while the weights, the optimizer state, BatchNorm's running statistics and the
loss stay fp32. A checkpoint is therefore an ordinary fp32 one, and a run resumes in either
precision.

    optim_wrapper = dict(type='BF16OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
"""
import functools
from contextlib import contextmanager
from typing import Tuple

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from ..errors import ConfigError
from .precision_probe import faster_precision, probe_seconds

#: /proc/cpuinfo flags of x86 CPUs that compute bf16 in hardware (elsewhere torch emulates it,
#: slower than fp32).
NATIVE_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
#: what is said where bf16 was asked for and the CPU lacks those units
NO_NATIVE_BF16 = ('this CPU has no native bf16 (avx512_bf16 or AMX), where emulated bf16 is '
                  'slower than fp32')


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16(cpuinfo: str = '/proc/cpuinfo') -> bool:
    """Whether this CPU computes bf16 in hardware (``avx512_bf16`` or AMX)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(':', 1)[1].split() for line in f
                          if line.startswith('flags')), [])
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


class BF16OptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward (``optim_context``) runs under bfloat16 autocast.

    On the CPU it autocasts only where the CPU has native bf16; elsewhere it says so once and
    trains in fp32. On a GPU it autocasts to bf16 as ``AmpOptimWrapper(dtype='bfloat16')`` does.

    Args:
        enabled (bool): False trains in fp32 (the same wrapper, for a config switch).
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).
    """

    def __init__(self, enabled: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.enabled = enabled
        self._said = False

    def autocast_device(self, model: torch.nn.Module) -> str:
        """The device type to autocast on: where the model's first parameter lives."""
        param = next(model.parameters(), None)
        return 'cpu' if param is None else param.device.type

    def precision(self, device_type: str) -> str:
        """'bf16' or 'fp32': what the forward runs in on ``device_type``."""
        if not self.enabled:
            return 'fp32'
        if device_type == 'cpu' and not cpu_has_native_bf16():
            return 'fp32'
        return 'bf16'

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = self.autocast_device(model)
        precision = self.precision(device_type)
        if not self._said:
            self._said = True
            if self.enabled and precision == 'fp32':
                print_log(f'BF16OptimWrapper: {NO_NATIVE_BF16}: training in fp32',
                          logger='current', level=30)
            else:
                print_log(f'BF16OptimWrapper: forward in {precision} on {device_type}; weights, '
                          'BatchNorm statistics and loss in fp32', logger='current')
        with super().optim_context(model):
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16,
                                enabled=precision == 'bf16'):
                yield


def amp_precision() -> Tuple[str, str]:
    """(``'bf16'`` or ``'fp32'``, why): the faster precision to train in on this machine, for
    ``--precision auto``: bf16 on a GPU; on a CPU with native bf16 the one a probe measures
    faster (:func:`~.precision_probe.faster_precision`); fp32 elsewhere."""
    if torch.cuda.is_available():
        return 'bf16', 'a GPU: mixed precision, tools/train.py --amp'
    if not cpu_has_native_bf16():
        return 'fp32', 'this CPU has no native bf16, which it would only emulate, slower'
    return faster_precision(probe_seconds)


def use_amp_in_test(cfg) -> None:
    """``tools/test.py --amp``: mmengine's ``TestLoop(fp16=True)``, which autocasts to bf16 on a
    CPU; a CPU without native bf16 says so and tests in fp32."""
    if not torch.cuda.is_available() and not cpu_has_native_bf16():
        print_log(f'--amp: {NO_NATIVE_BF16}: testing in fp32', logger='current', level=30)
        return
    cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    print_log('--amp: the test forward runs under autocast (bf16 on a CPU)', logger='current')


def use_amp(cfg) -> None:
    """``tools/train.py --amp`` (mmpose's flag) for any config: bf16 autocast through
    :class:`BF16OptimWrapper` on a CPU; on a GPU what mmpose's ``tools/train.py --amp`` does
    (``AmpOptimWrapper``, dynamic loss scale)."""
    wrapper = cfg.optim_wrapper
    if torch.cuda.is_available():
        wrapper.type, wrapper.loss_scale = 'AmpOptimWrapper', 'dynamic'
    elif wrapper.get('type', 'OptimWrapper') in ('OptimWrapper', 'BF16OptimWrapper'):
        wrapper.type = 'BF16OptimWrapper'
    else:
        raise ConfigError(f"--amp: optim_wrapper.type is {wrapper.type!r}; bf16 on the CPU "
                          "replaces 'OptimWrapper' only")
