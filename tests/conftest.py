import os.path as osp

import pytest
import torch

import hourglass_plugin  # noqa: F401  registrations and safe loading, as in every real use

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
DATA = osp.join(REPO, 'tests', 'data')


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
