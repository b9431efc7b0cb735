"""Every fast path computes what the eager model computes: outputs, gradients, BN statistics.

Speed is not tested here (``tools/benchmark.py`` measures it, contenders side by side).
"""
import pytest
import torch
import torch.nn.functional as F

from hourglass_plugin.conversion import convert_state_dict
from hourglass_plugin.fast import fold_for_inference
from hourglass_plugin.fast.inference import KeptMaps
from hourglass_plugin.fast.fused_ops import FoldedConv
from hourglass_plugin.models.backbones.hourglass import add_upsampled
from hourglass_plugin.perf.plain_posenet import PlainPoseNet
from hourglass_plugin.perf.scenarios import pose_models
from helpers import build, randomise_norms
from test_backbone import small_det_cfg, small_pose_cfg

CFGS = {'pose': small_pose_cfg, 'det': small_det_cfg}


def weighted_sum(outs):
    """A loss whose gradient differs per element (a plain sum would hide permutations)."""
    return sum((o * torch.linspace(-1, 1, o.numel()).view(o.shape)).sum() for o in outs)


def train_step(model, x):
    model.train()
    model.zero_grad(set_to_none=True)
    outs = model(x)
    weighted_sum(outs).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    return [o.detach() for o in outs], grads, buffers


def assert_close(a, b, rel=1e-5):
    scale = max(float(a.abs().max()), 1e-6)
    assert float((a - b).abs().max()) <= rel * scale, (float((a - b).abs().max()), scale)


@pytest.mark.parametrize('kind', ['pose', 'det'])
@pytest.mark.parametrize('with_cp', [True, 'block', 'hourglass'])
def test_with_cp_same_outputs_gradients_and_norm_statistics(kind, with_cp):
    torch.manual_seed(0)
    base = build(CFGS[kind](num_stacks=2))
    cp = build(CFGS[kind](num_stacks=2, with_cp=with_cp))
    cp.load_state_dict(base.state_dict())
    x = torch.randn(2, 3, 64, 64)
    (o1, g1, b1), (o2, g2, b2) = train_step(base, x), train_step(cp, x)
    for a, b in zip(o1, o2):
        assert torch.equal(a, b)
    for name in g1:  # recomputation repeats the same arithmetic: bit for bit
        assert torch.equal(g1[name], g2[name]), name
    for name in b1:  # running statistics updated once, not again during recomputation
        assert torch.equal(b1[name], b2[name]), name


@pytest.mark.parametrize('with_cp', [True, 'block'])
def test_with_cp_makes_no_workspace_maps(with_cp):
    """Checkpointed regions make relu(bn(x)) anew and free it: with every unit checkpointed, the
    pre-activation units' workspace (kept between steps) stays empty, forward, recomputation and
    backward alike."""
    from hourglass_plugin.models.backbones import conv_norm_act
    model = build(small_pose_cfg(with_cp=with_cp)).train()
    conv_norm_act.release_workspace()
    train_step(model, torch.randn(2, 3, 64, 64))
    assert conv_norm_act._workspaces.maps == {}
    train_step(build(small_pose_cfg()).train(), torch.randn(2, 3, 64, 64))
    assert conv_norm_act._workspaces.maps  # without checkpointing the units do use it


def saved_bytes(model, x):
    """Bytes of the tensors autograd keeps for backward after the forward (unique storages)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(storages.values())


@pytest.mark.parametrize('kind', ['pose', 'det'])
def test_with_cp_keeps_less_for_backward(kind):
    x = torch.randn(2, 3, 64, 64)
    sizes = {cp: saved_bytes(build(CFGS[kind](num_stacks=2, with_cp=cp)).train(), x)
             for cp in (False, True, 'hourglass')}
    # (without checkpointing the pre-activation units already keep only their input, see
    # conv_norm_act: what is left to save here is the rest of each unit, the stem and the outputs)
    assert sizes[True] < 0.65 * sizes[False], sizes
    assert sizes['hourglass'] < 0.8 * sizes[False], sizes  # stem and stack outputs stay


def test_with_cp_needs_a_known_value():
    with pytest.raises(ValueError, match=r"with_cp='stack'.*'block'.*'hourglass'"):
        build(small_pose_cfg(with_cp='stack'))


def test_with_cp_checkpoints_only_when_autograd_records(monkeypatch):
    from hourglass_plugin.models.backbones import residual

    def refuse(*args):
        raise AssertionError('checkpointed')

    monkeypatch.setattr(residual, 'checkpointed', refuse)
    model = build(small_pose_cfg(with_cp=True))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))  # inference: no checkpointing
    with pytest.raises(AssertionError, match='checkpointed'):
        model(torch.randn(1, 3, 64, 64))


@pytest.mark.parametrize('with_cp, expected', [(True, ['stem.conv']), ('hourglass', [])])
def test_with_cp_per_unit_checkpoints_the_stem_conv(monkeypatch, with_cp, expected):
    """Per unit, the stem's 7x7 conv-norm-act (the largest map) is checkpointed as well."""
    from hourglass_plugin.models.backbones import stem
    calls, real = [], stem.checkpointed

    def record(module, function, *args):
        calls.append(module)
        return real(module, function, *args)

    monkeypatch.setattr(stem, 'checkpointed', record)
    model = build(small_pose_cfg(with_cp=with_cp)).train()
    model(torch.randn(1, 3, 64, 64))
    names = {module: name for name, module in model.named_modules()}
    assert [names[m] for m in calls] == expected


