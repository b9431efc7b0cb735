"""With only custom_imports, our types resolve from mmpose and mmdet configs."""
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from helpers.paths import CONFIGS

BUILD = textwrap.dedent("""
    import sys
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(sys.argv[1])  # runs custom_imports, nothing else imports the plugin
    init_default_scope(cfg.default_scope)
    registry = __import__(cfg.default_scope + '.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    print(cfg.default_scope, type(model).__name__, type(model.backbone).__name__,
          type(getattr(model, 'head', None) or model.bbox_head).__name__)
""")


@pytest.mark.parametrize('config, expected', [
    ('stacked_hourglass/td-hm_stacked-hourglass-hg2_1xb6-100e_mpii-256x256.py',
     'mmpose TopdownPoseEstimator StackedHourglass StackedHourglassHead'),
    ('cornernet/cornernet_stacked-hourglass104_8xb6-210e-mstest_coco.py',
     'mmdet CornerNet StackedHourglass CornerHead'),
])
@pytest.mark.slow
def test_config_builds_in_its_scope(config, expected):
    result = subprocess.run([sys.executable, '-c', BUILD, osp.join(CONFIGS, config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == expected


def test_names_do_not_collide_and_resolve_in_both_registries():
    from mmdet.registry import MODELS as DET
    from mmpose.registry import MODELS as POSE

    from hourglass_plugin.models import HeatmapMSELoss, StackedHourglass, StackedHourglassHead
    assert POSE.get('StackedHourglass') is StackedHourglass
    assert DET.get('StackedHourglass') is StackedHourglass
    assert POSE.get('StackedHourglassHead') is StackedHourglassHead
    assert POSE.get('HeatmapMSELoss') is HeatmapMSELoss
    # mmpose's and mmdet's own hourglass names still point at their classes
    assert POSE.get('HourglassNet').__module__.startswith('mmpose')
    assert DET.get('HourglassNet').__module__.startswith('mmdet')
    assert POSE.get('KeypointMSELoss').__module__.startswith('mmpose')


def test_importing_twice_registers_nothing_twice():
    from hourglass_plugin.registry import register_all
    register_all()  # would raise KeyError on a duplicate name
