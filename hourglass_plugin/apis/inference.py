"""One person's pose in each image, drawn: a prepared estimator (PyTorch or an exported graph)
run by mmpose's ``inference_topdown`` and drawn by the config's ``PoseLocalVisualizer``."""
import copy
import math
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from ..errors import UsageError
from .network import check_source, network_source


def check_bbox(bbox: Optional[Sequence[float]], width: int, height: int) -> Optional[np.ndarray]:
    """``bbox`` as a (1, 4) xyxy array, after checking it is a box that overlaps the image."""
    if bbox is None:
        return None
    x1, y1, x2, y2 = bbox
    shown = ' '.join(f'{value:g}' for value in bbox)
    if not all(math.isfinite(value) for value in bbox):
        raise UsageError(f'--bbox {shown}: coordinates must be finite numbers')
    if x2 <= x1 or y2 <= y1:
        raise UsageError(f'--bbox {shown}: needs x1 < x2 and y1 < y2 (x1 y1 x2 y2 in pixels)')
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise UsageError(f'--bbox {shown}: lies outside the {width}x{height} image')
    return np.array([bbox], dtype=np.float32)


def init_estimator(cfg: Config, checkpoint: str, backend: str = 'pytorch',
                   precision: str = 'fp32', device: str = 'cpu'):
    """The model of ``cfg``, prepared as every tool prepares it, with ``checkpoint`` (it must fit
    the model) or, for an engine backend, built with the exported graph as its network
    (``ExportedGraph``, on the CPU); then what mmpose's ``init_model`` attaches for inference
    (the config, the dataset meta: the checkpoint's, else the config's)."""
    from mmpose.apis.inference import dataset_meta_from_config

    from ..run import prepare_run
    cfg, weights = network_source(copy.deepcopy(cfg), checkpoint, backend, precision)
    engine = weights is None
    cfg.model.train_cfg = None  # as init_model: an inference model
    prepared = prepare_run(cfg, 'model', checkpoint=weights)
    model = prepared.model
    model.cfg = cfg
    model.dataset_meta = ((prepared.checkpoint or {}).get('meta') or {}).get(
        'dataset_meta') or dataset_meta_from_config(cfg, dataset_mode='train')
    if engine:
        return model.eval()
    return model.to(device).eval()


def infer_images(cfg: Config, checkpoint: str, images: Sequence[str],
                 bbox: Optional[Sequence[float]] = None, out: Optional[str] = None,
                 grid: Optional[str] = None, kpt_thr: float = 0.3, backend: str = 'pytorch',
                 precision: str = 'fp32', device: str = 'cpu') -> List[str]:
    """Estimate the pose of the person in each of ``images`` (in ``bbox``, pixels x1 y1 x2 y2,
    for one image; else the whole image) and draw it; return the drawings' files.

    With one image ``out`` is the drawing's file, with several a directory (default: the current
    one); ``grid`` also tiles the drawings into one picture. Keypoints scored below ``kpt_thr``
    are not drawn. Every image is read and checked before the model is built.
    """
    from mmpose.registry import VISUALIZERS

    from ..cli import read_image
    check_source(checkpoint, backend, precision)  # the file and the settings, first
    if bbox is not None and len(images) > 1:
        raise UsageError(f'--bbox is one person\'s box: give one image, not {len(images)}')
    pictures = [read_image(path) for path in images]  # (H, W, 3) BGR; all checked first
    bboxes = check_bbox(bbox, pictures[0].shape[1], pictures[0].shape[0])
    if bboxes is None:
        print("no --bbox: each whole image is the person's box (a photo framed on one person, "
              'as LSP\'s are)')
    if len(images) == 1:
        outs = [out or default_out(images[0])]
    else:
        os.makedirs(out or '.', exist_ok=True)
        outs = [osp.join(out or '.', default_out(path)) for path in images]
    model = init_estimator(cfg, checkpoint, backend, precision, device)
    # the config's visualizer without its storage backends: the drawing goes to ``out`` only
    visualizer = VISUALIZERS.build(dict(model.cfg.visualizer, vis_backends=None))
    visualizer.set_dataset_meta(model.dataset_meta)
    for picture, drawing in zip(pictures, outs):
        draw(model, visualizer, picture, bboxes, drawing, kpt_thr)
    if grid:
        from ..visualization import tile_images
        tile_images(outs, grid)
        print(f'{grid}: {len(outs)} drawings tiled')
    return outs


def default_out(image_path: str) -> str:
    stem, ext = osp.splitext(osp.basename(image_path))
    return f'{stem}_pose{ext}'


def draw(model, visualizer, image: np.ndarray, bboxes, out: str, kpt_thr: float) -> None:
    """Estimate the pose in ``image`` (BGR) and draw it into ``out``; print what was drawn."""
    import mmcv
    from mmpose.apis import inference_topdown

    from ..visualization import write_image

    # the BGR array, not the path: the image is read once, and mmpose's pipeline expects BGR
    sample = inference_topdown(model, image, bboxes=bboxes, bbox_format='xyxy')[0]
    visualizer.add_datasample(
        'result', mmcv.bgr2rgb(image), data_sample=sample, draw_gt=False, draw_heatmap=False,
        draw_bbox=False, show=False, kpt_thr=kpt_thr)
    write_image(out, mmcv.rgb2bgr(visualizer.get_image()))
    scores = sample.pred_instances.keypoint_scores[0]  # (K, )
    drawn = int((scores >= kpt_thr).sum())
    height, width = image.shape[:2]
    print(f'{out}: {width}x{height}, {drawn}/{len(scores)} keypoints scored >= {kpt_thr:g} '
          f'drawn (mean score {scores.mean():.3f})')
    if drawn == 0:
        print('no keypoint reached --kpt-thr: lower it to draw the predictions anyway')
