"""HeatmapMSELoss against hand-computed values."""
import pytest
import torch

from hourglass_plugin.models import HeatmapMSELoss


def pred_target():
    pred = torch.arange(8, dtype=torch.float32).view(1, 2, 2, 2)  # squares 0 1 4 9 | 16 25 36 49
    return pred, torch.zeros_like(pred)


def test_unweighted_mean_over_every_pixel():
    pred, target = pred_target()
    loss = HeatmapMSELoss(use_target_weight=False)(pred, target)
    assert loss.item() == pytest.approx(140 / 8)


def test_weights_apply_when_enabled():
    pred, target = pred_target()
    weights = torch.tensor([[1.0, 0.0]])
    assert HeatmapMSELoss()(pred, target, weights).item() == pytest.approx(14 / 8)
    weights = torch.tensor([[0.5, 2.0]])
    assert HeatmapMSELoss()(pred, target, weights).item() == pytest.approx((7 + 252) / 8)


def test_weights_ignored_when_disabled():
    pred, target = pred_target()
    loss = HeatmapMSELoss(use_target_weight=False)(pred, target, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(140 / 8)


def test_all_invisible_is_zero_with_a_gradient():
    pred, target = pred_target()
    pred.requires_grad_(True)
    loss = HeatmapMSELoss()(pred, target, torch.zeros(1, 2))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_loss_weight_and_non_zero_target():
    pred = torch.tensor([[[[1.0]], [[3.0]]]])  # (1, 2, 1, 1)
    target = torch.tensor([[[[0.5]], [[1.0]]]])
    loss = HeatmapMSELoss(loss_weight=2.0)(pred, target, torch.tensor([[1.0, 1.0]]))
    assert loss.item() == pytest.approx(2.0 * (0.25 + 4.0) / 2)


def test_shape_errors():
    pred, target = pred_target()
    with pytest.raises(ValueError, match='must both be'):
        HeatmapMSELoss()(pred, target[:, :1], torch.ones(1, 2))
    with pytest.raises(ValueError, match='needs target_weights'):
        HeatmapMSELoss()(pred, target)
    with pytest.raises(ValueError, match=r'target_weights \(1, 3\)'):
        HeatmapMSELoss()(pred, target, torch.ones(1, 3))
