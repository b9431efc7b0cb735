"""Activation checkpointing (``with_cp``) computes what the plain model computes: outputs,
gradients, BatchNorm statistics; and our network trains as princeton-vl's plain one does.

Speed is not tested here (``python -m tools.benchmark`` measures it, contenders side by side).
"""
import pytest
import torch

from benchmarks.plain_posenet import PlainPoseNet
from benchmarks.scenarios import pose_models
from helpers.models import build, small_det_cfg, small_pose_cfg
from hourglass_plugin.conversion import convert_state_dict

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


def grads_in_our_names(plain):
    """The plain model's gradients, renamed by the princeton converter (buffers fill the rest)."""
    state = plain.state_dict()
    state.update({n: p.grad for n, p in plain.named_parameters()})
    converted, _, _ = convert_state_dict(state, 'princeton')
    return {k[len('backbone.'):]: v for k, v in converted.items()}


def test_training_path_equals_plain_eager_network():
    """Ours (channels-last) vs princeton-vl's plain eager network: same heatmaps and gradients
    in a training step."""
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
        if name.endswith('bias') and float(reference[name].abs().max()) < 1e-5 * largest:
            # a bias before a training-mode BN (also through a sum): its gradient is 0 but
            # for rounding, in both models (float32 sums of this size round to ~1e-6 of the
            # largest gradient, more or less with the thread count's summation order)
            assert float(grad.abs().max()) < 1e-5 * largest, name
            continue
        assert_close(reference[name], grad, rel=1e-4)
        compared += 1
    assert compared > len(grads) / 2


def test_plain_posenet_takes_nhwc():
    out = PlainPoseNet(1, 32, 4, order=1).eval()(torch.randn(2, 32, 32, 3))
    assert out.shape == (2, 1, 4, 8, 8)
