"""A deterministic renderer of synthetic people, written in the layout of MPII for mmpose.

It lets the training and evaluation tools run end to end without the real MPII download: a
directory made by :func:`render_dataset` is read by mmpose's ``MpiiDataset`` exactly as the real
one is::

    OUT_DIR/images/100000000.jpg ...            (mmpose takes int(stem) as the image id)
    OUT_DIR/annotations/mpii_train.json         one record per target person
    OUT_DIR/annotations/mpii_val.json
    OUT_DIR/annotations/mpii_gt_val.mat         head boxes of the val records (PCKh)
    OUT_DIR/synthetic_meta.json                 the arguments, written last (see is_complete)

Each image holds one annotated target person, drawn as an articulated 2-D figure (limbs as thick
lines, torso polygon, head ellipse) over a cluttered background, with other people around it
(not annotated) and occluders over it. Left and right are the person's own, as MPII labels them,
so the picture shows which way the body faces: from the front a face, a neckline, a button
placket and a belt buckle; from the back hair only and two seat pockets: a person whose face is
hidden can still be told from its mirror image.

Annotation conventions (the same as real MPII, as converted by mmpose):

* ``joints``: 16 x [x, y] in 1-based MATLAB pixel coordinates (pixel centres at 1..W). Every
  joint of a synthetic person has its true position, so none is ``[-1, -1]``; a joint outside
  the image keeps its true (outside) coordinates.
* ``joints_vis``: 1 when the joint lies inside the image and nothing is drawn over it after the
  target (an occluder or a person in front), else 0. mmpose uses it as the keypoint weight for
  training and as the mask of PCKh, so occluded and outside joints count in neither.
* ``scale`` is the larger side of the joints' bounding box times 1.1, over 200 (the person box
  is ``200 * scale`` pixels, as in MPII). ``center`` (1-based) is, like MPII's ``objpos``, a
  little above the middle of the person: mmpose's MpiiDataset moves every centre down by
  ``15 * scale`` pixels, and that lands on the middle of the joints' box (around the pelvis of an
  upright person) up to a little annotator jitter, so its crops are centred on the person. It is
  kept inside the image.
* ``mpii_gt_val.mat`` (scipy.io.savemat, MATLAB layout of the real file), for the records of
  ``mpii_val.json`` in the same order, N of them:
  ``headboxes_src`` (2, 2, N), ``headboxes_src[:, :, i] = [[x1, y1], [x2, y2]]`` 1-based, an
  image-aligned box around the head ellipse that contains ``head_top`` and ``upper_neck``;
  ``pos_gt_src`` (16, 2, N) the joints; ``jnt_visible`` (16, N) = ``joints_vis``;
  ``jnt_missing`` (16, N) 1 for joints outside the image (MPII leaves the joints of truncated
  people unannotated; occluded joints inside the image are annotated there, so they are not
  missing); ``dataset_joints`` (1, 16) the short joint names of the real file.

Everything is a function of the seed: image ``i`` of a split draws from its own generator
``default_rng(SeedSequence(seed, spawn_key=(split, i)))``, so the same seed gives byte-identical
files, and the val set does not change with ``num_train``.
"""
import json
import multiprocessing
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from hourglass_plugin.checkpoint import atomic_write
from hourglass_plugin.datasets.head_boxes import write_mpii_gt_mat
from hourglass_plugin.visualization import write_image

#: MPII's joint order (mmpose's ``configs/_base_/datasets/mpii.py``); right = the person's right.
MPII_JOINT_NAMES = ('right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee',
                    'left_ankle', 'pelvis', 'thorax', 'upper_neck', 'head_top', 'right_wrist',
                    'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist')
NUM_JOINTS = 16

(R_ANKLE, R_KNEE, R_HIP, L_HIP, L_KNEE, L_ANKLE, PELVIS, THORAX, UPPER_NECK, HEAD_TOP, R_WRIST,
 R_ELBOW, R_SHOULDER, L_SHOULDER, L_ELBOW, L_WRIST) = range(NUM_JOINTS)

#: Bumped whenever the pictures or the annotations change, so old output is not reused.
RENDERER_VERSION = 3
META_FILE = 'synthetic_meta.json'
#: the demo's dataset: people rendered for training and for validation
NUM_TRAIN, NUM_VAL = 3000, 300
TRAIN_ANN = osp.join('annotations', 'mpii_train.json')
VAL_ANN = osp.join('annotations', 'mpii_val.json')
HEADBOX_FILE = osp.join('annotations', 'mpii_gt_val.mat')
IMAGE_DIR = 'images'
JPEG_QUALITY = 90

# The two splits: the code in the seed's spawn key, and the first image id. MpiiDataset parses
# the file stem as an int, so names are 9 digits like real MPII's, train 1xxxxxxxx, val 2xxxxxxxx.
_SPLITS = {'train': (0, 100_000_000), 'val': (1, 200_000_000)}

