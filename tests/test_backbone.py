"""StackedHourglass: the two anchored variants, every configurable point, the input contract."""
import pytest
import torch
from torch import nn

from helpers.models import (build, hg104_backbone_cfg, num_params, pose_backbone_cfg, small_det_cfg,
                            small_pose_cfg)


@pytest.mark.parametrize('num_stacks, expected', [(8, 25_434_112), (2, 6_570_400)])
def test_newell_parameter_count(num_stacks, expected):
    assert num_params(build(pose_backbone_cfg(num_stacks))) == expected


def test_hg104_parameter_count_equals_mmdet():
    from mmdet.models.backbones import HourglassNet
    ours = num_params(build(hg104_backbone_cfg()))
    assert ours == 187_700_352
    assert ours == num_params(HourglassNet())


def test_newell_hg8_gmacs():
    from mmengine.analysis import get_model_complexity_info
    model = build(pose_backbone_cfg(8)).eval()
    info = get_model_complexity_info(model, input_shape=(3, 256, 256), show_table=False,
                                     show_arch=False)
    gmacs = info['flops'] / 1e9  # mmengine counts one multiply-add as one flop
    assert 27.0 < gmacs < 27.8, gmacs


@pytest.mark.parametrize('num_stacks', [1, 2, 3])
@pytest.mark.parametrize('order', [1, 2, 3])
def test_pose_shapes_per_stack(num_stacks, order):
    model = build(small_pose_cfg(num_stacks=num_stacks, order=order,
                                 stage_channels=(32, ) * (order + 1),
                                 stage_blocks=(1, ) * (order + 1)))
    size = model.size_divisibility * 2
    outs = model(torch.randn(2, 3, size, size))
    assert len(outs) == num_stacks
    assert all(o.shape == (2, 5, size // 4, size // 4) for o in outs)
    assert model.output_shape() == [dict(channels=5, stride=4)] * num_stacks


def test_newell_full_size_shapes():
    model = build(pose_backbone_cfg(2)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 256, 256))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 64, 64)] * 2


