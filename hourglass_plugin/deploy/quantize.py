"""INT8 post-training quantization of an exported pose graph (NNCF), run by OpenVINO.

NNCF's ``quantize`` calibrates the activation ranges on crops of the config's own training set,
made by the config's *test* pipeline (no augmentation: the crops the network sees when it is
used), and writes OpenVINO IR (``.xml`` + ``.bin``) that ``--backend openvino`` runs (ONNX Runtime
runs the fp32 graph only). NNCF is imported only when INT8 is asked for.

The quantized graph is then compared with the fp32 graph on held-out crops of the *test* set
(never used for calibration): the mean shift of the decoded keypoints in image pixels, and the
config's own test metric of both.
"""
import copy
from typing import Dict, List, Sequence

import numpy as np
import torch

from ..checkpoint import atomic_output
from ..datasets import check_annotation_file
from ..errors import ConfigError


def pose_dataset(cfg, split: str, pipeline_of: str = 'test'):
    """The config's ``split`` dataset (train/test) with the ``pipeline_of`` split's pipeline."""
    from mmpose.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise ConfigError(f'{split}_dataloader.dataset is not set: INT8 calibration and its '
                          f"comparison read the config's {split} set")
    dataset_cfg = copy.deepcopy(loader.dataset)
    dataset_cfg.pipeline = copy.deepcopy(cfg[f'{pipeline_of}_dataloader'].dataset.pipeline)
    check_annotation_file(dataset_cfg, f'{split}_dataloader.dataset')
    return DATASETS.build(dataset_cfg)


def spread(count: int, total: int) -> List[int]:
    """``count`` indices (all of them where ``count >= total``) spread evenly over
    ``range(total)``."""
    if count < 1 or total < 1:
        raise ValueError(f'{count} images asked of a dataset of {total}')
    count = min(count, total)
    return sorted(set(np.linspace(0, total - 1, count).round().astype(int).tolist()))


def calibration_inputs(model, dataset, indices: Sequence[int]) -> List[np.ndarray]:
    """The crops ``indices`` of ``dataset`` as the graph's inputs: (1, 3, H, W) float32 each."""
    from mmengine.dataset import pseudo_collate
    inputs = []
    for index in indices:
        with torch.no_grad():
            batch = model.data_preprocessor(pseudo_collate([dataset[index]]), False)
        inputs.append(batch['inputs'].numpy().astype(np.float32))
    return inputs


def quantize_to_openvino(onnx_path: str, inputs: List[np.ndarray], out_xml: str) -> str:
    """NNCF INT8 of the graph at ``onnx_path``, calibrated on ``inputs``, written to ``out_xml``
    (and its ``.bin``) only once both are whole."""
    try:
        import nncf
        import openvino as ov
    except ImportError as error:
        raise ImportError('--precision int8 needs NNCF and OpenVINO: pip install '
                          f'"hourglass_plugin[deploy]" ({error})') from error
    from .engines import openvino_core
    model = openvino_core().read_model(onnx_path)
    quantized = nncf.quantize(model, nncf.Dataset(inputs), subset_size=len(inputs))
    # the .bin and the .xml that reads it, put in place as one (the .xml last)
    with atomic_output(out_xml[:-len('.xml')] + '.bin', out_xml) as (_, partial):
        ov.save_model(quantized, partial)  # writes partial and its .bin beside it
    return out_xml


def evaluate_engine(cfg, graph: str, dataset, indices: Sequence[int], batch_size: int = 16):
    """(metrics of the config's ``test_evaluator``, (N, K, 2) keypoints in image pixels) of the
    config's estimator with the exported ``graph`` as its network, run by OpenVINO, on the
    samples ``indices`` of ``dataset``."""
    from mmengine.dataset import pseudo_collate
    from mmpose.registry import MODELS

    from ..evaluation import evaluate_batches
    from .backend_model import engine_model_config
    model = MODELS.build(engine_model_config(cfg, graph, 'openvino').model).eval()
    batches = (pseudo_collate([dataset[i] for i in indices[start:start + batch_size]])
               for start in range(0, len(indices), batch_size))
    return evaluate_batches(model, batches, cfg.test_evaluator, dataset.metainfo, len(indices))


def compare_int8(cfg, fp32_graph: str, int8_graph: str, num_images: int) -> Dict[str, object]:
    """The fp32 and INT8 graphs in OpenVINO on ``num_images`` held-out crops of the config's
    test set: the mean shift of the decoded keypoints (image pixels) and the config's test
    metrics of both."""
    dataset = pose_dataset(cfg, 'test')
    indices = spread(num_images, len(dataset))
    fp32_metrics, fp32_kpts = evaluate_engine(cfg, fp32_graph, dataset, indices)
    int8_metrics, int8_kpts = evaluate_engine(cfg, int8_graph, dataset, indices)
    shift = np.linalg.norm(int8_kpts - fp32_kpts, axis=-1)  # (N, K)
    return dict(num_images=len(indices), mean_shift_px=float(shift.mean()),
                max_shift_px=float(shift.max()), fp32=fp32_metrics, int8=int8_metrics)
