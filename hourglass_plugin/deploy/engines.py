"""ONNX Runtime and OpenVINO behind one call: ``engine(x)`` -> the graph's outputs, in order.

Both run fp32 on the CPU with as many threads as torch uses (``torch.get_num_threads()``, i.e.
``OMP_NUM_THREADS`` where set), so a comparison with eager PyTorch is like for like:

* ONNX Runtime: CPU execution provider, every graph optimisation (``ORT_ENABLE_ALL``: conv +
  BatchNorm and conv + ReLU fusion, constant folding), sequential execution, its memory arena.
* OpenVINO: the CPU plugin with the ``LATENCY`` performance hint (one stream: one batch at a time
  is what is measured and what evaluation does) and ``INFERENCE_PRECISION_HINT=f32``: on CPUs with
  bf16 or AMX units OpenVINO would otherwise compute in bf16. ``precision='bf16'`` asks for bf16
  explicitly (the same ONNX file); :attr:`Engine.precision` is what the engine then runs in.

``docs/benchmarks.md`` has what the other settings gave.
"""
import functools
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..errors import CheckpointError, UsageError

#: ``--backend`` values: 'pytorch' is the model itself, the others run an exported ONNX file.
BACKENDS = ('pytorch', 'onnxruntime', 'openvino')
#: ``--precision`` values of an engine: fp32 everywhere, bf16 an OpenVINO setting.
PRECISIONS = ('fp32', 'bf16')


class Engine:
    """An exported graph in an inference engine: ``engine(x)`` with ``x`` a (B, 3, H, W) float
    tensor or array returns the graph's outputs as float32 tensors, in the graph's order."""

    backend = ''
    #: the precisions this engine can be asked for (:func:`load_engine` checks)
    precisions = ('fp32', )

    def __init__(self, path: str, threads: Optional[int] = None,
                 precision: str = 'fp32') -> None:
        self.path = path
        self.threads = threads or torch.get_num_threads()
        #: what the engine computes in (an engine may fall back where the CPU lacks a precision)
        self.precision = precision

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        raise NotImplementedError

    def input_shape(self) -> List[Optional[int]]:
        """(B, C, H, W) of the graph's input, None for a dynamic dimension."""
        raise NotImplementedError

    def check_input_size(self, input_size: Tuple[int, int]) -> None:
        """Raise a UsageError naming the file if the graph was exported for another (H, W)."""
        exported = tuple(self.input_shape()[2:])
        if exported != tuple(input_size):
            raise UsageError(f'{self.path} was exported for {exported[0]}x{exported[1]} (HxW) '
                             f'inputs but the config feeds {input_size[0]}x{input_size[1]}')

    def __call__(self, x) -> List[torch.Tensor]:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().contiguous().numpy()
        return [torch.from_numpy(np.ascontiguousarray(y)) for y in self.run(
            np.ascontiguousarray(x, dtype=np.float32))]


class OnnxRuntimeEngine(Engine):
    backend = 'onnxruntime'

    def __init__(self, path: str, threads: Optional[int] = None,
                 precision: str = 'fp32') -> None:
        super().__init__(path, threads, precision)
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: x})

    def input_shape(self) -> List[Optional[int]]:
        return [d if isinstance(d, int) else None for d in self.session.get_inputs()[0].shape]


@functools.lru_cache(maxsize=None)
def openvino_core():
    """The process's one ``openvino.Core``, which every OpenVINO engine and reader here shares.

    One, kept for the life of the process, because OpenVINO's CPU plugin (2026.4) installs an
    alternate signal stack of its own in the thread that creates it and, when destroyed, puts
    back the one it found. With a ``Core`` per engine, two engines destroyed in the order they
    were made leave the first plugin's stack installed after it was unmapped; the next signal
    with an ``SA_ONSTACK`` handler (every Python signal handler, e.g. the SIGCHLD handler of a
    DataLoader with workers) is then written to unmapped memory (SIGSEGV) or to memory reused
    since (heap corruption).
    """
    import openvino as ov
    return ov.Core()