# Segment lengths of a standing person whose ankle-to-head-top height is about 1.
_TORSO, _NECK, _HEAD = 0.30, 0.065, 0.135
_SHOULDER_HALF, _HIP_HALF = 0.115, 0.085
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.165, 0.150, 0.245, 0.240
# Drawn widths, in the same unit.
_UPPER_ARM_W, _FOREARM_W, _THIGH_W, _SHIN_W, _NECK_W = 0.055, 0.045, 0.08, 0.06, 0.05
_HEAD_HALF_W, _HAND_R, _FOOT_LEN, _FOOT_W = 0.052, 0.028, 0.06, 0.045
# Width of the darker contour around limbs and torso, and how dark it is.
_CONTOUR_W, _CONTOUR_SHADE = 0.008, 0.55

# Skin tones (RGB), from light to dark.
_SKIN_RGB = ((255, 224, 196), (241, 194, 150), (224, 172, 105), (198, 134, 66),
             (141, 85, 36), (90, 56, 37))
# Fixed-point bits for OpenCV drawing: joints are drawn at 1/16-pixel precision.
_SHIFT = 4
_ONE = 1 << _SHIFT

Colour = Tuple[float, ...]


@dataclass
class SyntheticSample:
    """One rendered image and its target person, in 0-based pixel coordinates.

    Attributes:
        image (np.ndarray): (H, W, 3) uint8 BGR.
        joints (np.ndarray): (16, 2) float64 x, y of the target's joints in MPII order.
        visible (np.ndarray): (16,) bool, inside the image and not covered.
        inside (np.ndarray): (16,) bool, inside the image.
        center (np.ndarray): (2,) float64 middle of the person.
        scale (float): person box side / 200.
        headbox (np.ndarray): (2, 2) float64 [[x1, y1], [x2, y2]] around the head.
    """

    image: np.ndarray
    joints: np.ndarray
    visible: np.ndarray
    inside: np.ndarray
    center: np.ndarray
    scale: float
    headbox: np.ndarray


@dataclass
class _Figure:
    """A posed person in image pixels (0-based), ready to draw.

    ``joints`` (16, 2); ``face`` (4, 2) left eye, right eye, mouth ends, or None when the person
    faces away; ``size`` the standing height in pixels that sets the widths.
    """

    joints: np.ndarray
    face: Optional[np.ndarray]
    size: float
    build: float
    head_half_width: float
    colours: Dict[str, Colour]


def _unit(angle: float) -> np.ndarray:
    """(2,) unit vector at ``angle`` radians: 0 points down (+y), pi/2 points to +x."""
    return np.array([np.sin(angle), np.cos(angle)])


