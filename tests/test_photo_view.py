"""PhotoView, the fixed test-time view (rotation about the person, box scale): a case worked by
hand, the identity views, and the arguments it refuses."""
import numpy as np
import pytest

from hourglass_plugin.datasets import PhotoView


def results_with_dot():
    """A 40 x 20 black photo with a white dot at (x 20, y 10), a labelled keypoint on it and
    one at the box centre (10, 10)."""
    image = np.zeros((20, 40, 3), np.uint8)
    image[9:12, 19:22] = 255
    return dict(img=image, img_shape=(20, 40), bbox=np.array([[0., 0., 20., 20.]], np.float32),
                keypoints=np.array([[[20., 10.], [10., 10.]]], np.float32),
                keypoints_visible=np.array([[1., 1.]], np.float32))


def test_quarter_turn_worked_by_hand():
    """+90 deg (counter-clockwise as seen) about the box centre (10, 10): a point 10 px right
    of the centre goes 10 px above it, (10, 0); the rotated photo's corners span x 0..20 and
    y -20..20, so the canvas is 20 wide, 40 high, shifted down by 20: the dot at (10, 20)."""
    out = PhotoView(rotate=90)(results_with_dot())
    assert out['img'].shape == (40, 20, 3) and out['img_shape'] == (40, 20)
    np.testing.assert_allclose(out['keypoints'][0], [[10, 20], [10, 30]], atol=1e-4)
    assert out['img'][20, 10].min() == 255  # the dot moved with its keypoint
    # the rotated person's box: its labelled keypoints' tight box, widened by 5 % a side
    np.testing.assert_allclose(out['bbox'][0], [10, 19.5, 10, 30.5], atol=1e-4)


def test_half_turn_maps_the_keypoints_through_the_box_centre():
    out = PhotoView(rotate=180)(results_with_dot())
    centre = out['keypoints'][0, 1]
    np.testing.assert_allclose(out['keypoints'][0, 0] - centre, [-10, 0], atol=1e-4)
    y, x = np.round(out['keypoints'][0, 0]).astype(int)[::-1]
    assert out['img'][y, x].min() == 255


@pytest.mark.parametrize('view', [dict(), dict(rotate=360), dict(rotate=-720)])
def test_an_upright_view_changes_nothing(view):
    before = results_with_dot()
    out = PhotoView(**view)(results_with_dot())
    for key in ('img', 'bbox', 'keypoints'):
        np.testing.assert_array_equal(out[key], before[key])


def test_box_scale_scales_the_box_about_its_centre():
    out = PhotoView(box_scale=0.7)(results_with_dot())
    np.testing.assert_allclose(out['bbox'][0], [3, 3, 17, 17], atol=1e-5)
    np.testing.assert_array_equal(out['keypoints'], results_with_dot()['keypoints'])


@pytest.mark.parametrize('argument, value', [('rotate', float('nan')), ('box_scale', 0),
                                             ('box_scale', -1.4), ('box_margin', -0.1)])
def test_bad_arguments_are_named(argument, value):
    with pytest.raises(ValueError, match=f'^{argument}={value!r}'):
        PhotoView(**{argument: value})
