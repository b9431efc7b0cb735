"""StackedHourglassHead: intermediate supervision, prediction through mmpose's codec."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from hourglass_plugin.models import HeatmapMSELoss

CODEC = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)


def head(**overrides):
    cfg = dict(type='StackedHourglassHead', in_channels=3, out_channels=3, num_stacks=2,
               decoder=CODEC)
    cfg.update(overrides)
    return MODELS.build(cfg)


def samples(gt, weights):
    out = []
    for g, w in zip(gt, weights):
        s = PoseDataSample(metainfo=dict(flip_indices=[0, 2, 1], input_size=(64, 64)))
        s.gt_fields = PixelData(heatmaps=g)
        s.gt_instance_labels = InstanceData(keypoint_weights=w[None])
        out.append(s)
    return out


def test_loss_every_stack_weighted_and_logged():
    gt = torch.rand(2, 3, 16, 16)
    weights = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.5]])
    feats = [torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)]
    losses = head(stack_loss_weights=[0.5, 2.0]).loss(feats, samples(gt, weights))
    mse = HeatmapMSELoss()
    assert set(losses) == {'loss_stack0', 'loss_stack1', 'acc_pose'}
    assert losses['loss_stack0'].item() == pytest.approx(0.5 * mse(feats[0], gt, weights).item())
    assert losses['loss_stack1'].item() == pytest.approx(2.0 * mse(feats[1], gt, weights).item())


def test_accuracy_on_last_stack():
    gt = torch.zeros(1, 3, 16, 16)
    for k, (y, x) in enumerate([(3, 4), (8, 8), (12, 2)]):
        gt[0, k, y, x] = 1.0
    weights = torch.ones(1, 3)
    wrong = torch.roll(gt, shifts=6, dims=-1)
    good = head().loss([wrong, gt], samples(gt, weights))['acc_pose'].item()
    bad = head().loss([gt, wrong], samples(gt, weights))['acc_pose'].item()
    assert good == pytest.approx(1.0) and bad < 0.5


def test_heatmap_backbone_adds_no_layer_feature_backbone_gets_a_conv_per_stack():
    assert sum(p.numel() for p in head().parameters()) == 0
    h = head(in_channels=8, final_layer=dict(kernel_size=1))
    assert [tuple(m.weight.shape) for m in h.multi_final_layers] == [(3, 8, 1, 1)] * 2
    outs = h.forward([torch.rand(1, 8, 16, 16)] * 2)
    assert [tuple(o.shape) for o in outs] == [(1, 3, 16, 16)] * 2


def test_predict_decodes_last_stack_with_quarter_offset():
    heatmaps = torch.zeros(1, 3, 16, 16)
    heatmaps[0, :, 5, 10] = 1.0
    heatmaps[0, :, 5, 11] = 0.5  # right neighbour higher: +0.25 px in x
    first = torch.zeros_like(heatmaps)
    first[0, :, 2, 2] = 1.0  # stack 0 points elsewhere: must be ignored
    preds = head().predict([first, heatmaps], samples(heatmaps, torch.ones(1, 3)), {})
    keypoints = preds[0].keypoints  # (1, K, 2), in input-image pixels (x4)
    np.testing.assert_allclose(keypoints[0], [[41.0, 20.0]] * 3, atol=1e-4)
    assert preds[0].keypoint_scores.shape == (1, 3)


def test_flip_test_averages_the_mirrored_prediction():
    heatmaps = torch.zeros(1, 3, 16, 16)
    heatmaps[0, 0, 5, 9] = 1.0
    heatmaps[0, 1, 7, 3] = 1.0
    heatmaps[0, 2, 7, 12] = 1.0
    # what the network would give on the mirrored image: mirrored, with joints 1 and 2 swapped
    flipped = heatmaps.flip(-1)[:, [0, 2, 1]]
    plain = head().predict([heatmaps, heatmaps], samples(heatmaps, torch.ones(1, 3)), {})
    tta = head().predict([[heatmaps, heatmaps], [flipped, flipped]],
                         samples(heatmaps, torch.ones(1, 3)),
                         dict(flip_test=True, shift_heatmap=False))
    np.testing.assert_allclose(tta[0].keypoints, plain[0].keypoints, atol=1e-4)
    shifted = head().predict([[heatmaps, heatmaps], [flipped, flipped]],
                             samples(heatmaps, torch.ones(1, 3)),
                             dict(flip_test=True, shift_heatmap=True))
    assert not np.allclose(shifted[0].keypoints, plain[0].keypoints)


def test_heatmaps_of_bf16_autocast_give_the_fp32_loss_accuracy_and_keypoints():
    """Under bf16 autocast (train.py/test.py --amp) the heatmaps are bf16, a dtype NumPy does
    not have: the accuracy and the decoded keypoints are those of the fp32 heatmaps."""
    gt = torch.zeros(2, 3, 16, 16)
    for k, (y, x) in enumerate([(3, 4), (8, 8), (12, 2)]):
        gt[:, k, y, x] = 1.0
    weights = torch.ones(2, 3)
    feats = [torch.rand(2, 3, 16, 16), gt.to(torch.bfloat16)]
    losses = head().loss(feats, samples(gt, weights))
    fp32 = head().loss([f.float() for f in feats], samples(gt, weights))
    assert losses['acc_pose'].item() == fp32['acc_pose'].item() == pytest.approx(1.0)
    preds = head().predict(feats, samples(gt, weights), {})
    expected = head().predict([f.float() for f in feats], samples(gt, weights), {})
    np.testing.assert_array_equal(preds[0].keypoints, expected[0].keypoints)
    np.testing.assert_allclose(preds[0].keypoints[0, 1], [32.0, 32.0])  # (8, 8) x4


def test_stack_count_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match=r'num_stacks=2 but the backbone returned 3'):
        head().forward([torch.rand(1, 3, 16, 16)] * 3)


@pytest.mark.parametrize('overrides, message', [
    (dict(in_channels=8), r'in_channels \(8\) must equal out_channels \(3\)'),
    (dict(stack_loss_weights=[1.0]), r'stack_loss_weights has 1 values'),
])
def test_bad_head_arguments(overrides, message):
    with pytest.raises(ValueError, match=message):
        head(**overrides)