def sample_canonical_pose(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Sample a 2-D pose of a person facing the camera, within plausible joint-angle limits.

    The frame is the image's (y down) with the pelvis at the origin and a standing height of
    about 1; the person faces the camera, so +x is the person's left. Each limb's angle is
    relative to its parent's, and each segment is shortened a little at random (foreshortening
    of a limb that points toward or away from the camera).

    Returns:
        joints (np.ndarray): (16, 2) in MPII order.
        face (np.ndarray): (4, 2) left eye, right eye and the two ends of the mouth.
    """
    deg = np.pi / 180
    joints = np.zeros((NUM_JOINTS, 2))
    # Spine: a lean of the torso from upright, then the neck and head relative to it.
    torso_angle = np.pi + np.clip(rng.normal(0, 10), -30, 30) * deg
    up = _unit(torso_angle)
    lateral = np.array([-up[1], up[0]])  # toward the person's left (+x when upright)
    # Yaw about the vertical axis narrows the shoulders and hips as the body turns.
    yaw = rng.uniform(-60, 60) * deg
    width = max(abs(np.cos(yaw)), 0.35)
    joints[THORAX] = joints[PELVIS] + _TORSO * rng.uniform(0.8, 1.05) * up
    neck_angle = torso_angle + rng.uniform(-20, 20) * deg
    joints[UPPER_NECK] = joints[THORAX] + _NECK * rng.uniform(0.8, 1.1) * _unit(neck_angle)
    head_angle = neck_angle + rng.uniform(-25, 25) * deg
    joints[HEAD_TOP] = joints[UPPER_NECK] + _HEAD * rng.uniform(0.85, 1.05) * _unit(head_angle)

    down = torso_angle - np.pi
    pelvis_lateral = lateral * (1 + rng.uniform(-0.1, 0.1))
    for side, (shoulder, elbow, wrist, hip, knee, ankle) in (
            (1, (L_SHOULDER, L_ELBOW, L_WRIST, L_HIP, L_KNEE, L_ANKLE)),
            (-1, (R_SHOULDER, R_ELBOW, R_WRIST, R_HIP, R_KNEE, R_ANKLE))):
        # side = +1 for the left limbs (toward +x), -1 for the right ones.
        joints[shoulder] = joints[THORAX] + side * _SHOULDER_HALF * width * lateral
        # Arm: abduction from hanging along the body (0) through horizontal (90) to raised
        # (180); the elbow bends toward the body's midline, up to 150 degrees.
        abduction = (rng.uniform(-25, 100) if rng.random() < 0.7 else rng.uniform(80, 175))
        upper_arm = down + side * abduction * deg
        joints[elbow] = joints[shoulder] + _UPPER_ARM * rng.uniform(0.7, 1.05) * _unit(upper_arm)
        forearm = upper_arm - side * rng.uniform(-20, 150) * deg
        joints[wrist] = joints[elbow] + _FOREARM * rng.uniform(0.55, 1.05) * _unit(forearm)
        # Leg: abduction of the thigh (wider for kicks and splits, rarely), knee flexion either
        # way in projection; a thigh pointing at the camera (sitting) is strongly shortened.
        joints[hip] = joints[PELVIS] + side * _HIP_HALF * width * pelvis_lateral
        abduction = rng.uniform(-15, 40) if rng.random() < 0.85 else rng.uniform(30, 100)
        thigh = down + side * abduction * deg
        thigh_scale = rng.uniform(0.85, 1.05) if rng.random() < 0.8 else rng.uniform(0.4, 0.8)
        joints[knee] = joints[hip] + _THIGH * thigh_scale * _unit(thigh)
        flexion = min(abs(rng.normal(0, 30)), 110) * rng.choice((-1, 1))
        shin = thigh + side * flexion * deg
        joints[ankle] = joints[knee] + _SHIN * rng.uniform(0.7, 1.05) * _unit(shin)

    # Face marks, seen only from the front: they shift sideways as the head turns (yaw).
    head_up = joints[HEAD_TOP] - joints[UPPER_NECK]
    half_len = np.linalg.norm(head_up) / 2
    head_up = head_up / (2 * half_len)
    head_lateral = np.array([-head_up[1], head_up[0]])
    centre = (joints[HEAD_TOP] + joints[UPPER_NECK]) / 2
    turn = 0.35 * _HEAD_HALF_W * np.sin(yaw) * head_lateral
    eye = centre + 0.1 * half_len * head_up + turn
    mouth = centre - 0.5 * half_len * head_up + turn
    eye_gap = 0.4 * _HEAD_HALF_W * width * head_lateral
    mouth_gap = 0.22 * _HEAD_HALF_W * width * head_lateral
    face = np.stack([eye + eye_gap, eye - eye_gap, mouth + mouth_gap, mouth - mouth_gap])
    return joints, face


def _random_colour(rng: np.random.Generator, saturation: Tuple[int, int] = (40, 255),
                   value: Tuple[int, int] = (40, 255)) -> Colour:
    """A BGR colour of random hue with saturation and value in the given ranges."""
    hsv = np.array([[[rng.integers(0, 180), rng.integers(*saturation), rng.integers(*value)]]],
                   dtype=np.uint8)
    return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _shade(colour: Colour, factor: float) -> Colour:
    """``colour`` darkened (factor < 1) or lightened, clipped to 0..255."""
    return tuple(float(min(255.0, c * factor)) for c in colour)


def _sample_colours(rng: np.random.Generator) -> Dict[str, Colour]:
    """Clothes, skin and hair of one person; the two body sides differ only by shading.

    The shaded side is random (light from the left or the right of the scene), so the shade tells
    the two arms apart but not which one is the right arm: that comes from the pose and the face.
    """
    skin = np.array(_SKIN_RGB[rng.integers(len(_SKIN_RGB))][::-1], dtype=float)
    skin = tuple(float(c) for c in np.clip(skin + rng.uniform(-12, 12, 3), 0, 255))
    shirt = _random_colour(rng)
    pants = _random_colour(rng, saturation=(20, 200), value=(30, 200))
    shoes = _random_colour(rng, saturation=(0, 120), value=(10, 90))
    hair = _random_colour(rng, saturation=(30, 200), value=(10, 110))
    long_sleeves, long_pants = rng.random() < 0.6, rng.random() < 0.7
    shaded = rng.choice(('l', 'r'))
    colours = {'torso': shirt, 'neck': skin, 'skin': skin, 'hair': hair,
               'eyes': _shade(hair, 0.5), 'mouth': _shade(skin, 0.55),
               'placket': _shade(shirt, 0.6), 'pockets': _shade(pants, 0.6),
               'buckle': _shade(shoes, 2.2)}
    for side in ('l', 'r'):
        factor = rng.uniform(0.7, 0.88) if side == shaded else rng.uniform(0.97, 1.1)
        colours[f'{side}_upper_arm'] = _shade(shirt, factor)
        colours[f'{side}_forearm'] = _shade(shirt if long_sleeves else skin, factor)
        colours[f'{side}_hand'] = _shade(skin, factor)
        colours[f'{side}_thigh'] = _shade(pants, factor)
        colours[f'{side}_shin'] = _shade(pants if long_pants else skin, factor)
        colours[f'{side}_foot'] = _shade(shoes, factor)
    return colours


def _pose_figure(rng: np.random.Generator, size: float, rotation: float,
                 position: np.ndarray) -> _Figure:
    """Sample a person ``size`` pixels tall, rotated in the image plane, its joint box centred
    at ``position`` (2,); 70% face the camera (face drawn), the rest face away (mirrored)."""
    joints, face = sample_canonical_pose(rng)
    facing_camera = rng.random() < 0.7
    if not facing_camera:
        # Seen from behind, the same pose is the mirror image: the right side is on the right.
        joints[:, 0] *= -1
    cos, sin = np.cos(rotation), np.sin(rotation)
    matrix = size * np.array([[cos, -sin], [sin, cos]])
    joints, face = joints @ matrix.T, face @ matrix.T
    offset = position - (joints.min(0) + joints.max(0)) / 2
    return _Figure(joints=joints + offset, face=face + offset if facing_camera else None,
                   size=size, build=rng.uniform(0.85, 1.2),
                   head_half_width=_HEAD_HALF_W * size * rng.uniform(0.9, 1.1),
                   colours=_sample_colours(rng))


def _resized(figure: _Figure, size: float, position: np.ndarray) -> _Figure:
    """``figure`` scaled to ``size`` pixels tall, its joint box centred at ``position`` (2,)."""
    centre = (figure.joints.min(0) + figure.joints.max(0)) / 2
    factor = size / figure.size

    def move(points: np.ndarray) -> np.ndarray:
        return (points - centre) * factor + position

    return _Figure(joints=move(figure.joints),
                   face=None if figure.face is None else move(figure.face), size=size,
                   build=figure.build, head_half_width=figure.head_half_width * factor,
                   colours=figure.colours)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates (..., 2) -> int32 fixed point for OpenCV's ``shift``."""
    return np.round(np.asarray(points) * _ONE).astype(np.int32)


