"""Inference outside PyTorch: ONNX export of a model's network, and the engines that run it.

* :mod:`.export`: ``torch.onnx.export`` (torch's dynamo exporter) of backbone + head, image in,
  heatmaps (pose) or every stack's features (detection) out, and the parity check against the
  PyTorch model that every export ends with.
* :mod:`.engines`: ONNX Runtime and OpenVINO sessions behind one call;
* :mod:`.backend_model`: ``ExportedGraph``, an engine as a module in the place of a pose
  estimator's network, and :func:`~.backend_model.engine_model_config`, the config of an
  estimator built with it: data preprocessing, flip test and decoding stay mmpose's own.

onnx, onnxscript, onnxruntime and openvino are imported only here, and only when asked for
(``pip install hourglass_plugin[deploy]``).
"""
from .backend_model import ExportedGraph, engine_model_config, is_pose_model
from .engines import BACKENDS, load_engine
from .export import export_onnx, parity

__all__ = ['BACKENDS', 'ExportedGraph', 'engine_model_config', 'export_onnx', 'is_pose_model',
           'load_engine', 'parity']
