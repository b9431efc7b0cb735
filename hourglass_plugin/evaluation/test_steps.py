"""The steps of mmengine's ``TestLoop`` over batches that are not one Runner's test dataloader:
the same prepared model on several views of the test set, or an exported graph on chosen crops."""
import copy
from typing import Iterable, Tuple

import numpy as np
import torch
from mmengine.evaluator import Evaluator


def evaluate_batches(model: torch.nn.Module, batches: Iterable[dict], evaluator_cfg,
                     dataset_meta: dict, size: int) -> Tuple[dict, np.ndarray]:
    """(metrics, (N, K, 2) predicted keypoints in image pixels) of ``model`` on ``batches``.

    What mmengine's ``TestLoop`` does for each batch (``model.test_step``, then
    ``Evaluator.process``) and at the end (``Evaluator.evaluate(size)``), with an evaluator built
    from ``evaluator_cfg`` (a config's ``test_evaluator``) that knows ``dataset_meta``.
    """
    evaluator = Evaluator(copy.deepcopy(evaluator_cfg))
    evaluator.dataset_meta = dataset_meta
    keypoints = []
    with torch.no_grad():
        for batch in batches:
            outputs = model.test_step(batch)
            evaluator.process(outputs, batch)
            keypoints += [output.pred_instances.keypoints[0] for output in outputs]
    return evaluator.evaluate(size), np.stack(keypoints)
