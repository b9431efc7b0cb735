"""The engines' own settings side by side: what ``hourglass_plugin.deploy.engines`` chose, and
the alternatives, on the Newell hg8 exported as ``tools/export.py`` exports it.

* ONNX Runtime with all its threads on the whole batch (the default), and two sessions of one
  thread each on half the batch, run in two Python threads (ORT releases the GIL);
* OpenVINO with the ``LATENCY`` hint on the whole batch (the default), and the ``THROUGHPUT``
  hint with two streams, half the batch each, through an ``AsyncInferQueue``.

Reference: the default ONNX Runtime session.
"""
import tempfile
import threading
from typing import Dict

import numpy as np
import torch

from .measure import conv_flops

DEFAULT = 'ONNX Runtime, 2 threads on the batch (default)'


def _split_run(engines, x: np.ndarray):
    """Each engine on its share of the batch, in threads of their own."""
    workers = [threading.Thread(target=engine.run, args=(half, ))
               for engine, half in zip(engines, np.array_split(x, len(engines)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def engine_settings(stacks: int = 8, order: int = 4, batch: int = 8, size: int = 256,
                    rounds: int = 5) -> Dict:
    import openvino as ov

    from hourglass_plugin.deploy import export_onnx, load_engine
    from hourglass_plugin.deploy.engines import openvino_core
    from .scenarios import _result, _timed, pose_models
    threads = torch.get_num_threads()
    _, ours = pose_models(stacks, order, torch.device('cpu'))
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = f'{tmp}/hg.onnx'
        export_onnx(ours.eval(), path, (size, size))
        whole = load_engine('onnxruntime', path)  # the project's sessions, as --backend runs them
        split = [load_engine('onnxruntime', path, threads=1) for _ in range(threads)]
        latency = load_engine('openvino', path)
        core = openvino_core()  # the engines' own: see its docstring
        streams = core.compile_model(core.read_model(path), 'CPU', {
            'PERFORMANCE_HINT': 'THROUGHPUT', 'NUM_STREAMS': threads,
            'INFERENCE_NUM_THREADS': threads, 'INFERENCE_PRECISION_HINT': 'f32'})
    queue = ov.AsyncInferQueue(streams, threads)

    def throughput() -> None:
        for half in np.array_split(x, threads):
            queue.start_async({0: half})
        queue.wait_all()

    runs = {
        DEFAULT: lambda: whole.run(x),
        f'ONNX Runtime, {threads} sessions of 1 thread, batch split': lambda: _split_run(split, x),
        'OpenVINO, LATENCY hint (default)': lambda: latency.run(x),
        f'OpenVINO, THROUGHPUT hint, {threads} streams, batch split': throughput,
    }
    timed = _timed(runs, rounds, torch.device('cpu'))
    x_torch = torch.from_numpy(x)
    flops = conv_flops(ours, lambda: ours(x_torch))
    return _result('engine_settings', timed, DEFAULT, {k: flops for k in runs},
                   setting=f'Newell hg{stacks} (order {order}) exported, {size}x{size}, '
                   f'batch {batch}, fp32, inference', target=None)