@pytest.mark.parametrize('size', [(64, 64), (511, 511), (97, 130)])
def test_detection_shapes_any_size(size):
    """Strided downsampling takes odd sizes, like mmdet's HourglassNet (e.g. 511)."""
    model = build(small_det_cfg(num_stacks=2)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    expected = tuple(-(-s // 4) for s in size)  # ceil
    assert [tuple(o.shape) for o in outs] == [(1, 24, *expected)] * 2
    assert model.size_divisibility == 1


@pytest.mark.slow
def test_hg104_outputs_like_mmdet():
    """Full HG-104 at 511: one 256-channel map at 1/4 per stack, as CornerHead expects."""
    from mmdet.models.backbones import HourglassNet
    ours = build(hg104_backbone_cfg()).eval()
    theirs = HourglassNet().eval()
    x = torch.randn(1, 3, 511, 511)
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    assert [o.shape for o in a] == [o.shape for o in b] == [torch.Size([1, 256, 128, 128])] * 2


def test_bad_input_size_is_a_value_error_naming_the_sizes():
    model = build(small_pose_cfg())  # max-pool, order 2: multiples of 16
    with pytest.raises(ValueError, match=r'100x64.*multiples of 16'):
        model(torch.randn(1, 3, 100, 64))


def test_every_parameter_gets_a_gradient():
    for cfg in (small_pose_cfg(num_stacks=3), small_det_cfg(num_stacks=3)):
        model = build(cfg)
        outs = model(torch.randn(2, 3, 64, 64))
        sum(o.square().mean() for o in outs).backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, f'parameters without gradient: {missing}'


def test_reinjection_second_stack_loss_reaches_first_prediction_layer():
    """Paper: stack 2 sees stack 1's heatmaps, so its loss has a gradient wrt stack 1's 1x1."""
    model = build(small_pose_cfg(num_stacks=2))
    outs = model(torch.randn(2, 3, 64, 64))
    outs[1].square().mean().backward()
    grad = model.stack_outputs[0].predict.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_feature_merge_does_not_use_predictions():
    """CornerNet: stack 2 depends on stack 1's features only (no prediction layer at all)."""
    model = build(small_det_cfg(num_stacks=2))
    assert all(s.predict is None for s in model.stack_outputs)
    assert all(not hasattr(m, 'predictions') for m in model.merges)


def test_gn_reaches_every_level():
    for cfg in (small_pose_cfg(norm_cfg=dict(type='GN', num_groups=8)),
                small_det_cfg(norm_cfg=dict(type='GN', num_groups=8))):
        model = build(cfg)
        kinds = {type(m) for m in model.modules()}
        assert nn.GroupNorm in kinds
        assert not any(issubclass(k, nn.modules.batchnorm._BatchNorm) for k in kinds)


def test_act_cfg_reaches_every_level():
    model = build(small_det_cfg(act_cfg=dict(type='LeakyReLU', negative_slope=0.1)))
    kinds = {type(m) for m in model.modules()}
    assert nn.LeakyReLU in kinds and nn.ReLU not in kinds


@pytest.mark.parametrize('option, values', [
    ('block', ['Residual', 'BasicBlock']),
    ('downsample', ['max_pool', 'strided_conv']),
    ('stage_channels', [(32, 32, 32), (32, 48, 64)]),
    ('stage_blocks', [(1, 1, 1), (2, 1, 3)]),
    ('merge', ['predictions', 'features']),
    ('out_blocks', [1, 2]),
    ('out_kernel_size', [1, 3]),
    ('conv_bias', [True, 'auto']),
    ('stem', [dict(conv_channels=16, block_channels=(32, 32, 32), downsample_before=1),
              dict(conv_channels=8, block_channels=(32, ), downsample_before=0)]),
])
def test_each_option_changes_the_network(option, values):
    """Each configurable point changes the parameters (and so the function) of the network."""
    signatures = []
    for value in values:
        model = build(small_pose_cfg(**{option: value}))
        signatures.append(sorted((n, tuple(p.shape)) for n, p in model.named_parameters()))
        assert len(model(torch.randn(1, 3, 64, 64))) == 2
    assert signatures[0] != signatures[1]


def test_num_stacks_and_order_change_depth():
    base = num_params(build(small_pose_cfg()))
    assert num_params(build(small_pose_cfg(num_stacks=3))) > base
    deeper = build(small_pose_cfg(order=3, stage_channels=(32, ) * 4, stage_blocks=(1, ) * 4))
    assert num_params(deeper) > base


@pytest.mark.parametrize('overrides, message', [
    (dict(stage_channels=(32, 32)), r'stage_channels needs order \+ 1 = 3 values'),
    (dict(stage_blocks=(1, 1, 1, 1)), r'stage_blocks needs order \+ 1 = 3 values'),
    (dict(stage_blocks=(1, 0, 1)), r'stage_blocks must hold positive ints'),
    (dict(num_stacks=0), r'num_stacks must be a positive int'),
    (dict(order=0), r'order must be a positive int'),
    (dict(block='Bottleneck'), r"block='Bottleneck'.*\['BasicBlock', 'Residual'\]"),
    (dict(downsample='avg_pool'), r"downsample='avg_pool'"),
    (dict(merge='sum'), r"merge='sum'"),
    (dict(num_keypoints=None), r"merge='predictions'.*needs num_keypoints"),
    (dict(stem=dict(conv_channels=16, block_channels=(32, 64), downsample_before=1)),
     r'block_channels\[-1\]=64 must equal stage_channels\[0\]=32'),
    (dict(stem=dict(conv_channels=16, block_channels=(32, ), downsample_before=3)),
     r'downsample_before=3'),
])
def test_inconsistent_arguments_raise_value_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        build(small_pose_cfg(**overrides))


def test_channels_last_is_the_same_function():
    model = build(small_pose_cfg()).eval()
    fast = build(small_pose_cfg(channels_last=True)).eval()
    fast.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), fast(x)):
            assert b.is_contiguous(memory_format=torch.channels_last)
            assert (a - b).abs().max() <= 1e-5 * a.abs().max()  # float reordering only
