"""Inference outside PyTorch: ONNX export of a model's network, and the engines that run it.

* :mod:`.export`: ``torch.onnx.export`` (torch's dynamo exporter) of backbone + head, image in,
  heatmaps (pose) or every stack's features (detection) out, and the parity check against the
  PyTorch model that every export ends with.
* :mod:`.engines`: ONNX Runtime and OpenVINO sessions behind one call, and
  :func:`~.engines.run_with_engine`, which makes an mmpose model's network run in an engine while
  its data preprocessing, flip test and decoding stay mmpose's own.

onnx, onnxscript, onnxruntime and openvino are imported only here, and only when asked for
(``pip install hourglass_plugin[deploy]``).
"""
from .engines import BACKENDS, load_engine, run_with_engine
from .export import export_onnx, parity

__all__ = ['BACKENDS', 'export_onnx', 'load_engine', 'parity', 'run_with_engine']
