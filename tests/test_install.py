"""The stack installs and works together: imports, compiled mmcv ops, mmpose's visualizer."""
import subprocess
import sys
from importlib.metadata import version

import numpy as np
import pytest

from helpers.requirements import ranges


@pytest.mark.slow
def test_the_four_packages_import_in_one_process():
    code = ('import hourglass_plugin, mmpose.models, mmdet.models, mmcv.ops; '
            'print(hourglass_plugin.__version__)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    import hourglass_plugin
    assert result.stdout.strip() == hourglass_plugin.__version__


def test_mmcv_ops_are_compiled_and_run():
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_pose_visualizer_draws_a_skeleton():
    """mmpose's PoseLocalVisualizer (imports torchvision) draws keypoints on an image."""
    from mmengine.structures import InstanceData
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.structures import PoseDataSample
    from mmpose.visualization import PoseLocalVisualizer
    visualizer = PoseLocalVisualizer(radius=3, line_width=2)
    visualizer.set_dataset_meta(
        parse_pose_metainfo(dict(from_file='configs/_base_/datasets/mpii.py')))
    image = np.zeros((128, 128, 3), dtype=np.uint8)
    sample = PoseDataSample()
    keypoints = np.stack([np.linspace(20, 100, 16), np.linspace(30, 90, 16)], -1)[None]
    sample.pred_instances = InstanceData(keypoints=keypoints, keypoint_scores=np.ones((1, 16)))
    drawn = visualizer.add_datasample('pose', image, data_sample=sample, draw_gt=False,
                                      show=False)
    assert drawn.shape == image.shape and drawn.sum() > 0


@pytest.mark.slow
def test_environment_report():
    result = subprocess.run([sys.executable, '-m', 'hourglass_plugin.env'], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    report = dict(line.split(': ', 1) for line in result.stdout.splitlines())
    assert report['mmcv ops'].startswith('compiled')
    for name in ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmpose', 'numpy'):
        # torch.__version__ may carry a local build tag (2.13.0+cu130) its metadata omits
        assert report[name].split('+')[0] == version(name).split('+')[0], name


def test_installed_versions_are_in_the_ranges_of_setup_cfg():
    """What is installed is what setup.cfg says the plugin works with (tests/test_packaging.py
    checks that the ranges admit requirements/stack.txt's pins)."""
    for requirement in ranges('install_requires') + ranges('options.extras_require', 'tests'):
        installed = version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), \
            f'{requirement.name} {installed} is installed; setup.cfg asks for {requirement}'
