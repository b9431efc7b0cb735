"""A fixed view of a test photo: rotated about its person, or with the person's box scaled.

mmpose's ``RandomBBoxTransform`` draws rotations and box scales for training; evaluating how a
network holds under them needs the same change made the same way for every photo. ``PhotoView``
makes a new photo: the image rotated by ``rotate`` degrees about the centre of the person's box
on a canvas large enough to hold all of it, the keypoints with it, so that the ground truth,
the metric and the predictions (mapped back by mmpose into the rotated photo) all agree. The
rotated person is boxed as a detector would box it: the tight box of its labelled keypoints
widened by ``box_margin`` on every side (LSP's converter boxes people so). ``box_scale`` then
scales the box about its centre (0.7: a crop that cuts the person; 1.4: a person smaller in
its crop). It goes after ``LoadImage`` and before ``GetBBoxCenterScale``.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform


class PhotoView(BaseTransform):
    """Rotate the photo about the person's box centre; scale the person's box.

    Args:
        rotate (float): degrees, counter-clockwise as the photo is seen. Default 0.
        box_scale (float): the box's width and height multiplied by this about its centre.
            Default 1.
        box_margin (float): a rotated person's box is the tight box of its labelled
            keypoints widened by this fraction of its width and height on every side.
            Default 0.05.

    Required keys: ``img`` (H, W, 3), ``bbox`` (1, 4) xyxy, ``keypoints`` (1, K, 2),
    ``keypoints_visible`` (1, K). Modified keys: ``img``, ``img_shape``, ``bbox``,
    ``keypoints``.
    """

    def __init__(self, rotate: float = 0., box_scale: float = 1., box_margin: float = 0.05):
        super().__init__()
        if not np.isfinite(rotate):
            raise ValueError(f'rotate={rotate!r}: must be a finite number of degrees')
        if not (np.isfinite(box_scale) and box_scale > 0):
            raise ValueError(f'box_scale={box_scale!r}: must be a positive number')
        if not (np.isfinite(box_margin) and box_margin >= 0):
            raise ValueError(f'box_margin={box_margin!r}: must be a non-negative number')
        self.rotate = float(rotate)
        self.box_scale = float(box_scale)
        self.box_margin = float(box_margin)

    def transform(self, results: dict) -> dict:
        if self.rotate % 360:
            self._rotate(results)
        if self.box_scale != 1:
            bbox = np.asarray(results['bbox'], dtype=np.float32)  # (1, 4)
            centre = (bbox[:, :2] + bbox[:, 2:]) / 2
            half = (bbox[:, 2:] - bbox[:, :2]) / 2 * self.box_scale
            results['bbox'] = np.concatenate([centre - half, centre + half], axis=1)
        return results

    def _rotate(self, results: dict) -> None:
        image = results['img']
        height, width = image.shape[:2]
        bbox = np.asarray(results['bbox'], dtype=np.float64)[0]
        centre = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        matrix = cv2.getRotationMatrix2D(centre, self.rotate, 1.0)  # (2, 3)
        # the canvas that holds the whole rotated photo: its corners' box, shifted to 0
        corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]])
        turned = (corners @ matrix.T).round(6)  # cos 90 deg is 6e-17, not 0
        low = np.floor(turned.min(axis=0))
        size = np.ceil(turned.max(axis=0) - low).astype(int)
        matrix[:, 2] -= low
        results['img'] = cv2.warpAffine(image, matrix, (int(size[0]), int(size[1])),
                                        flags=cv2.INTER_LINEAR)
        results['img_shape'] = (int(size[1]), int(size[0]))
        keypoints = np.asarray(results['keypoints'], dtype=np.float64)  # (1, K, 2)
        keypoints = keypoints @ matrix[:, :2].T + matrix[:, 2]
        results['keypoints'] = keypoints.astype(np.float32)
        labelled = np.asarray(results['keypoints_visible'])[0] > 0
        if not labelled.any():
            raise ValueError(f"PhotoView: image {results.get('img_path')} has no labelled "
                             'keypoint to box its rotated person by')
        low, high = keypoints[0, labelled].min(axis=0), keypoints[0, labelled].max(axis=0)
        pad = (high - low) * self.box_margin
        results['bbox'] = np.concatenate([low - pad, high + pad])[None].astype(np.float32)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rotate={self.rotate:g}, '
                f'box_scale={self.box_scale:g}, box_margin={self.box_margin:g})')