def _segment(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, width: float,
             colour: Colour) -> None:
    """A limb: a line of ``width`` pixels with round ends from point ``a`` to ``b``."""
    pa, pb = _fixed(a), _fixed(b)
    cv2.line(canvas, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), colour,
             max(1, int(round(width))), cv2.LINE_AA, _SHIFT)


def _ellipse(canvas: np.ndarray, centre: np.ndarray, half_axes: Tuple[float, float],
             angle: float, colour: Colour) -> None:
    """A filled ellipse; ``angle`` (degrees) turns its first axis from +x toward +y."""
    c = _fixed(centre)
    axes = (max(1, int(round(half_axes[0] * _ONE))), max(1, int(round(half_axes[1] * _ONE))))
    cv2.ellipse(canvas, (int(c[0]), int(c[1])), axes, angle, 0, 360, colour, -1, cv2.LINE_AA,
                _SHIFT)


def _head_geometry(figure: _Figure) -> Tuple[np.ndarray, float, float, float]:
    """Centre (2,), half length along the head, half width and angle (degrees) of the head
    ellipse, whose long axis runs from ``upper_neck`` to ``head_top``."""
    neck, top = figure.joints[UPPER_NECK], figure.joints[HEAD_TOP]
    axis = top - neck
    return ((neck + top) / 2, float(np.linalg.norm(axis)) / 2, figure.head_half_width,
            float(np.degrees(np.arctan2(axis[1], axis[0]))))


def _head_box(figure: _Figure) -> np.ndarray:
    """(2, 2) [[x1, y1], [x2, y2]]: the image-aligned box of the head ellipse, 5% looser."""
    centre, half_len, half_width, angle = _head_geometry(figure)
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    # Half extents of a rotated ellipse along x and y.
    extent = np.array([np.hypot(half_len * cos, half_width * sin),
                       np.hypot(half_len * sin, half_width * cos)])
    extent += 0.05 * 2 * half_len
    return np.stack([centre - extent, centre + extent])


