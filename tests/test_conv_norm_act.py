"""conv_norm_act: a BN-ReLU ConvModule in training with the in-place backward, against the module.

Same outputs and running statistics bit for bit, gradients to rounding, fewer new maps in
backward; and it steps aside wherever it does not apply.
"""
import copy

import pytest
import torch
from mmcv.cnn import ConvModule
from torch.profiler import ProfilerActivity, profile

from hourglass_plugin.accel import workspace as workspace_module
from hourglass_plugin.accel.conv_norm_act import POST_ACTIVATION, PRE_ACTIVATION, conv_norm_act

ORDERS = {'pre': PRE_ACTIVATION, 'post': POST_ACTIVATION}
FAST = {'pre': '_BatchNormReLUConvBackward', 'post': '_BatchNormReLUBackward'}


def unit(order, cin=6, cout=5, kernel=3, stride=1, bias=True, momentum=0.1):
    torch.manual_seed(0)
    m = ConvModule(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=bias,
                   norm_cfg=dict(type='BN', momentum=momentum), order=ORDERS[order])
    with torch.no_grad():  # norms that are not the identity at initialisation
        m.norm.weight.uniform_(0.5, 1.5)
        m.norm.bias.uniform_(-0.5, 0.5)
    return m.train()


def step(module, x, fn):
    x = x.clone().requires_grad_()
    out = fn(module, x)
    weights = torch.linspace(-1, 1, out.numel()).view(out.shape)  # a gradient per element
    (out * weights).sum().backward()
    grads = {'x': x.grad, **{n: p.grad for n, p in module.named_parameters()}}
    return out.detach(), out.grad_fn, grads, {n: b.clone() for n, b in module.named_buffers()}


def assert_close(a, b, rel, floor=1e-6):
    scale = max(float(a.abs().max()), floor)
    diff = float((a - b).abs().max())
    assert diff <= rel * scale, f'max |diff| {diff:.3g} > {rel} x {scale:.3g}'


@pytest.mark.parametrize('order', ['pre', 'post'])
@pytest.mark.parametrize('kernel, stride, bias, momentum, mean', [
    (3, 1, True, 0.1, 0.0), (1, 1, False, None, 0.0), (3, 2, True, 0.1, 0.0),
    (1, 1, True, 0.1, 20.0)])  # an input far from zero mean (below)
@pytest.mark.parametrize('channels_last', [False, True])
def test_same_outputs_statistics_and_gradients(order, kernel, stride, bias, momentum, mean,
                                               channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    reference = unit(order, kernel=kernel, stride=stride, bias=bias, momentum=momentum)
    ours = copy.deepcopy(reference)
    x = (torch.randn(3, 6, 9, 8) + mean).contiguous(memory_format=fmt)
    for _ in range(2):  # twice: the running statistics' update depends on the count
        out_r, fn_r, g_r, b_r = step(reference, x, lambda m, t: m(t))
        out_o, fn_o, g_o, b_o = step(ours, x, conv_norm_act)
        assert type(fn_o).__name__ == FAST[order] and type(fn_r).__name__ != FAST[order]
        assert torch.equal(out_r, out_o)
        for name in b_r:
            assert torch.equal(b_r[name], b_o[name]), name
        assert set(g_r) == set(g_o)
        # a conv bias before a training-mode BN has a zero gradient but for rounding: compared
        # on the scale of the largest gradient
        largest = max(float(g.abs().max()) for g in g_r.values())
        # the input gradient is k1 * dy + k2 * x + k3 per channel: its rounding grows with the
        # norm's |input mean| / std (~1 in the networks; 20 here, after a conv more)
        rel = 1e-5 if mean == 0 else 1e-4
        for name in g_r:
            assert_close(g_r[name], g_o[name], rel=rel, floor=0.1 * largest), name
        reference.zero_grad(), ours.zero_grad()


@pytest.mark.parametrize('case', ['eval', 'no_grad', 'hook', 'group_norm', 'leaky_relu',
                                  'no_norm', 'conv_act_norm'])
def test_steps_aside_where_it_does_not_apply(case):
    kwargs = dict(norm_cfg=dict(type='BN'), order=PRE_ACTIVATION)
    if case == 'group_norm':
        kwargs['norm_cfg'] = dict(type='GN', num_groups=2)
    if case == 'leaky_relu':
        kwargs['act_cfg'] = dict(type='LeakyReLU')
    if case == 'no_norm':
        kwargs['norm_cfg'] = None
    if case == 'conv_act_norm':
        kwargs['order'] = ('conv', 'act', 'norm')
    m = ConvModule(4, 4, 3, padding=1, **kwargs).train()
    if case == 'eval':
        m.eval()
    reference = copy.deepcopy(m)
    calls = []
    if case == 'hook':
        m.conv.register_forward_hook(lambda *args: calls.append(1))
    leaf = torch.randn(2, 4, 6, 6, requires_grad=True)
    with torch.set_grad_enabled(case != 'no_grad'):
        expected = reference(leaf.clone())  # (a clone: an activation first works in place)
        got = conv_norm_act(m, leaf.clone())
    assert torch.equal(expected, got)
    assert type(got.grad_fn).__name__ not in FAST.values()
    if case == 'hook':
        assert calls == [1]  # ran through the module, so its hook saw it


def maps_allocated_in_backward(module, fn, x):
    """Allocations of at least the input's size during backward."""
    x = x.clone().requires_grad_()
    out = fn(module, x)
    grad = torch.randn_like(out)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out.backward(grad)
    size = x.numel() * x.element_size()
    return sum(1 for e in prof.profiler.kineto_results.events()
               if e.name() == '[memory]' and e.nbytes() >= size)


@pytest.mark.parametrize('order, fewer', [('pre', 3), ('post', 2)])
def test_backward_allocates_fewer_maps(order, fewer):
    reference = unit(order, cin=8, cout=8)
    ours = copy.deepcopy(reference)
    x = torch.randn(4, 8, 32, 32)
    expected = maps_allocated_in_backward(reference, lambda m, t: m(t), x)
    got = maps_allocated_in_backward(ours, conv_norm_act, x)
    assert got == expected - fewer, (got, expected)


@pytest.mark.parametrize('stride, cin', [(1, 6), (2, 4)])
def test_basic_block_runs_its_inner_norm_relu_conv_as_one_unit(stride, cin):
    """CornerNet's BasicBlock: conv1's BN-ReLU with conv2's conv as one pre-activation unit,
    the same block as with its modules run one by one (forced here by a hook on conv1)."""
    from hourglass_plugin.accel.units import FastBasicBlock
    torch.manual_seed(0)
    fast = FastBasicBlock(cin, 6, stride=stride).train()
    with torch.no_grad():
        for m in fast.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.5, 0.5)
    modules = copy.deepcopy(fast)
    seen = []
    modules.conv1.register_forward_hook(lambda *args: seen.append(1))
    x = torch.randn(2, cin, 10, 9)
    for _ in range(2):
        out_f, _, g_f, b_f = step(fast, x, lambda m, t: m(t))
        out_m, _, g_m, b_m = step(modules, x, lambda m, t: m(t))
        assert torch.equal(out_f, out_m)
        for name in b_f:
            assert torch.equal(b_f[name], b_m[name]), name
        largest = max(float(g.abs().max()) for g in g_m.values())
        for name in g_m:
            assert_close(g_m[name], g_f[name], rel=1e-5, floor=0.1 * largest)
        fast.zero_grad(), modules.zero_grad()
    assert seen == [1, 1]
    assert FAST['pre'] in graph_nodes(fast(x)) and FAST['pre'] not in graph_nodes(modules(x))


