"""tools/infer.py: one person's pose drawn on the image, with and without a box; clear errors."""
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest

from helpers.models import save_model
from helpers.paths import DATA, IMAGE, REPO, TINY
from helpers.processes import user_error
from hourglass_plugin.apis.inference import check_bbox

INFER = osp.join(REPO, 'tools', 'infer.py')


@pytest.fixture()
def run_infer(run_tool_here):
    """tools/infer.py with these arguments, run in this process."""
    return lambda *args: run_tool_here('infer.py', *args)


def changed_pixels(out: str) -> np.ndarray:
    """(N, 2) x, y of the pixels where ``out`` differs from the input image."""
    drawn, original = mmcv.imread(out), mmcv.imread(IMAGE)
    assert drawn.shape == original.shape  # the input's size, nothing stitched beside it
    ys, xs = np.nonzero(np.any(drawn != original, axis=-1))
    return np.stack([xs, ys], axis=-1)


@pytest.mark.slow
def test_whole_image_skeleton_is_drawn(tiny_checkpoint, tmp_path, run_infer):
    out = str(tmp_path / 'pose.png')  # lossless: unchanged pixels stay equal to the input's
    result = run_infer(TINY, tiny_checkpoint, IMAGE, '--out', out, '--kpt-thr', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no --bbox: each whole image is the person's box" in result.stdout
    drawn = re.search(r'(\d+)/16 keypoints scored >= 0 drawn', result.stdout)
    assert drawn and int(drawn.group(1)) >= 8, result.stdout  # random weights: most score > 0
    assert len(changed_pixels(out)) > 200  # keypoint discs and the links between them


@pytest.mark.slow
def test_box_crop_puts_the_skeleton_in_the_box(tiny_checkpoint, tmp_path, run_infer):
    out = str(tmp_path / 'pose.png')
    x1, y1, x2, y2 = 900, 100, 1000, 300
    result = run_infer(TINY, tiny_checkpoint, IMAGE, '--bbox', *map(str, (x1, y1, x2, y2)), '--out',
                       out, '--kpt-thr', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'no --bbox' not in result.stdout
    pixels = changed_pixels(out)
    assert len(pixels) > 200
    # the model sees the box made square (the 1:1 input) and padded by 1.25
    # (GetBBoxCenterScale); every keypoint lies in that crop, the drawing a few pixels more.
    # (Threshold 0, not lower: mmpose places a keypoint whose heatmap peak is <= 0 at heatmap
    # pixel -1, outside the crop.)
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    half = 1.25 * max(x2 - x1, y2 - y1) / 2 + 8
    assert np.all(np.abs(pixels - center) <= half), (pixels.min(0), pixels.max(0))


@pytest.mark.slow
def test_keypoints_below_the_threshold_are_not_drawn(tiny_checkpoint, tmp_path, run_infer):
    out = str(tmp_path / 'pose.png')
    result = run_infer(TINY, tiny_checkpoint, IMAGE, '--out', out, '--kpt-thr', '1e9')
    assert result.returncode == 0, result.stderr[-3000:]
    assert '0/16 keypoints' in result.stdout and 'lower it' in result.stdout
    assert len(changed_pixels(out)) == 0


@pytest.mark.slow
def test_missing_image_is_one_line(tiny_checkpoint, tmp_path, run_infer):
    missing = str(tmp_path / 'nope.jpg')
    line = user_error(run_infer(TINY, tiny_checkpoint, missing))
    assert line == f'error: image {missing} does not exist'


@pytest.mark.slow
def test_checkpoint_of_another_model_is_refused(tmp_path, run_infer):
    # weights of a 3-stack model for the 2-stack tiny config: mmengine alone would only warn
    other = save_model(tmp_path / 'hg3.pth', num_stacks=3)
    out = tmp_path / 'pose.png'
    line = user_error(run_infer(TINY, other, IMAGE, '--out', str(out)))
    assert line.startswith(f'error: checkpoint {other} does not fit the model of this config: '
                           ) and 'unexpected keys' in line, line
    assert not out.exists()


@pytest.mark.slow
def test_bad_box_is_one_line(tiny_checkpoint, tmp_path, run_infer):
    line = user_error(run_infer(TINY, tiny_checkpoint, IMAGE, '--bbox', '100', '50', '40', '300',
                                '--out', str(tmp_path / 'pose.png')))
    assert line.startswith('error: --bbox 100 50 40 300: needs x1 < x2')
    assert not (tmp_path / 'pose.png').exists()


@pytest.mark.parametrize('box, message', [((10, 10, 10, 50), 'needs x1 < x2'),
                                          ((10, 60, 50, 20), 'needs x1 < x2 and y1 < y2'),
                                          ((2000, 10, 2100, 50), 'outside the 1280x720 image'),
                                          ((-50, -50, 0, 0), 'outside the 1280x720 image'),
                                          ((0, 0, float('nan'), 5), 'finite')])
def test_box_checks(box, message):
    with pytest.raises(ValueError, match=message):
        check_bbox(box, 1280, 720)


def test_box_partly_outside_the_image_is_kept():
    # a person cut by the image border: the crop is padded, the box stays as given
    boxes = check_bbox((-20, 10, 100, 800), 1280, 720)
    assert boxes.shape == (1, 4) and boxes.tolist() == [[-20, 10, 100, 800]]
    assert check_bbox(None, 1280, 720) is None


def test_unreadable_image_names_the_file(tmp_path):
    from hourglass_plugin.cli import read_image
    from hourglass_plugin.errors import DatasetError
    fake = tmp_path / 'fake.jpg'
    fake.write_text('not an image')
    with pytest.raises(DatasetError, match=r'fake\.jpg cannot be read'):
        read_image(str(fake))
    assert read_image(IMAGE).shape == (720, 1280, 3)


@pytest.mark.slow
def test_several_images_each_drawn_and_tiled(tiny_checkpoint, tmp_path, run_infer):
    images = sorted(os.listdir(osp.join(DATA, 'mpii_sample', 'images')))[:3]
    paths = [osp.join(DATA, 'mpii_sample', 'images', name) for name in images]
    grid = tmp_path / 'grid.jpg'
    result = run_infer(TINY, tiny_checkpoint, *paths, '--out', str(tmp_path / 'drawn'), '--grid',
                       str(grid), '--kpt-thr', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = sorted(os.listdir(tmp_path / 'drawn'))
    assert drawn == sorted(f'{osp.splitext(n)[0]}_pose.jpg' for n in images)
    picture = mmcv.imread(str(grid))
    assert picture.shape[0] == 240  # one row of three
    assert picture.shape[1] >= 3 * 240


@pytest.mark.slow
def test_bbox_with_several_images_is_refused(tiny_checkpoint, tmp_path, run_infer):
    result = run_infer(TINY, tiny_checkpoint, IMAGE, IMAGE, '--bbox', '0', '0', '10', '10', '--out',
                       str(tmp_path))
    assert result.returncode == 1
    message = "error: --bbox is one person's box: give one image, not 2"
    assert result.stderr.splitlines()[0] == message
    assert os.listdir(tmp_path) == []
