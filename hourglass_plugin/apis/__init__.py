"""What the tools are made of, one call each (the shape of ``mmpose.apis``): each takes a config
(``hourglass_plugin.cli.load_config`` reads one with the command line's overrides) and leaves it
unchanged; each checks its inputs before anything slow or written.

* :func:`train_model`: train, or resume a killed run (``tools/train.py``);
* :func:`test_model`: evaluate a checkpoint or an exported graph, and/or benchmark it
  (``tools/test.py``); :func:`describe_model`: parameters and GMACs (``tools/model_info.py``);
* :func:`export_model`: ONNX export checked against PyTorch, INT8 OpenVINO IR
  (``tools/export.py``);
* :func:`init_estimator`, :func:`infer_images`: poses drawn on images (``tools/infer.py``);
* :func:`test_views`: the test set rotated and with rescaled boxes (``tools/robustness.py``).
"""
from .exporting import export_model
from .inference import infer_images, init_estimator
from .testing import describe_model, test_model
from .training import train_model
from .views import test_views

__all__ = ['describe_model', 'export_model', 'infer_images', 'init_estimator', 'test_model',
           'test_views', 'train_model']