def graph_nodes(out):
    """Type names of the autograd nodes behind ``out``."""
    seen, todo = set(), [out.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in seen:
            seen.add(fn)
            todo.extend(f for f, _ in fn.next_functions)
    return {type(fn).__name__ for fn in seen}


def test_units_sharing_the_workspace_keep_their_own_gradients():
    """Two pre-activation units on maps of one shape write relu(bn(x)) into the same workspace;
    each recomputes its own in backward, so both equal the modules run one by one."""
    reference = torch.nn.Sequential(unit('pre', cin=6, cout=6), unit('pre', cin=6, cout=6))
    with torch.no_grad():
        reference[1].norm.weight.uniform_(-1.5, 1.5)  # the second unit differs from the first
    ours = copy.deepcopy(reference)
    x = torch.randn(3, 6, 9, 8)
    out_r, _, g_r, b_r = step(reference, x, lambda m, t: m(t))
    out_o, _, g_o, b_o = step(ours, x, lambda m, t: conv_norm_act(m[1], conv_norm_act(m[0], t)))
    assert torch.equal(out_r, out_o)
    for name in b_r:
        assert torch.equal(b_r[name], b_o[name]), name
    largest = max(float(g.abs().max()) for g in g_r.values())
    for name in g_r:
        assert_close(g_r[name], g_o[name], rel=1e-5, floor=0.1 * largest), name


def maps_kept_for_backward(fn, x):
    """Tensors of x's size or more that autograd keeps for backward while ``fn(x)`` runs."""
    kept = []

    def pack(t):
        if t.numel() >= x.numel():
            kept.append(t.shape)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return len(kept)


def test_pre_activation_unit_keeps_only_its_input():
    from hourglass_plugin.accel import release_workspace
    reference = unit('pre', cin=8, cout=8, kernel=1)
    ours = copy.deepcopy(reference)
    x = torch.randn(4, 8, 16, 16, requires_grad=True)
    # the modules: BN's input, ReLU's output and the conv's input (the last two one map)
    assert maps_kept_for_backward(reference, x) == 3
    release_workspace()  # and it works from nothing again
    assert maps_kept_for_backward(lambda t: conv_norm_act(ours, t), x) == 1


def test_workspace_stays_bounded_with_ever_new_input_sizes(monkeypatch):
    monkeypatch.setattr(workspace_module, 'MAX_WORKSPACE_MAPS', 3)
    workspace_module.release_workspace()
    ours = unit('pre', cin=4, cout=4)
    reference = copy.deepcopy(ours)
    for size in range(6, 14):  # multi-scale: a new shape every step
        x = torch.randn(2, 4, size, size)
        out_r, _, g_r, _ = step(reference, x, lambda m, t: m(t))
        out_o, _, g_o, _ = step(ours, x, conv_norm_act)
        # at most 3 maps, none larger than this step's input
        assert 0 < workspace_module.kept_bytes() <= 3 * x.numel() * x.element_size()
        assert torch.equal(out_r, out_o)
        largest = max(float(g.abs().max()) for g in g_r.values())
        for name in g_r:
            assert_close(g_r[name], g_o[name], rel=1e-5, floor=0.1 * largest), name
        reference.zero_grad(), ours.zero_grad()
