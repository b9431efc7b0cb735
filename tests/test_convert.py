"""Converters: every source model with random weights gives the same outputs after conversion."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from benchmarks.plain_posenet import PlainPoseNet
from helpers.models import randomise_norms
from helpers.paths import REPO
from helpers.processes import load_tool
from hourglass_plugin.checkpoint import load_checkpoint_safely
from hourglass_plugin.conversion import convert_state_dict
from hourglass_plugin.errors import CheckpointError
from hourglass_plugin.models import StackedHourglass


def ours_from(state_dict, source):
    converted, cfg, report = convert_state_dict(state_dict, source)
    cfg = {k: v for k, v in cfg.items() if k != 'type'}
    model = StackedHourglass(**cfg).eval()
    model.load_state_dict({k[len('backbone.'):]: v for k, v in converted.items()}, strict=True)
    return model, report


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        assert torch.allclose(x, y, atol=1e-5), (x - y).abs().max()


def test_mmdet_hourglassnet_hg104_parity():
    from mmdet.models.backbones import HourglassNet
    theirs = randomise_norms(HourglassNet())
    ours, _ = ours_from(theirs.state_dict(), 'mmdet')
    x = torch.randn(1, 3, 127, 127)  # odd size, as CornerNet's 511
    with torch.no_grad():
        assert_same(theirs(x), ours(x))


def test_mmdet_small_hourglassnet_parity_and_inferred_config():
    from mmdet.models.backbones import HourglassNet
    theirs = randomise_norms(HourglassNet(downsample_times=3, num_stacks=3,
                                          stage_channels=(32, 32, 48, 64),
                                          stage_blocks=(1, 2, 1, 3), feat_channel=24))
    ours, _ = ours_from(theirs.state_dict(), 'mmdet')
    assert ours.num_stacks == 3 and ours.order == 3 and ours.feat_channels == 24
    x = torch.randn(2, 3, 96, 80)
    with torch.no_grad():
        assert_same(theirs(x), ours(x))


def test_mmpose_hourglass52_parity():
    from mmpose.models.backbones import HourglassNet
    theirs = randomise_norms(HourglassNet(num_stacks=1))
    ours, _ = ours_from(theirs.state_dict(), 'mmpose')
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert_same(theirs(x), ours(x))


@pytest.mark.parametrize('nstack', [1, 2])
def test_princeton_posenet_parity(nstack):
    theirs = randomise_norms(PlainPoseNet(nstack, 256, 16, unused_skips=True))  # their layout
    # their trainer saves the DataParallel-wrapped model: keys start with 'module.model.'
    state = {f'module.model.{k}': v for k, v in theirs.state_dict().items()}
    ours, report = ours_from(state, 'princeton')
    assert report['prefix'] == 'module.model.'
    assert len(report['dropped_unused']) > 0  # the unused skip convs
    x = torch.randn(1, 256, 256, 3)
    with torch.no_grad():
        expected = theirs(x)  # (B, nstack, K, 64, 64), from NHWC
        got = ours(x.permute(0, 3, 1, 2).contiguous())
    assert_same(list(expected.unbind(1)), got)


def test_unknown_and_missing_keys_are_listed():
    from mmdet.models.backbones import HourglassNet
    state = HourglassNet(downsample_times=2, stage_channels=(16, 16, 16),
                         stage_blocks=(1, 1, 1), feat_channel=8).state_dict()
    extra = dict(state, **{'hourglass_modules.0.extra.weight': torch.zeros(1)})
    with pytest.raises(CheckpointError,
                       match=r"1 unexpected keys \(hourglass_modules\.0\.extra"):
        convert_state_dict(extra, 'mmdet')
    missing = {k: v for k, v in state.items() if k != 'out_convs.1.bn.running_mean'}
    with pytest.raises(CheckpointError, match=r"1 missing keys \(stack_outputs\.1\.conv\.bn"):
        convert_state_dict(missing, 'mmdet')
    with pytest.raises(CheckpointError, match=r"'pre\.0\.conv\.weight'"):
        convert_state_dict(state, 'princeton')


@pytest.mark.slow
def test_detector_checkpoint_keeps_head_keys(tmp_path):
    """A whole-detector checkpoint: backbone.* converted, bbox_head.* kept; via the CLI."""
    from mmdet.models.backbones import HourglassNet
    backbone = HourglassNet(downsample_times=2, stage_channels=(16, 16, 16),
                            stage_blocks=(1, 1, 1), feat_channel=8)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['bbox_head.tl_heat.0.weight'] = torch.ones(3)
    src, dst = tmp_path / 'cornernet.pth', tmp_path / 'out' / 'ours.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), src)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'convert_checkpoint.py'), str(src),
         '--out', str(dst), '--source', 'mmdet'], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert '"merge": "features"' in result.stdout
    out = load_checkpoint_safely(str(dst))
    assert torch.equal(out['state_dict']['bbox_head.tl_heat.0.weight'], torch.ones(3))
    assert 'backbone.merges.0.inter.conv.weight' in out['state_dict']
    assert out['meta']['backbone_cfg']['num_stacks'] == 2


@pytest.mark.slow
def test_cli_error_is_one_line_and_writes_nothing(tmp_path):
    src, dst = tmp_path / 'bad.pth', tmp_path / 'ours.pth'
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, src)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'convert_checkpoint.py'), str(src),
         '--out', str(dst), '--source', 'mmdet'], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith('error: ') and 'Traceback' not in result.stderr
    assert not dst.exists()


def test_failed_write_keeps_the_old_destination_and_no_temporary(tmp_path, monkeypatch):
    """A write that fails at the end (a full disk when renaming) leaves DST as it was."""
    from mmdet.models.backbones import HourglassNet
    backbone = HourglassNet(downsample_times=2, stage_channels=(16, 16, 16),
                            stage_blocks=(1, 1, 1), feat_channel=8)
    src, dst = tmp_path / 'hg.pth', tmp_path / 'ours.pth'
    torch.save(backbone.state_dict(), src)
    dst.write_bytes(b'the earlier conversion')
    tool = load_tool('convert_checkpoint')

    def full_disk(*args):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(sys, 'argv', ['convert_checkpoint.py', str(src), '--out', str(dst),
                                      '--source', 'mmdet'])
    monkeypatch.setattr(os, 'replace', full_disk)
    with pytest.raises(OSError, match='No space left'):
        tool.main(tool.parse_args())
    monkeypatch.undo()
    assert dst.read_bytes() == b'the earlier conversion'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['hg.pth', 'ours.pth']


@pytest.mark.parametrize('cfg, source, named, expected', [
    (dict(num_keypoints=16), 'princeton', None, 'mpii'),  # the weights tell
    (dict(num_keypoints=17), 'princeton', None, 'coco'),
    (dict(num_keypoints=16), 'princeton', 'mpii', 'mpii'),
    (dict(num_keypoints=None), 'mmdet', None, None),  # a detector
    (dict(num_keypoints=None), 'mmpose', 'coco', 'coco'),  # named where they cannot tell
    (dict(num_keypoints=None), 'mmpose', 'none', None),
])
def test_keypoint_set_from_weights_or_name(cfg, source, named, expected):
    from hourglass_plugin.conversion.keypoints import keypoint_set
    assert keypoint_set(cfg, source, named) == expected


@pytest.mark.parametrize('cfg, source, named, message', [
    (dict(num_keypoints=None), 'mmpose', None, 'does not tell which keypoints'),
    (dict(num_keypoints=16), 'princeton', 'coco', '--keypoints coco, but the weights predict 16'),
    (dict(num_keypoints=21), 'princeton', None, 'predict 21 heatmaps, no keypoint set'),
])
def test_keypoint_set_refusals_name_the_option(cfg, source, named, message):
    from hourglass_plugin.conversion.keypoints import keypoint_set
    with pytest.raises(ValueError, match=message):
        keypoint_set(cfg, source, named)


@pytest.mark.slow
def test_converted_princeton_checkpoint_draws_mpii_in_mmposeinferencer(tmp_path):
    """A converted princeton-vl PoseNet carries MPII's dataset_meta: mmpose's own inferencer
    takes the 16 joints, flip pairs and skeleton from it, without its fallback warning."""
    torch.manual_seed(0)
    src, dst = tmp_path / 'posenet.pth', tmp_path / 'ours.pth'
    torch.save(PlainPoseNet(2, 256, 16, order=4).state_dict(), src)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'convert_checkpoint.py'), str(src),
         '--out', str(dst), '--source', 'princeton'], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'keypoints: mpii (16 joints' in result.stdout
    config = osp.join(REPO, 'configs', 'stacked_hourglass',
                      'td-hm_stacked-hourglass-hg2_1xb6-100e_mpii-256x256.py')
    image = osp.join(REPO, 'tests', 'data', 'mpii_sample', 'images', '004645041.jpg')
    code = f'''
import json
import hourglass_plugin
from mmpose.apis import MMPoseInferencer
inferencer = MMPoseInferencer(pose2d={config!r}, pose2d_weights={str(dst)!r},
                              det_model='whole_image', device='cpu')
result = next(inferencer({image!r}, out_dir={str(tmp_path / 'vis')!r}))
meta = inferencer.inferencer.model.dataset_meta
print(json.dumps(dict(name=meta['dataset_name'], links=meta['skeleton_links'],
                      flip=meta['flip_indices'],
                      drawn=inferencer.inferencer.visualizer.dataset_meta['skeleton_links'],
                      keypoints=len(result['predictions'][0][0]['keypoints']))))
'''
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert 'dataset_meta are not saved' not in output and 'Can not load dataset_meta' not in output
    import json

    from mmpose.datasets import MpiiDataset
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    mpii = parse_pose_metainfo(MpiiDataset.METAINFO)
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got['name'] == 'mpii' and got['keypoints'] == 16
    assert got['links'] == got['drawn'] == [list(link) for link in mpii['skeleton_links']]
    assert got['flip'] == list(mpii['flip_indices'])
    assert len(os.listdir(tmp_path / 'vis' / 'visualizations')) == 1
