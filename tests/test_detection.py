"""mmdet's CornerNet with StackedHourglass: both stacks supervised, the tools end to end on real
COCO images, and the same boxes as mmdet's own HourglassNet after checkpoint conversion."""
import json
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from helpers.models import randomise_norms
from helpers.paths import DET as TINY
from helpers.paths import REPO
from helpers.processes import succeeded
from hourglass_plugin.checkpoint import load_checkpoint_safely

MMDET_TINY_BACKBONE = dict(type='HourglassNet', downsample_times=3, num_stacks=2,
                           stage_channels=(32, 32, 48, 64), stage_blocks=(1, 1, 1, 2),
                           feat_channel=32)
#: what mmdet's CornerHead returns per feature level (one level per stack)
CORNER_LOSSES = ('det_loss', 'off_loss', 'pull_loss', 'push_loss')


@pytest.fixture
def mmdet_scope(monkeypatch):
    """mmdet's registries and default scope (the config's relative data paths need the repo
    root as working directory), the previous scope restored afterwards."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    monkeypatch.chdir(REPO)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def build_detector(model_cfg):
    from mmdet.registry import MODELS
    return MODELS.build(model_cfg)


def batch_from(dataloader_cfg, indices):
    """Samples ``indices`` through the config's real dataset and pipeline, collated."""
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(dataloader_cfg.dataset)
    return pseudo_collate([dataset[i] for i in indices])


def grad_sums(loss, model, prefixes):
    """Sum of |gradient| of ``loss`` over the parameters under each prefix (0 if unreached)."""
    named = dict(model.named_parameters())
    sums = {}
    for prefix in prefixes:
        params = [p for name, p in named.items() if name.startswith(prefix + '.')]
        assert params, f'no parameters under {prefix}'
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        sums[prefix] = sum(g.abs().sum().item() for g in grads if g is not None)
    return sums


def test_cornerhead_supervises_both_stacks(mmdet_scope):
    from hourglass_plugin.models import StackedHourglass
    cfg = Config.fromfile(TINY)
    model = build_detector(cfg.model)
    assert isinstance(model.backbone, StackedHourglass)
    assert model.backbone.num_stacks == model.bbox_head.num_feat_levels == 2

    np.random.seed(0)  # RandomCenterCropPad and PhotoMetricDistortion draw from numpy
    model.train()
    data = model.data_preprocessor(batch_from(cfg.train_dataloader, [0, 1]), True)
    assert data['inputs'].shape == (2, 3, 128, 128)
    losses = model(**data, mode='loss')
    for name in CORNER_LOSSES:
        assert len(losses[name]) == 2, f'{name}: one value per stack expected, got {losses[name]}'
        assert all(torch.isfinite(v) for v in losses[name])
    assert all(v > 0 for v in losses['det_loss'])

    total, _ = model.parse_losses(losses)
    prefixes = ('backbone.hourglasses.0', 'backbone.hourglasses.1', 'bbox_head.tl_heat.0',
                'bbox_head.tl_heat.1')
    grads = grad_sums(total, model, prefixes)
    assert all(grads[p] > 0 for p in prefixes), grads
    # The first level's losses read the first stack's output, not the last one: they reach the
    # first hourglass and none of what comes after it.
    first_level = sum(losses[name][0] for name in CORNER_LOSSES)
    grads = grad_sums(first_level, model, prefixes)
    assert grads['backbone.hourglasses.0'] > 0 and grads['bbox_head.tl_heat.0'] > 0, grads
    assert grads['backbone.hourglasses.1'] == 0 and grads['bbox_head.tl_heat.1'] == 0, grads


@pytest.mark.slow
def test_train_then_test_tools_report_coco_bbox_ap(tmp_path, run_tool_here):
    train_dir, test_dir = tmp_path / 'train', tmp_path / 'test'
    succeeded(run_tool_here('train.py', TINY, '--work-dir', str(train_dir)))
    checkpoint = train_dir / 'epoch_2.pth'
    assert checkpoint.is_file(), sorted(p.name for p in train_dir.iterdir())
    state_dict = load_checkpoint_safely(str(checkpoint))['state_dict']
    assert any(k.startswith('backbone.hourglasses.1.') for k in state_dict)

    output = succeeded(run_tool_here('test.py', TINY, str(checkpoint), '--work-dir',
                                     str(test_dir)))
    assert 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all' in output
    match = re.search(r'coco/bbox_mAP: (\S+)', output)
    assert match, output[-3000:]
    assert 0 <= float(match.group(1)) <= 1


@pytest.mark.slow
def test_converted_mmdet_cornernet_gives_the_same_boxes(mmdet_scope, tmp_path, run_tool_here):
    cfg = Config.fromfile(TINY)
    theirs_cfg = cfg.model.copy()
    theirs_cfg.backbone = MMDET_TINY_BACKBONE
    theirs = build_detector(theirs_cfg)
    # mmdet's initialisation (CornerHead's heatmap bias at a 0.1 prior), as training starts from:
    # plain PyTorch init saturates the heatmaps and gives no top-left corner above-left of a
    # bottom-right one, hence no box to compare.
    theirs.init_weights()
    theirs = randomise_norms(theirs)
    src, dst = tmp_path / 'mmdet_cornernet.pth', tmp_path / 'ours.pth'
    torch.save({'state_dict': theirs.state_dict(), 'meta': {}}, src)

    succeeded(run_tool_here('convert_checkpoint.py', str(src), '--out', str(dst), '--source',
                            'mmdet'))
    converted = load_checkpoint_safely(str(dst))
    backbone_cfg = converted['meta']['backbone_cfg']
    # channels_last is a memory layout (the HG-104 config's choice for speed), not architecture
    tiny_backbone = {k: v for k, v in cfg.model.backbone.to_dict().items()
                     if k not in ('_delete_', 'channels_last')}
    assert json.loads(json.dumps(backbone_cfg)) == json.loads(json.dumps(tiny_backbone)), \
        'the tiny config is not what the converter reads off the equivalent HourglassNet'
    ours_cfg = cfg.model.copy()
    ours_cfg.backbone = backbone_cfg
    ours = build_detector(ours_cfg).eval()
    ours.load_state_dict(converted['state_dict'], strict=True)

    with torch.no_grad():
        data = theirs.data_preprocessor(batch_from(cfg.test_dataloader, [0]), False)
        # every head output of both levels, i.e. both stacks' features
        for theirs_level, ours_level in zip(theirs.bbox_head(theirs.extract_feat(data['inputs'])),
                                            ours.bbox_head(ours.extract_feat(data['inputs'])),
                                            strict=True):
            for a, b in zip(theirs_level, ours_level, strict=True):
                assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
        # one pipeline run per model: predict writes its results into the data samples
        expected = theirs.test_step(batch_from(cfg.test_dataloader, [0]))[0]
        got = ours.test_step(batch_from(cfg.test_dataloader, [0]))[0]
    assert expected.img_path.endswith('000000000785.jpg')
    boxes, scores = expected.pred_instances.bboxes, expected.pred_instances.scores
    assert len(boxes) > 0, 'no box to compare'
    # boxes are in the original 640x425 image, not the 160-pixel one the network saw
    assert boxes[:, 2].max() > 200
    assert torch.allclose(got.pred_instances.bboxes, boxes, atol=1e-4), \
        (got.pred_instances.bboxes - boxes).abs().max()
    assert torch.allclose(got.pred_instances.scores, scores, atol=1e-4), \
        (got.pred_instances.scores - scores).abs().max()
    assert torch.equal(got.pred_instances.labels, expected.pred_instances.labels)