def _draw_figure(canvas: np.ndarray, figure: _Figure, solid: Optional[Colour] = None) -> None:
    """Draw ``figure`` on ``canvas`` (H, W, C); with ``solid``, all of it in that one colour (to
    paint the figure's silhouette into an occlusion mask)."""
    j, size, build = figure.joints, figure.size, figure.build

    def colour(part: str) -> Colour:
        return solid if solid is not None else figure.colours[part]

    contour = max(1.0, _CONTOUR_W * size)

    def contour_colour(part: str) -> Colour:
        return solid if solid is not None else _shade(figure.colours[part], _CONTOUR_SHADE)

    def limb(a: np.ndarray, b: np.ndarray, width: float, part: str) -> None:
        # A darker contour first, as the shading edge a photo shows where a limb passes in front
        # of the body: without it a sleeve over a shirt of the same colour has no visible elbow.
        _segment(canvas, a, b, width + 2 * contour, contour_colour(part))
        _segment(canvas, a, b, width, colour(part))

    # Legs and feet first, then the torso over the hips, then arms, neck and head on top.
    for side, hip, knee, ankle in (('l', L_HIP, L_KNEE, L_ANKLE), ('r', R_HIP, R_KNEE, R_ANKLE)):
        limb(j[hip], j[knee], _THIGH_W * build * size, f'{side}_thigh')
        limb(j[knee], j[ankle], _SHIN_W * build * size, f'{side}_shin')
        shin = j[ankle] - j[knee]
        foot_dir = shin / max(np.linalg.norm(shin), 1e-6)
        _segment(canvas, j[ankle], j[ankle] + _FOOT_LEN * size * foot_dir, _FOOT_W * size,
                 colour(f'{side}_foot'))
    # Torso: shoulders and hips widened by half a limb width, as a (possibly concave) polygon.
    across_top, across_bottom = j[L_SHOULDER] - j[R_SHOULDER], j[L_HIP] - j[R_HIP]
    across_top = across_top / max(np.linalg.norm(across_top), 1e-6)
    across_bottom = across_bottom / max(np.linalg.norm(across_bottom), 1e-6)
    out_top, out_bottom = 0.5 * _UPPER_ARM_W * build * size, 0.5 * _THIGH_W * build * size
    torso = np.stack([j[L_SHOULDER] + out_top * across_top, j[R_SHOULDER] - out_top * across_top,
                      j[R_HIP] - out_bottom * across_bottom, j[L_HIP] + out_bottom * across_bottom])
    cv2.fillPoly(canvas, [_fixed(torso)], colour('torso'), cv2.LINE_AA, _SHIFT)
    cv2.polylines(canvas, [_fixed(torso)], True, contour_colour('torso'),
                  max(1, int(round(contour))), cv2.LINE_AA, _SHIFT)
    if figure.face is not None:
        # The neckline of the shirt: seen only from the front, one more facing cue.
        spine = j[PELVIS] - j[THORAX]
        spine = spine / max(np.linalg.norm(spine), 1e-6)
        half = 0.45 * out_top * across_top
        vee = np.stack([j[THORAX] + half, j[THORAX] - half, j[THORAX] + 0.07 * size * spine])
        cv2.fillPoly(canvas, [_fixed(vee)], colour('skin'), cv2.LINE_AA, _SHIFT)
    _draw_front_or_back(canvas, figure, colour)
    for side, shoulder, elbow, wrist in (('l', L_SHOULDER, L_ELBOW, L_WRIST),
                                         ('r', R_SHOULDER, R_ELBOW, R_WRIST)):
        limb(j[shoulder], j[elbow], _UPPER_ARM_W * build * size, f'{side}_upper_arm')
        limb(j[elbow], j[wrist], _FOREARM_W * build * size, f'{side}_forearm')
        _ellipse(canvas, j[wrist], (_HAND_R * size, _HAND_R * size), 0, colour(f'{side}_hand'))
    _segment(canvas, j[THORAX], j[UPPER_NECK], _NECK_W * build * size, colour('neck'))
    centre, half_len, half_width, angle = _head_geometry(figure)
    _ellipse(canvas, centre, (half_len, half_width), angle, colour('hair'))
    if figure.face is not None:
        # From the front: the face below the hair line, two eyes and a mouth.
        axis = (j[HEAD_TOP] - j[UPPER_NECK]) / max(2 * half_len, 1e-6)
        _ellipse(canvas, centre - 0.12 * half_len * axis, (0.86 * half_len, 0.88 * half_width),
                 angle, colour('skin'))
        eye_r = max(0.8, 0.15 * half_width)
        for eye in figure.face[:2]:
            _ellipse(canvas, eye, (eye_r, eye_r), 0, colour('eyes'))
        _segment(canvas, figure.face[2], figure.face[3], max(1.0, 0.08 * half_width),
                 colour('mouth'))


def _draw_front_or_back(canvas: np.ndarray, figure: _Figure, colour) -> None:
    """Clothing details that tell the front of a person from the back, as in photos.

    A person's right is labelled from the body, so the picture must show which way the body
    faces even where the face is hidden (an occluder, a bystander, the crop): from the front
    a button placket below the neckline and a belt buckle; from the back two seat pockets.
    Drawn from the figure alone (no random draws). ``colour(part)`` gives a part's colour.
    """
    j, size = figure.joints, figure.size
    hips = (j[L_HIP] + j[R_HIP]) / 2
    spine = hips - j[THORAX]
    spine = spine / max(np.linalg.norm(spine), 1e-6)
    across = j[L_HIP] - j[R_HIP]
    across = across / max(np.linalg.norm(across), 1e-6)
    if figure.face is not None:
        _segment(canvas, j[THORAX] + 0.07 * size * spine, hips - 0.02 * size * spine,
                 max(1.0, 0.018 * size), colour('placket'))
        half = 0.02 * size
        buckle = np.stack([hips + half * (across + spine), hips + half * (across - spine),
                           hips - half * (across + spine), hips - half * (across - spine)])
        cv2.fillPoly(canvas, [_fixed(buckle)], colour('buckle'), cv2.LINE_AA, _SHIFT)
    else:
        for hip in (j[L_HIP], j[R_HIP]):
            centre = 0.55 * hip + 0.45 * hips + 0.01 * size * spine
            a, b = 0.022 * size * across, 0.028 * size * spine
            pocket = np.stack([centre - a - b, centre + a - b, centre + 0.8 * a + b,
                               centre - 0.8 * a + b])
            cv2.fillPoly(canvas, [_fixed(pocket)], colour('pockets'), cv2.LINE_AA, _SHIFT)


