"""Bad input: broken datasets, configs and checkpoints are refused in one or two lines that
name the file, record or key and the value, before anything is trained or written. Joints outside
the image are legal and train and evaluate. Broken files are copies in tmp_path, never the
shared sample."""
import json
import math
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from helpers.models import (build_tiny_model, save_model, save_sample_head_boxes,
                            save_tiny_checkpoint, tiny_cfg)
from helpers.paths import IMAGE, LSP_CONFIG, SAMPLE, TINY
from helpers.pickles import Evil
from helpers.processes import run_tool, user_error
from hourglass_plugin.checkpoint import load_checked
from hourglass_plugin.errors import CheckpointError, ConfigError, DatasetError
from hourglass_plugin.run import prepare_run

#: The image of record 2 of the sample's annotations.json.
RECORD2_IMAGE = '051423444.jpg'


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture()
def sample(tmp_path) -> str:
    """A private copy of the 5 real MPII images and their annotations, to break."""
    root = str(tmp_path / 'mpii')
    shutil.copytree(SAMPLE, root)
    return root


def records_of(root: str) -> list:
    with open(osp.join(root, 'annotations.json')) as f:
        return json.load(f)


def write_records(root: str, records) -> None:
    with open(osp.join(root, 'annotations.json'), 'w') as f:
        json.dump(records, f)  # NaN and inf are written as json's NaN / Infinity literals


def build_dataset(root: str, **kwargs):
    """The tiny config's train dataset (CheckedMpiiDataset) on ``root``."""
    from mmpose.registry import DATASETS
    init_default_scope('mmpose')
    cfg = Config.fromfile(TINY).train_dataloader.dataset
    cfg.update(data_root=root + '/', **kwargs)
    return DATASETS.build(cfg)


def files_under(path) -> dict:
    """{relative path: bytes} of every file under ``path``."""
    found = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = osp.join(folder, name)
            with open(full, 'rb') as f:
                found[osp.relpath(full, path)] = f.read()
    return found


# ------------------------------------------------------------------------------ dataset


def test_intact_sample_builds(sample):
    assert len(build_dataset(sample)) == 5


@pytest.mark.parametrize('index, change, expected', [
    (2, lambda r: r.update(joints=r['joints'][:15]),
     r'record 2: joints must be 16 \[x, y\] pairs of numbers, got a list of 15'),
    (1, lambda r: r.update(joints_vis=r['joints_vis'] + [1]),
     r'record 1: joints_vis must be 16 numbers .*a list of 17'),
    (1, lambda r: r['joints'].__setitem__(4, [math.nan, 10]),
     r'record 1: joints\[4\] = \[nan, 10.0\] is not finite'),
    (4, lambda r: r['joints'].__setitem__(0, [3.0, -math.inf]),
     r'record 4: joints\[0\] = \[3.0, -inf\] is not finite'),
    (3, lambda r: r.update(center=[math.inf, 5]), r'record 3: center = \[inf, 5.0\] is not finite'),
    (0, lambda r: r.update(scale=0), r'record 0: scale = 0 must be a finite number > 0'),
    (2, lambda r: r.update(scale=-1.5), r'record 2: scale = -1.5 must be a finite number > 0'),
    (3, lambda r: r.update(scale=math.nan), r'record 3: scale = nan must be a finite number > 0'),
    (1, lambda r: r.pop('center'), r"record 1: lacks the key\(s\) \['center'\]"),
])
def test_bad_record_refused_at_build(sample, index, change, expected):
    records = records_of(sample)
    change(records[index])
    write_records(sample, records)
    with pytest.raises(DatasetError, match=expected) as info:
        build_dataset(sample)
    assert osp.join(sample, 'annotations.json') in str(info.value)


def test_every_bad_record_is_counted(sample):
    records = records_of(sample)
    for record in records[1:4]:
        record['scale'] = 0
    write_records(sample, records)
    with pytest.raises(DatasetError, match=r'record 1: scale = 0 .*\(2 more bad records\)'):
        build_dataset(sample)


def test_empty_annotation_list_refused(sample):
    write_records(sample, [])
    with pytest.raises(DatasetError, match=r'annotations\.json holds no records'):
        build_dataset(sample)