class OpenVinoEngine(Engine):
    backend = 'openvino'
    precisions = ('fp32', 'bf16')
    _HINTS = {'fp32': 'f32', 'bf16': 'bf16'}

    def __init__(self, path: str, threads: Optional[int] = None,
                 precision: str = 'fp32') -> None:
        super().__init__(path, threads, precision)
        core = openvino_core()
        if precision == 'bf16' and 'BF16' not in core.get_property(
                'CPU', 'OPTIMIZATION_CAPABILITIES'):
            precision = 'fp32'  # not asked of a CPU plugin that has no bf16 kernels here
        config = {'PERFORMANCE_HINT': 'LATENCY',
                  'INFERENCE_PRECISION_HINT': self._HINTS[precision],
                  'INFERENCE_NUM_THREADS': self.threads}
        self.compiled = core.compile_model(core.read_model(path), 'CPU', config)
        used = self.compiled.get_property('INFERENCE_PRECISION_HINT')  # an openvino.Type
        used = used.to_string() if hasattr(used, 'to_string') else str(used)
        self.precision = {hint: name for name, hint in self._HINTS.items()}.get(used, used)
        self.request = self.compiled.create_infer_request()
        self.num_outputs = len(self.compiled.outputs)

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        self.request.infer({0: x})
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.num_outputs)]

    def input_shape(self) -> List[Optional[int]]:
        return [d.get_length() if d.is_static else None
                for d in self.compiled.inputs[0].get_partial_shape()]


_ENGINES = {e.backend: e for e in (OnnxRuntimeEngine, OpenVinoEngine)}


def check_precision(backend: str, precision: str) -> None:
    """``--backend backend --precision precision`` is a setting there is, else one user error
    naming it: PyTorch computes in fp32 (bf16 is its ``--amp``), an engine in the precisions it
    can be asked for."""
    if backend not in BACKENDS:
        raise UsageError(f'--backend {backend}: choose one of {", ".join(BACKENDS)}')
    if precision not in PRECISIONS:
        raise UsageError(f'--precision {precision}: choose one of {", ".join(PRECISIONS)}')
    if backend == 'pytorch' and precision != 'fp32':
        raise UsageError(f'--precision {precision} is an engine setting (--backend openvino); '
                         'eager PyTorch computes in bf16 with --amp')
    if backend != 'pytorch' and precision not in _ENGINES[backend].precisions:
        raise UsageError(f'--precision {precision}: --backend {backend} runs '
                         f'{" or ".join(_ENGINES[backend].precisions)}')


def load_engine(backend: str, path: str, threads: Optional[int] = None,
                precision: str = 'fp32') -> Engine:
    """The exported graph at ``path`` (an ``.onnx`` file; OpenVINO also reads its ``.xml``) in
    ``backend``, asked to compute in ``precision``; one user error naming the file when it is
    not a graph the engine can run."""
    if backend not in _ENGINES:
        raise ValueError(f'backend={backend!r}; an exported graph runs in one of '
                         f'{sorted(_ENGINES)}')
    check_precision(backend, precision)
    if not osp.isfile(path):
        raise FileNotFoundError(f'exported model {path} does not exist')
    if not path.endswith(('.onnx', '.xml')):
        raise UsageError(f'--backend {backend} runs an exported .onnx file, got {path}; export a '
                         'checkpoint with tools/export.py CONFIG CHECKPOINT --out MODEL.onnx')
    try:
        return _ENGINES[backend](path, threads, precision)
    except ImportError as error:
        raise ImportError(f'--backend {backend} needs the deploy extra: '
                          f'pip install "hourglass_plugin[deploy]" ({error})') from error
    except Exception as error:  # the engines' own exception types (ORT's Fail, OpenVINO's)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f'{path}: {backend} cannot load it: {first}') from error
