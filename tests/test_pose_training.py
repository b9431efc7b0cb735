"""Pose training through mmpose's pipeline: it learns on real pictures (distributed runs:
tests/test_distributed.py)."""
import pytest

pytestmark = pytest.mark.slow  # end to end: see setup.cfg


def test_overfits_the_real_mpii_images(overfit_run):
    """tools/train.py on the 5 real sample images, seeded; PCKh on the same images at the end
    (helpers.runs.overfit_run)."""
    assert overfit_run['PCK'] >= 95.0, overfit_run