def _texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8: a random colour gradient plus blotchy noise at a random grain.

    Both are made on a coarse grid and scaled up bicubically, which is fast and keeps the
    gradient linear.
    """
    cells = int(rng.integers(3, 40))
    ys, xs = np.mgrid[0:cells, 0:cells] / (cells - 1) - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(xs * np.cos(theta) + ys * np.sin(theta) + 0.5, 0, 1)[..., None]
    c0, c1 = np.array(_random_colour(rng)), np.array(_random_colour(rng))
    coarse = c0 + ramp * (c1 - c0) + rng.uniform(5, 45) * rng.normal(0, 1, (cells, cells, 3))
    coarse = np.clip(coarse, 0, 255).astype(np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 clutter: a texture with random rectangles, circles, lines and polygons."""
    image = _texture(rng, width, height)
    side = max(width, height)
    for _ in range(int(rng.integers(4, 24))):
        colour = _random_colour(rng)
        kind = rng.integers(4)
        a = rng.uniform(-0.1, 1.1, 2) * (width, height)
        if kind == 0:  # rectangle, filled or outlined
            b = a + rng.uniform(-0.4, 0.4, 2) * side
            pa, pb = _fixed(a), _fixed(b)
            cv2.rectangle(image, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), colour,
                          -1 if rng.random() < 0.6 else int(rng.integers(1, 6)), cv2.LINE_AA,
                          _SHIFT)
        elif kind == 1:  # ellipse
            _ellipse(image, a, tuple(rng.uniform(0.02, 0.2, 2) * side), rng.uniform(0, 180),
                     colour)
        elif kind == 2:  # line, possibly thick like a limb
            _segment(image, a, a + rng.uniform(-0.5, 0.5, 2) * side, rng.uniform(1, 0.05 * side),
                     colour)
        else:  # polygon
            points = a + rng.uniform(-0.15, 0.15, (int(rng.integers(3, 7)), 2)) * side
            cv2.fillPoly(image, [_fixed(points)], colour, cv2.LINE_AA, _SHIFT)
    return image


def _occlude(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray,
             figure: _Figure) -> None:
    """Draw a textured rectangle or ellipse over a random joint of ``figure``, in ``image`` and
    in the occlusion ``mask`` (H, W)."""
    height, width = mask.shape
    centre = figure.joints[rng.integers(NUM_JOINTS)] + rng.normal(0, 0.05 * figure.size, 2)
    half = rng.uniform(0.06, 0.2, 2) * figure.size
    shape = np.zeros_like(mask)
    if rng.random() < 0.5:
        angle = rng.uniform(-np.pi / 4, np.pi / 4)
        cos, sin = np.cos(angle), np.sin(angle)
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
        corners = corners @ np.array([[cos, -sin], [sin, cos]]).T + centre
        cv2.fillPoly(shape, [_fixed(corners)], 255, cv2.LINE_8, _SHIFT)
    else:
        _ellipse(shape, centre, tuple(half), rng.uniform(0, 180), 255)
    covered = shape > 0
    image[covered] = _texture(rng, width, height)[covered]
    mask[covered] = 255


def _place_target(rng: np.random.Generator, width: int,
                  height: int) -> Tuple[_Figure, np.ndarray]:
    """Pose the target: its joint box 45-90% of the image's smaller side; usually wholly in the
    image, sometimes (25%) cut by its border. Returns the figure and its joints' inside mask."""
    lo, hi = np.zeros(2), np.array([width - 1, height - 1], dtype=float)
    for _ in range(20):
        rotation = (np.clip(rng.normal(0, 12), -40, 40) if rng.random() < 0.94 else
                    rng.uniform(-150, 150)) * np.pi / 180
        extent = rng.uniform(0.45, 0.9) * min(width, height)
        truncated = rng.random() < 0.25
        # Pose at unit size to learn the box, then scale so its larger side is ``extent``.
        figure = _pose_figure(rng, 1.0, rotation, np.zeros(2))
        box = figure.joints.max(0) - figure.joints.min(0)
        size = extent / max(box.max(), 1e-6)
        box = box * size
        if truncated:
            position = rng.uniform(0.15, 0.85, 2) * (width, height)
        else:
            slack = np.maximum(hi - box, 0) / 2
            position = (lo + hi) / 2 + rng.uniform(-1, 1, 2) * slack
        figure = _resized(figure, size, position)
        inside = np.all((figure.joints >= lo) & (figure.joints <= hi), axis=1)
        if inside.sum() >= 8:
            return figure, inside
    # Unlucky draws: the last pose, centred with its box half the image's side, always fits.
    box_side = max(float(np.ptp(figure.joints, 0).max()), 1e-6)
    figure = _resized(figure, figure.size * 0.5 * min(width, height) / box_side, (lo + hi) / 2)
    return figure, np.all((figure.joints >= lo) & (figure.joints <= hi), axis=1)


