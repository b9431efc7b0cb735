"""mmpose's and mmdet's own tools and inferencers with our configs, as a user runs them.

The tools are the ones shipped inside the installed packages (``<package>/.mim/tools``, what
``mim train``/``mim test`` run); the configs reach the plugin through their ``custom_imports``
line only. The checkpoints these runs save are real Runner checkpoints (message hub, numpy
values, dataset meta), so loading them in the inferencers also checks safe loading on them.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from helpers.models import pausing_config
from helpers.paths import DATA, DET, IMAGE, RESUME_CFG, TINY, checkpoint_files
from helpers.processes import kill_when_paused, run_python, stock_tool, succeeded, tool_env

pytestmark = pytest.mark.slow  # end to end: see setup.cfg


def run(*args: str) -> subprocess.CompletedProcess:
    result = run_python(*args, threads=2)
    succeeded(result)
    return result


@pytest.fixture(scope='module')
def pose_run(tmp_path_factory):
    """mmpose's tools/train.py on the tiny config: a work dir with its Runner checkpoints."""
    work = str(tmp_path_factory.mktemp('pose'))
    run(stock_tool('mmpose', 'train.py'), TINY, '--work-dir', work)
    return work


@pytest.fixture(scope='module')
def det_run(tmp_path_factory):
    """mmdet's tools/train.py on the tiny CornerNet config."""
    work = str(tmp_path_factory.mktemp('det'))
    run(stock_tool('mmdet', 'train.py'), DET, '--work-dir', work)
    return work


def test_mmpose_tools_train_then_test(pose_run, tmp_path, sample_head_boxes):
    checkpoint = osp.join(pose_run, 'epoch_2.pth')
    assert osp.isfile(checkpoint)
    headboxes = sample_head_boxes
    result = run(stock_tool('mmpose', 'test.py'), TINY, checkpoint, '--work-dir',
                 str(tmp_path / 'test'), '--cfg-options',
                 f'test_dataloader.dataset.headbox_file={headboxes}')
    assert 'PCK@0.1:' in result.stdout + result.stderr


def test_mmdet_tools_train_then_test(det_run, tmp_path):
    checkpoint = osp.join(det_run, 'epoch_2.pth')
    assert osp.isfile(checkpoint)
    result = run(stock_tool('mmdet', 'test.py'), DET, checkpoint, '--work-dir',
                 str(tmp_path / 'test'))
    assert 'coco/bbox_mAP:' in result.stdout + result.stderr


def inferencer_run(code: str) -> dict:
    result = run('-c', 'import hourglass_plugin\n' + code)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mmposeinferencer_loads_the_runner_checkpoint(pose_run, tmp_path):
    image = IMAGE
    got = inferencer_run(f'''
import json
from mmpose.apis import MMPoseInferencer
inferencer = MMPoseInferencer(pose2d={TINY!r}, pose2d_weights={osp.join(pose_run, 'epoch_2.pth')!r},
                              det_model='whole_image', device='cpu')
result = next(inferencer({image!r}, out_dir={str(tmp_path)!r}))
print(json.dumps(dict(keypoints=len(result['predictions'][0][0]['keypoints']),
                      name=inferencer.inferencer.model.dataset_meta['dataset_name'])))
''')
    assert got == dict(keypoints=16, name='mpii')
    assert len(os.listdir(tmp_path / 'visualizations')) == 1


def test_detinferencer_loads_the_runner_checkpoint(det_run, tmp_path):
    image = osp.join(DATA, 'coco_sample', 'images', '000000000785.jpg')
    got = inferencer_run(f'''
import json
from mmdet.apis import DetInferencer
inferencer = DetInferencer(model={DET!r}, weights={osp.join(det_run, 'epoch_2.pth')!r},
                           device='cpu')
result = inferencer({image!r}, out_dir={str(tmp_path)!r}, no_save_pred=False)
prediction = result['predictions'][0]
print(json.dumps(dict(boxes=len(prediction['bboxes']), labels=sorted(set(prediction['labels'])),
                      classes=list(inferencer.model.dataset_meta['classes']))))
''')
    assert got['boxes'] > 0 and got['labels'] == [0] and got['classes'] == ['person']
    assert len(os.listdir(tmp_path / 'vis')) == 1


def test_mmpose_tools_train_killed_while_saving_then_resumed(tmp_path, sample_head_boxes):
    """mmpose's own tools/train.py on a config of the plugin, SIGKILLed while a checkpoint is
    being written (the run pauses itself there: helpers/pause_points.py), then resumed with its
    own --resume: the config's CrashSafeCheckpointHook left a whole checkpoint and a
    last_checkpoint that names it, so training finishes."""
    from hourglass_plugin.checkpoint import load_checkpoint_safely
    options = ['--cfg-options', f'val_dataloader.dataset.headbox_file={sample_head_boxes}']
    work = tmp_path / 'work'
    train = stock_tool('mmpose', 'train.py')
    kill_when_paused([sys.executable, train, pausing_config(tmp_path), '--work-dir', str(work),
                      *options], tool_env(PAUSE_BEFORE_REPLACE='epoch_3.pth'),
                     tmp_path / 'killed.log')
    assert not (work / 'epoch_3.pth').exists() and (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_2.pth')
    result = run(train, RESUME_CFG, '--work-dir', str(work), '--resume', *options)
    assert f'Load checkpoint from {work / "epoch_2.pth"}' in result.stdout + result.stderr
    assert checkpoint_files(work) == ['epoch_6.pth']  # max_keep_ckpts=1, all epochs trained
    assert 'state_dict' in load_checkpoint_safely(str(work / 'epoch_6.pth'))


def test_mmpose_tools_train_with_the_bf16_wrapper(tmp_path):
    """A config that names BF16OptimWrapper trains through mmpose's own tools/train.py (the
    wrapper is registered by the config's custom_imports line), and says its precision."""
    from hourglass_plugin.engine import cpu_has_native_bf16
    result = run(stock_tool('mmpose', 'train.py'), TINY, '--work-dir', str(tmp_path),
                 '--cfg-options', 'optim_wrapper.type=BF16OptimWrapper', 'train_cfg.max_epochs=1')
    log = result.stdout + result.stderr
    expected = ('BF16OptimWrapper: forward in bf16 on cpu' if cpu_has_native_bf16() else
                'BF16OptimWrapper: this CPU has no native bf16')
    assert expected in log
    assert osp.isfile(tmp_path / 'epoch_1.pth')
