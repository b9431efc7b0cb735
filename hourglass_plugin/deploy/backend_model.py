"""An exported graph as a module in the place of a pose estimator's network (mmdeploy's backend
model is the pattern): the estimator is built from its config with ``ExportedGraph`` as the
backbone and a head without layers, so that mmpose's data preprocessor, flip test, decoding and
evaluators run around the engine exactly as they run around the PyTorch network.
"""
import copy
from typing import Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import BaseModule

from ..errors import ConfigError
from .engines import load_engine


class ExportedGraph(BaseModule):
    """The network of a pose estimator (backbone and head layers), run by an inference engine
    from a graph that ``tools/export.py`` wrote.

    Args:
        file (str): the ``.onnx`` file (OpenVINO also reads an ``.xml``).
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        precision (str): what the engine is asked to compute in (``'fp32'``; ``'bf16'`` for
            OpenVINO). :attr:`precision` is what it computes in.
        input_size (Sequence[int], optional): (W, H) the config feeds, as mmpose's codecs
            write it; a graph exported for another size is refused when the module is built.
        threads (int, optional): engine threads; default torch's.

    Shape:
        x: (B, 3, H, W) -> a tuple of one tensor (B, K, H/4, W/4): the graph's last output,
        the heatmaps the head decodes.
    """

    def __init__(self, file: str, backend: str = 'onnxruntime', precision: str = 'fp32',
                 input_size: Optional[Sequence[int]] = None, threads: Optional[int] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.file = file
        self.engine = load_engine(backend, file, threads=threads, precision=precision)
        print_log(f'{backend} computes in {self.engine.precision}', logger='current')
        if input_size is not None:
            width, height = input_size
            self.engine.check_input_size((int(height), int(width)))

    @property
    def backend(self) -> str:
        return self.engine.backend

    @property
    def precision(self) -> str:
        return self.engine.precision

    def init_weights(self) -> None:
        """The weights are in the graph."""

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.engine(x)[-1].to(x.device), )


def is_pose_model(model_cfg) -> bool:
    """Whether the config's ``model`` is an mmpose pose estimator, by its registered type."""
    from mmengine.registry import init_default_scope
    from mmpose.models.pose_estimators.base import BasePoseEstimator
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    model_type = MODELS.get(model_cfg.get('type', '')) if isinstance(model_cfg, dict) else None
    return isinstance(model_type, type) and issubclass(model_type, BasePoseEstimator)


def engine_model_config(cfg: Config, file: str, backend: str, precision: str = 'fp32') -> Config:
    """A copy of ``cfg`` whose pose estimator runs its network in ``backend`` from ``file``:
    ``ExportedGraph`` as the backbone, no neck, the head's layers left out (it only decodes);
    data preprocessing, flip test, decoding and metrics as configured."""
    if not is_pose_model(cfg.model):
        raise ConfigError(f"model.type={cfg.model.get('type')!r} is not an mmpose pose "
                          'estimator: only pose configs evaluate through an exported graph')
    head = cfg.model.get('head') or {}
    if head.get('type') != 'StackedHourglassHead':
        raise ConfigError(f"model.head.type={head.get('type')!r}: an exported graph replaces "
                          "the network of a 'StackedHourglassHead' model")
    cfg = copy.deepcopy(cfg)
    head = cfg.model.head
    decoder = head.get('decoder') or {}
    cfg.model.backbone = ConfigDict(type='ExportedGraph', file=file, backend=backend,
                                    precision=precision, input_size=decoder.get('input_size'))
    cfg.model.pop('neck', None)
    cfg.model.init_cfg = None
    keypoints = head.get('out_channels')
    cfg.model.head = ConfigDict(head, in_channels=keypoints, num_stacks=1, final_layer=None,
                                stack_loss_weights=None, init_cfg=None)
    return cfg