def render_sample(rng: np.random.Generator, width: int = 320, height: int = 320) -> SyntheticSample:
    """Render one image: background, bystanders, the target person, occluders, camera noise.

    Args:
        rng: the image's own generator (all randomness comes from it).
        width, height: image size in pixels.

    Returns:
        SyntheticSample: the (height, width, 3) BGR image and the target's annotation.
    """
    for name, value in (('width', width), ('height', height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 64:
            raise ValueError(f'{name} must be an integer >= 64, got {value!r}')
    image = _background(rng, width, height)
    target, inside = _place_target(rng, width, height)
    box_side = float((target.joints.max(0) - target.joints.min(0)).max())
    # Bystanders near the target, most behind it, some in front of it (then they occlude).
    bystanders = []
    for _ in range(int(rng.choice(3, p=(0.4, 0.4, 0.2)))):
        direction = _unit(rng.uniform(0, 2 * np.pi))
        position = target.joints.mean(0) + rng.uniform(0.35, 0.9) * box_side * direction
        rotation = np.clip(rng.normal(0, 12), -40, 40) * np.pi / 180
        bystanders.append((_pose_figure(rng, target.size * rng.uniform(0.6, 1.2), rotation,
                                        position), rng.random() < 0.25))
    for figure, in_front in bystanders:
        if not in_front:
            _draw_figure(image, figure)
    _draw_figure(image, target)
    # Everything drawn from here on hides the target's joints under it.
    mask = np.zeros((height, width), dtype=np.uint8)
    for figure, in_front in bystanders:
        if in_front:
            _draw_figure(image, figure)
            _draw_figure(mask, figure, solid=(255, ))
    for _ in range(int(rng.choice(3, p=(0.45, 0.4, 0.15)))):
        _occlude(rng, image, mask, target)

    pixels = np.round(target.joints).astype(int)
    covered = np.zeros(NUM_JOINTS, dtype=bool)
    covered[inside] = mask[pixels[inside, 1], pixels[inside, 0]] > 0
    # Camera: contrast and brightness, sensor noise, sometimes a little blur.
    image = image.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    image += rng.uniform(1, 7) * rng.standard_normal(image.shape, dtype=np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (3, 3), 0)

    # MPII's scale: the person box side (larger side of the joints' box, 10% margin) / 200.
    # MPII's centre sits high on the body and mmpose moves it down by 15/200 of the box, so the
    # centre is put that much above the joints' box middle (with an annotator's imprecision),
    # which makes mmpose's crop centred on the person; it stays inside the image, as MPII's do.
    joint_box = np.stack([target.joints.min(0), target.joints.max(0)])
    extent = float((joint_box[1] - joint_box[0]).max())
    scale = 1.1 * extent / 200
    center = joint_box.mean(0) - (0, 15 * scale) + rng.normal(0, 0.02 * extent, 2)
    center = np.clip(center, 0, (width - 1, height - 1))
    return SyntheticSample(image=image, joints=target.joints, visible=inside & ~covered,
                           inside=inside, center=center, scale=scale, headbox=_head_box(target))


def _check_count(name: str, value: object) -> int:
    """``value`` as a positive int, or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f'{name} must be a positive integer, got {value!r}')
    return int(value)


def _check_args(num_train: object, num_val: object, seed: object,
                image_size: object) -> Tuple[int, int, int, Tuple[int, int]]:
    """Validate render_dataset's arguments; ValueError names the bad one."""
    num_train, num_val = _check_count('num_train', num_train), _check_count('num_val', num_val)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    if (not isinstance(image_size, Sequence) or len(image_size) != 2
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 64
                   for s in image_size)):
        raise ValueError(f'image_size must be (width, height), two integers >= 64, '
                         f'got {image_size!r}')
    return num_train, num_val, int(seed), (int(image_size[0]), int(image_size[1]))


def _meta(num_train: int, num_val: int, seed: int, image_size: Tuple[int, int]) -> dict:
    """The arguments that determine a dataset, as stored in ``synthetic_meta.json``."""
    return dict(renderer_version=RENDERER_VERSION, num_train=num_train, num_val=num_val,
                seed=seed, image_size=list(image_size))


def _coords(points: np.ndarray) -> List[float]:
    """0-based float pixels -> 1-based MATLAB coordinates, rounded for a stable JSON."""
    return [round(float(v) + 1, 2) for v in np.ravel(points)]


def _render_one(
        job: Tuple[str, str, int, int, Tuple[int, int]]) -> Tuple[dict, np.ndarray, np.ndarray]:
    """Render and save image ``index`` of ``split``: (its json record, head box, inside)."""
    out_dir, split, index, seed, image_size = job
    code, first_id = _SPLITS[split]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(code, index)))
    sample = render_sample(rng, *image_size)
    name = f'{first_id + index:09d}.jpg'
    path = osp.join(out_dir, IMAGE_DIR, name)
    write_image(path, sample.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])  # whole or not
    joints = _coords(sample.joints)
    # Key order of mmpose's mpii_train.json.
    record = {'joints_vis': [int(v) for v in sample.visible],
              'joints': [joints[2 * k:2 * k + 2] for k in range(NUM_JOINTS)],
              'image': name, 'scale': round(sample.scale, 4), 'center': _coords(sample.center)}
    return record, sample.headbox, sample.inside