@pytest.mark.parametrize('low, high', [((3, 4), (6, 8)), ((4, 5), (7, 9)), ((2, 2), (3, 4))])
@pytest.mark.parametrize('channels_last', [False, True])
def test_add_upsampled_is_interpolate_plus_add(low, high, channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    up1 = torch.randn(2, 5, *high).contiguous(memory_format=fmt).requires_grad_()
    low3 = torch.randn(2, 5, *low).contiguous(memory_format=fmt).requires_grad_()
    got = add_upsampled(up1, low3)
    expected = up1 + F.interpolate(low3, size=high, mode='nearest')
    assert torch.equal(got, expected)
    assert got.is_contiguous(memory_format=fmt)
    grad = torch.randn_like(got)
    g_got = torch.autograd.grad(got, (up1, low3), grad)
    g_exp = torch.autograd.grad(expected, (up1, low3), grad)
    for a, b in zip(g_got, g_exp):
        assert_close(a, b)


def grads_in_our_names(plain):
    """The plain model's gradients, renamed by the princeton converter (buffers fill the rest)."""
    state = plain.state_dict()
    state.update({n: p.grad for n, p in plain.named_parameters()})
    converted, _, _ = convert_state_dict(state, 'princeton')
    return {k[len('backbone.'):]: v for k, v in converted.items()}


def test_training_path_equals_plain_eager_network():
    """Ours (channels-last, in-place sums, broadcast upsampling) vs the plain eager network:
    same heatmaps and same gradients in a training-mode step."""
    plain, ours = pose_models(stacks=2, order=2, device=torch.device('cpu'))
    x = torch.randn(2, 3, 64, 64)
    plain.train()
    expected = plain(x.permute(0, 2, 3, 1).contiguous()).unbind(1)
    weighted_sum(expected).backward()
    got, grads, _ = train_step(ours, x)
    for a, b in zip(expected, got):
        assert_close(a.detach(), b)
    reference = grads_in_our_names(plain)
    largest = max(float(g.abs().max()) for g in grads.values())
    compared = 0
    for name, grad in grads.items():
        if name.endswith('bias') and float(reference[name].abs().max()) < 1e-6 * largest:
            # a bias before a training-mode BN (also through a sum): its gradient is 0 but
            # for rounding, in both models
            assert float(grad.abs().max()) < 1e-6 * largest, name
            continue
        assert_close(reference[name], grad, rel=1e-4)
        compared += 1
    assert compared > len(grads) / 2


def test_plain_posenet_takes_nhwc():
    out = PlainPoseNet(1, 32, 4, order=1).eval()(torch.randn(2, 32, 32, 3))
    assert out.shape == (2, 1, 4, 8, 8)


@pytest.mark.parametrize('kind, sizes', [('pose', [(64, 64)]),
                                         ('det', [(64, 64), (97, 130)])])
@pytest.mark.parametrize('micro_batch', [0, 1, 2])
def test_inference_fast_path_equals_eager(kind, sizes, micro_batch):
    torch.manual_seed(0)
    model = randomise_norms(build(CFGS[kind](num_stacks=3)))
    fast = fold_for_inference(model, micro_batch=micro_batch)
    for size in sizes:
        x = torch.randn(3, 3, *size)
        with torch.no_grad():
            expected, got = model(x), fast(x)
        assert len(got) == len(expected)
        for a, b in zip(expected, got):
            assert a.shape == b.shape
            assert float((a - b).abs().max()) <= 1e-4 * float(a.max() - a.min())


@pytest.mark.parametrize('kind, size', [('pose', (64, 64)), ('det', (64, 64)),
                                        ('det', (97, 130))])
@pytest.mark.parametrize('micro_batch', [0, 2])
def test_inference_fast_path_with_every_map_kept(monkeypatch, kind, size, micro_batch):
    """Kept maps (a threshold of 0 keeps all of them, as 32 MiB ones are at full size) are
    reused call after call: every call equals eager, and what one call returned is not
    overwritten by the next."""
    monkeypatch.setattr(KeptMaps, 'MIN_BYTES', 0)
    torch.manual_seed(0)
    model = randomise_norms(build(CFGS[kind](num_stacks=3)))
    fast = fold_for_inference(model, micro_batch=micro_batch)
    earlier, kept = [], []
    for _ in range(3):
        x = torch.randn(3, 3, *size)
        with torch.no_grad():
            expected, got = model(x), fast(x)
        for a, b in zip(expected, got):
            assert float((a - b).abs().max()) <= 1e-4 * float(a.max() - a.min())
        for returned, copy in earlier:
            assert torch.equal(returned, copy)
        earlier += [(b, b.clone()) for b in got]
        kept.append(fast.kept_bytes())
    # maps were given back for the next call, and calls of one size keep no more as they go
    assert kept[0] > 0 and kept[1] == kept[2] <= kept[0], kept
    fast.release_maps()
    assert fast.kept_bytes() == 0


@pytest.mark.parametrize('size', [(8, 6), (9, 7)])
def test_max_pool_into_kept_map_is_max_pool(monkeypatch, size):
    from hourglass_plugin.fast.inference import _max_pool
    monkeypatch.setattr(KeptMaps, 'MIN_BYTES', 0)
    x = torch.randn(2, 5, *size).contiguous(memory_format=torch.channels_last)
    x[0, 1, 0, 0] = float('nan')  # propagated, as max_pool2d does
    pool, maps = torch.nn.MaxPool2d(2, 2), KeptMaps()
    for _ in range(2):  # the second time into the map the first gave back
        got = _max_pool(pool, x, maps)
        assert torch.allclose(got, pool(x), rtol=0, atol=0, equal_nan=True)
        maps.give(got)
    other = torch.nn.MaxPool2d(3, 2)  # not the paper's: left to the module
    assert torch.allclose(_max_pool(other, x, maps), other(x), rtol=0, atol=0, equal_nan=True)


def new_map_count(fn, min_bytes):
    """Allocations of ``min_bytes`` or more by torch's CPU allocator during ``fn()``."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(1 for e in prof.profiler.kineto_results.events()
               if e.name() == '[memory]' and e.nbytes() >= min_bytes)


def test_kept_maps_spare_most_new_maps(monkeypatch):
    """A call after the first makes far fewer new maps of the kept size than without keeping."""
    torch.manual_seed(0)
    model = build(small_pose_cfg(num_stacks=3)).eval()
    x = torch.randn(2, 3, 64, 64)
    threshold = 2 * 32 * 16 * 16 * 4  # a map of the stacks: 32 channels, 16x16, 2 images
    counts, kept = {}, {}
    for name, min_bytes in (('kept', threshold), ('not kept', 2**62)):
        monkeypatch.setattr(KeptMaps, 'MIN_BYTES', min_bytes)
        fast = fold_for_inference(model, micro_batch=0)
        with torch.no_grad():
            fast(x)  # the first call makes the maps it keeps
            counts[name] = new_map_count(lambda: fast(x), threshold)
        kept[name] = fast.kept_bytes()
    assert counts['kept'] < 0.5 * counts['not kept'], counts
    assert kept['not kept'] == 0 and kept['kept'] >= threshold, kept


def test_inference_fast_path_full_newell_block_layout():
    """The paper's widths (256, one unit per position) and stem, at 128x128."""
    from helpers import pose_backbone_cfg
    torch.manual_seed(0)
    model = randomise_norms(build(pose_backbone_cfg(2), order=2, stage_channels=(256, ) * 3,
                                  stage_blocks=(1, ) * 3))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = model(x), fold_for_inference(model, micro_batch=1)(x)
    for a, b in zip(expected, got):
        assert float((a - b).abs().max()) <= 1e-4 * float(a.max() - a.min())


def test_inference_fast_path_refuses_what_it_cannot_fold():
    with pytest.raises(ValueError, match='folds BatchNorm only'):
        fold_for_inference(build(small_pose_cfg(norm_cfg=dict(type='GN', num_groups=8))))
    with pytest.raises(ValueError, match='fuses ReLU only'):
        fold_for_inference(build(small_det_cfg(act_cfg=dict(type='LeakyReLU'))))
    with pytest.raises(ValueError, match='micro_batch'):
        fold_for_inference(build(small_pose_cfg()), micro_batch=-1)


@pytest.mark.parametrize('relu', [False, True])
@pytest.mark.parametrize('residual', [None, 'new', 'into'])
def test_folded_conv_fused_and_plain_paths_agree(relu, residual):
    """The oneDNN post-op path (channels-last) and the F.conv2d path give conv-BN-(+r)-ReLU."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 6, 3, padding=1)
    bn = randomise_norms(torch.nn.BatchNorm2d(6))
    folded = FoldedConv(conv, bn, relu=relu)
    x = torch.randn(2, 8, 9, 7)
    r = torch.randn(2, 6, 9, 7) if residual else None
    expected = bn(conv(x)) + (r if r is not None else 0)
    expected = expected.relu() if relu else expected
    with torch.no_grad():
        for fmt in (torch.contiguous_format, torch.channels_last):
            rr = r.contiguous(memory_format=fmt).clone() if r is not None else None
            got = folded(x.contiguous(memory_format=fmt), rr, into_residual=residual == 'into')
            assert_close(expected.detach(), got)