def test_malformed_json_names_line_and_column(sample):
    path = osp.join(sample, 'annotations.json')
    with open(path, 'w') as f:
        f.write('[\n  {"image": "1.jpg",\n   "scale" 1.0}\n]\n')  # ':' missing, line 3 col 12
    with pytest.raises(DatasetError) as info:
        build_dataset(sample)
    assert str(info.value) == (f"annotation file {path} is not valid JSON: Expecting ':' "
                               'delimiter at line 3, column 12')


def test_missing_annotation_file_named(sample):
    with pytest.raises(FileNotFoundError, match=r'annotation file .*nowhere\.json does not'):
        build_dataset(sample, ann_file='nowhere.json')


@pytest.mark.parametrize('damage, expected', [
    ('delete', 'does not exist'),
    ('truncate', r'is a truncated JPEG \(\d+ bytes, no end-of-image marker FF D9'),
    ('text', r"is not an image: it starts with b'not an i'"),
    ('empty', r'is empty \(0 bytes\)'),
])
def test_bad_image_file_refused_at_build(sample, damage, expected):
    """Found when the dataset is built, before any sample is drawn; named with its record."""
    path = osp.join(sample, 'images', RECORD2_IMAGE)
    data = open(path, 'rb').read()
    if damage == 'delete':
        os.remove(path)
    else:
        with open(path, 'wb') as f:
            f.write({'truncate': data[:len(data) // 2], 'text': b'not an image at all',
                     'empty': b''}[damage])
    with pytest.raises(DatasetError, match=f'image {re.escape(path)} \\(record 2 of '
                       f'{re.escape(osp.join(sample, "annotations.json"))}\\) {expected}'):
        build_dataset(sample)


def test_image_corrupt_inside_named_when_loaded(sample):
    """Signature and end marker intact, nothing decodable between: loading names the file."""
    path = osp.join(sample, 'images', RECORD2_IMAGE)
    with open(path, 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0\x00\x10JFIF\x00' + bytes(2000) + b'\xff\xd9')
    dataset = build_dataset(sample)
    dataset[0]  # the other images still load
    with pytest.raises(DatasetError, match=f'image {re.escape(path)} .*cannot be decoded'):
        dataset[2]


def test_image_corrupt_inside_named_in_one_line_from_a_worker(sample, tmp_path, run_tool_here,
                                                              one_thread):
    """Raised in a DataLoader worker, which torch re-raises with the worker's traceback in the
    message: the tool still prints the one line."""
    path = osp.join(sample, 'images', RECORD2_IMAGE)
    with open(path, 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0\x00\x10JFIF\x00' + bytes(2000) + b'\xff\xd9')
    message = user_error(run_tool_here(
        'train.py', TINY, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={sample}/', 'train_dataloader.num_workers=1'))
    assert re.fullmatch(f'error: image {re.escape(path)} \\(sample \\d of .*\\) cannot be '
                        'decoded: .*', message), message


def test_missing_head_box_file_named_at_build(sample):
    missing = osp.join(sample, 'mpii_gt_val.mat')
    with pytest.raises(FileNotFoundError, match=f'head-box file {re.escape(missing)} does not'):
        build_dataset(sample, headbox_file=missing, test_mode=True)


def test_head_box_count_must_match_the_records(sample, tmp_path):
    head_boxes = save_sample_head_boxes(str(tmp_path / 'mpii_gt_val.mat'))  # 5 boxes
    write_records(sample, records_of(sample)[:4])
    with pytest.raises(DatasetError, match=r'has 5 boxes but .*annotations\.json has 4 records'):
        build_dataset(sample, headbox_file=head_boxes, test_mode=True)


def test_pckh_without_head_box_file_refused_before_testing():
    cfg = tiny_cfg()  # test_evaluator MpiiPCKAccuracy, no headbox_file
    with pytest.raises(ConfigError, match=r'test_evaluator computes PCKh.*test_dataloader\.'
                       r'dataset\.headbox_file is not set'):
        prepare_run(cfg, 'test')


def test_tools_test_names_missing_head_box_file_before_testing(tmp_path, run_tool_here):
    checkpoint = save_tiny_checkpoint(str(tmp_path / 'tiny.pth'))
    missing = str(tmp_path / 'no' / 'mpii_gt_val.mat')
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here(
        'test.py', TINY, checkpoint, '--work-dir', str(work_dir), '--cfg-options',
        f'test_dataloader.dataset.headbox_file={missing}'))
    assert f'head-box file {missing} does not exist' in message
    assert not work_dir.exists()  # refused before the Runner (and its logs) started


@pytest.fixture(scope='module')
def lsp_checkpoint(tmp_path_factory) -> str:
    """Seeded random weights of the LSP config's model (14 joints)."""
    from mmpose.registry import MODELS
    init_default_scope('mmpose')
    path = str(tmp_path_factory.mktemp('lsp') / 'lsp.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(LSP_CONFIG).model).state_dict()}, path)
    return path


@pytest.mark.parametrize('tool, split', [('train.py', 'train'), ('test.py', 'test')])
def test_coco_style_dataset_without_its_annotations_names_the_converter(
        tmp_path, run_tool_here, lsp_checkpoint, tool, split):
    """The LSP config before lsp2coco.py has run: one line naming the missing file and the
    command that makes it, and nothing written."""
    root = str(tmp_path / 'lsp') + '/'
    work_dir = tmp_path / 'work'
    args = [LSP_CONFIG] + ([lsp_checkpoint] if tool == 'test.py' else [])
    message = user_error(run_tool_here(
        tool, *args, '--work-dir', str(work_dir), '--cfg-options',
        *[f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]))
    expected = f'{root}annotations/lsp_{"train" if split == "train" else "test"}.json'
    assert message == (f'error: {split}_dataloader.dataset.ann_file: annotation file {expected} '
                       'does not exist; make it with: python tools/dataset_converters/lsp2coco.py '
                       f'LSP_RELEASE --out {root}')
    assert not work_dir.exists()


@pytest.mark.slow
def test_int8_export_without_coco_style_annotations_names_the_converter(
        tmp_path, lsp_checkpoint, run_tool_here):
    root = str(tmp_path / 'lsp') + '/'
    out = tmp_path / 'out'
    message = user_error(run_tool_here(
        'export.py', LSP_CONFIG, lsp_checkpoint, '--out', str(out / 'lsp.onnx'), '--image', IMAGE,
        '--precision', 'int8', '--cfg-options',
        *[f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]))
    assert f'annotation file {root}annotations/lsp_train.json does not exist' in message
    assert f'lsp2coco.py LSP_RELEASE --out {root}' in message
    assert not out.exists() or os.listdir(out) == []


@pytest.mark.slow
def test_tools_train_refuses_missing_image_before_training(sample, tmp_path, run_tool_here):
    os.remove(osp.join(sample, 'images', RECORD2_IMAGE))
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here('train.py', TINY, '--work-dir', str(work_dir),
                                       '--cfg-options',
                                       f'train_dataloader.dataset.data_root={sample}/'))
    assert f'image {osp.join(sample, "images", RECORD2_IMAGE)} (record 2 of ' in message
    assert 'does not exist' in message
    assert not work_dir.exists()


@pytest.mark.slow
def test_joints_outside_the_image_train_and_evaluate(sample, tmp_path, one_thread):
    """Legal, as in MPII: such a record passes the checks, trains with finite losses and is
    evaluated (PCKh computed)."""
    records = records_of(sample)
    outside = [(0, 0, [-40.0, 700.0]), (1, 5, [3000.0, 50.0]), (2, 10, [10.0, -25.0]),
               (4, 15, [-5.0, 5000.0])]
    for index, joint, xy in outside:
        records[index]['joints'][joint] = xy
    records[1]['joints_vis'][5] = 0
    write_records(sample, records)
    head_boxes = save_sample_head_boxes(str(tmp_path / 'mpii_gt_val.mat'))  # neck/head kept
    cfg = tiny_cfg(**{f'{split}_dataloader.dataset.data_root': sample + '/'
                      for split in ('train', 'test')})
    cfg.test_dataloader.dataset.headbox_file = head_boxes
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    prepare_run(cfg, 'train')
    prepare_run(cfg, 'test')
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 1 and all(math.isfinite(v) for v in losses)
    metrics = runner.test()
    assert 0 <= metrics['PCK'] <= 100 and math.isfinite(metrics['PCK@0.1'])


# ------------------------------------------------------------------------------- config


def test_head_stacks_must_equal_backbone_stacks():
    with pytest.raises(ConfigError, match=r'model\.head\.num_stacks=3 but model\.backbone\.'
                       r'num_stacks=2'):
        prepare_run(tiny_cfg(**{'model.head.num_stacks': 3}), 'model')


def test_head_channels_must_equal_backbone_outputs():
    cfg = tiny_cfg()
    cfg.model.head.update(in_channels=17, final_layer=dict(kernel_size=1))  # a 1x1 conv 17 -> 16
    with pytest.raises(ConfigError, match=r'model\.head\.in_channels=17 but each stack of the '
                       r'backbone outputs 16 channels'):
        prepare_run(cfg, 'model')


@pytest.mark.parametrize('key, size, expected', [
    ('model.head.decoder.input_size', (72, 64), r'model\.head\.decoder\.input_size=\(72, 64\) '
     r'\(W, H\): input size 64x72 \(HxW\) cannot pass .* multiples of 16'),
    ('train_dataloader.dataset.pipeline.2.input_size', (64, 40),
     r'train_dataloader\.dataset\.pipeline\[2\]\.input_size \(TopdownAffine\)=\(64, 40\) '
     r'\(W, H\): input size 40x64 .* multiples of 16'),
])
def test_input_size_the_backbone_cannot_divide(key, size, expected):
    with pytest.raises(ConfigError, match=expected):
        prepare_run(tiny_cfg(**{key: size}), 'train')


def test_divisible_input_size_passes():
    prepare_run(tiny_cfg(**{'model.head.decoder.input_size': (96, 48)}), 'model')


def test_unknown_type_says_what_is_close():
    cfg = tiny_cfg(**{'train_dataloader.dataset.pipeline.2.type': 'TopDownAfine'})
    with pytest.raises(ConfigError) as info:
        prepare_run(cfg, 'train')
    assert str(info.value).startswith(
        "train_dataloader.dataset.pipeline[2].type: type 'TopDownAfine' is not in the "
        "mmpose::transform registry; did you mean 'TopdownAffine'")


@pytest.mark.parametrize('option, expected', [
    ('model.backbone.stage_channels=[32,32]', 'model.backbone (StackedHourglass): stage_channels '
     'needs order + 1 = 3 values (one per level), got 2: [32, 32]'),
    ('model.backbone.order=3', 'model.backbone (StackedHourglass): stage_channels needs order + 1 '
     '= 4 values (one per level), got 3: [32, 32, 32]'),
    ('model.backbone.stage_blocks=[1,0,1]', 'model.backbone (StackedHourglass): stage_blocks must '
     'hold positive ints, got [1, 0, 1]'),
    ('model.backbone.stem.block_channels=[32,32,16]', 'model.backbone (StackedHourglass): stem '
     'block_channels[-1]=16 must equal stage_channels[0]=32'),
    ('model.backbone.num_stack=3', "model.backbone (StackedHourglass): StackedHourglass.__init__() "
     "got an unexpected keyword argument 'num_stack'; did you mean 'num_stacks'?"),
    ('model.backbone.downsample=avg_pool', "model.backbone (StackedHourglass): downsample="
     "'avg_pool'; choose one of"),
])
def test_tools_train_refuses_inconsistent_backbone(tmp_path, run_tool_here, option, expected):
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here('train.py', TINY, '--work-dir', str(work_dir),
                                       '--cfg-options', option))
    assert message.startswith(f'error: {expected}'), message
    assert not work_dir.exists()


@pytest.mark.slow
def test_tools_train_unknown_type_did_you_mean(tmp_path, run_tool_here):
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here('train.py', TINY, '--work-dir', str(work_dir),
                                       '--cfg-options', 'model.backbone.type=StackedHourGlass'))
    assert message == ("error: model.backbone.type: type 'StackedHourGlass' is not in the "
                       "mmpose::model registry; did you mean 'StackedHourglass' or "
                       "'StackedHourglassHead' or 'HourglassNet'?")
    assert not work_dir.exists()


# --------------------------------------------------------------------------- checkpoint


def test_wrong_architecture_lists_the_keys(tmp_path):
    model = build_tiny_model()
    more_stacks = save_model(tmp_path / 'hg3.pth', num_stacks=3)
    with pytest.raises(CheckpointError) as info:
        load_checked(model, more_stacks)
    message = str(info.value)
    assert f'checkpoint {more_stacks} does not fit the model of this config: ' in message
    assert 'unexpected keys (backbone.hourglasses.2.* x' in message
    assert 'backbone.merges.1.*' in message and 'missing' not in message
    wider = save_model(tmp_path / 'wide.pth', feat_channels=48)
    with pytest.raises(CheckpointError, match=r'mis-shaped \(backbone\.stack_outputs\.0\.'
                       r'[\w.]+: checkpoint \(48, [\d, ]+\), model \(32, '):
        load_checked(model, wider)
    state = build_tiny_model().state_dict()
    del state['backbone.stem.conv.conv.weight']
    torch.save({'state_dict': state}, tmp_path / 'less.pth')
    with pytest.raises(CheckpointError, match=r'1 missing keys \(backbone\.stem\.conv\.conv\.'
                       r'weight\)'):
        load_checked(model, str(tmp_path / 'less.pth'))


def test_same_architecture_passes(tmp_path):
    load_checked(build_tiny_model(), save_tiny_checkpoint(str(tmp_path / 'tiny.pth')))


@pytest.mark.slow
def test_tools_test_refuses_wrong_architecture(tmp_path, run_tool_here):
    checkpoint = save_model(tmp_path / 'hg3.pth', num_stacks=3)
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here('test.py', TINY, checkpoint, '--work-dir', str(work_dir)))
    assert f'checkpoint {checkpoint} does not fit the model' in message
    assert 'unexpected keys (backbone.hourglasses.2.*' in message
    assert not work_dir.exists()


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['wrong architecture', 'truncated', 'code in the pickle'])
def test_tools_train_refuses_bad_load_from_and_keeps_the_work_dir(tmp_path, kind, run_tool_here):
    """Nothing written or lost: the work dir's checkpoint and files stay byte for byte. (The
    pickle is tried in a process of its own, where nothing of the test could hide a side
    effect.)"""
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    good = save_tiny_checkpoint(str(work_dir / 'epoch_1.pth'))
    (work_dir / 'last_checkpoint').write_text(good)
    before = files_under(work_dir)
    bad, target = str(tmp_path / 'bad.pth'), tmp_path / 'pwned'
    if kind == 'wrong architecture':
        save_model(bad, num_stacks=3)
    elif kind == 'truncated':
        data = open(good, 'rb').read()
        open(bad, 'wb').write(data[:len(data) // 2])
    else:
        torch.save({'state_dict': {}, 'meta': Evil(str(target))}, bad)
    run = run_tool if kind == 'code in the pickle' else run_tool_here
    message = user_error(run('train.py', TINY, '--work-dir', str(work_dir), '--cfg-options',
                             f'load_from={bad}'))
    assert bad in message
    assert {'wrong architecture': 'does not fit the model', 'truncated': 'is truncated',
            'code in the pickle': 'refused to load checkpoint'}[kind] in message
    assert files_under(work_dir) == before
    assert not target.exists()


def test_tools_test_refuses_truncated_checkpoint(tmp_path, run_tool_here):
    good = save_tiny_checkpoint(str(tmp_path / 'tiny.pth'))
    data = open(good, 'rb').read()
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(data[:len(data) // 3])
    work_dir = tmp_path / 'work'
    message = user_error(run_tool_here('test.py', TINY, str(bad), '--work-dir', str(work_dir)))
    assert f'checkpoint {bad} is truncated' in message
    assert not work_dir.exists()