def _render_split(out_dir: str, split: str, count: int, seed: int, image_size: Tuple[int, int],
                  workers: int) -> Tuple[List[dict], np.ndarray, np.ndarray]:
    """Render and save the images of ``split``, in ``workers`` forked processes (each image has
    its own generator, so the files do not depend on how many).

    Returns:
        records (list[dict]): mmpose's MPII json records, 1-based.
        headboxes (np.ndarray): (count, 2, 2) 0-based head boxes.
        inside (np.ndarray): (count, 16) bool, joint inside the image.
    """
    jobs = [(out_dir, split, index, seed, image_size) for index in range(count)]
    if workers > 1 and count > 1 and 'fork' in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context('fork').Pool(workers) as pool:
            rendered = pool.map(_render_one, jobs, chunksize=max(1, count // (8 * workers)))
    else:
        rendered = [_render_one(job) for job in jobs]
    records = [r[0] for r in rendered]
    headboxes = np.array([r[1] for r in rendered], dtype=float).reshape(count, 2, 2)
    inside = np.array([r[2] for r in rendered], dtype=bool).reshape(count, NUM_JOINTS)
    return records, headboxes, inside


def _write_json(path: str, obj: object) -> None:
    """Write ``obj`` as JSON through a temporary file, so a reader never sees half a file."""
    atomic_write(path, json.dumps(obj))


def is_complete(out_dir: str, num_train: int, num_val: int, seed: int = 0,
                image_size: Tuple[int, int] = (320, 320)) -> bool:
    """Whether ``out_dir`` holds a finished :func:`render_dataset` output of these arguments
    (its meta file, both annotation files, the head boxes and every image they name)."""
    num_train, num_val, seed, image_size = _check_args(num_train, num_val, seed, image_size)
    try:
        with open(osp.join(out_dir, META_FILE)) as f:
            if json.load(f) != _meta(num_train, num_val, seed, image_size):
                return False
        names = []
        for ann in (TRAIN_ANN, VAL_ANN):
            with open(osp.join(out_dir, ann)) as f:
                names += [record['image'] for record in json.load(f)]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (len(names) == num_train + num_val and osp.isfile(osp.join(out_dir, HEADBOX_FILE))
            and all(osp.isfile(osp.join(out_dir, IMAGE_DIR, name)) for name in names))


def render_dataset(out_dir: str, num_train: int, num_val: int, seed: int = 0,
                   image_size: Tuple[int, int] = (320, 320),
                   workers: Optional[int] = None) -> dict:
    """Render ``num_train`` + ``num_val`` images of synthetic people in MPII's layout.

    See the module docstring for the files and the annotation conventions. Existing files of the
    same names are overwritten (images of a larger earlier run stay, unreferenced);
    ``synthetic_meta.json`` is removed first and written last, so an interrupted run never looks
    complete to :func:`is_complete`.

    Args:
        out_dir: the dataset root (created if missing).
        num_train, num_val: images (= target persons) per split, each >= 1.
        seed: non-negative; the same seed gives byte-identical files.
        image_size: (width, height) in pixels, each >= 64.
        workers: processes that render (default: one per CPU core); the files are the same
            for any number.

    Returns:
        dict: ``out_dir``, ``num_train``, ``num_val``, ``seed``, ``image_size``, the paths
        ``train_ann``, ``val_ann``, ``headbox_file``, ``image_dir``, and ``invisible_joints``
        (the fraction of joints with ``joints_vis`` 0 over both splits).
    """
    num_train, num_val, seed, image_size = _check_args(num_train, num_val, seed, image_size)
    workers = (os.cpu_count() or 1) if workers is None else _check_count('workers', workers)
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir):
        raise ValueError(f'out_dir must be a directory path, got {out_dir!r}')
    out_dir = str(out_dir)
    os.makedirs(osp.join(out_dir, IMAGE_DIR), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    meta_path = osp.join(out_dir, META_FILE)
    if osp.exists(meta_path):
        os.remove(meta_path)

    train, _, _ = _render_split(out_dir, 'train', num_train, seed, image_size, workers)
    val, headboxes, inside = _render_split(out_dir, 'val', num_val, seed, image_size, workers)
    _write_json(osp.join(out_dir, TRAIN_ANN), train)
    _write_json(osp.join(out_dir, VAL_ANN), val)
    write_mpii_gt_mat(osp.join(out_dir, HEADBOX_FILE), val, headboxes, inside)
    _write_json(meta_path, _meta(num_train, num_val, seed, image_size))

    vis = [v for record in train + val for v in record['joints_vis']]
    return dict(out_dir=out_dir, num_train=num_train, num_val=num_val, seed=seed,
                image_size=image_size, train_ann=osp.join(out_dir, TRAIN_ANN),
                val_ann=osp.join(out_dir, VAL_ANN), headbox_file=osp.join(out_dir, HEADBOX_FILE),
                image_dir=osp.join(out_dir, IMAGE_DIR),
                invisible_joints=round(1 - sum(vis) / len(vis), 4))
