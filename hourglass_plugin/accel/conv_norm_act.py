"""A ``ConvModule`` with BatchNorm and ReLU, in training, with a backward that allocates less.

Written by hand because no maintained library does it for eager CPU training: autograd runs
BN-ReLU's backward as ReLU backward (a new map) and BatchNorm backward (two new maps: the result
and a temporary). On CPU every new map of 32 MiB or more (e.g. 256 x 64 x 64 at batch 8) comes
from a fresh ``mmap`` whose pages the kernel faults in and zeroes (under glibc's default
allocator; ``hourglass_plugin/allocator.py``). Here, for the pre-activation order (norm, act,
conv), the ReLU mask and the BatchNorm input gradient are written in place into the conv's input
gradient, a map nobody else holds; in the usual order (conv, norm,
act), into the fresh map of ReLU's backward (the conv stays autograd's own node, so its output and
ReLU's are freed as soon as their backward is done, as with the modules). The BatchNorm sums come
from ``native_batch_norm_backward`` asked for the weight and bias gradients only. (torch.compile of
a whole Residual was measured too: no faster.)

The pre-activation unit also does not keep ``relu(batch_norm(x))`` for backward: forward writes it
into a workspace (:mod:`.workspace`), a map of x's shape reused by every unit of that shape, and
backward recomputes it there with the same ``native_batch_norm`` call, bit for bit. That saves
keeping one map per unit (the hg8 training step's memory: ``tools/benchmark.py --scenarios
pose_train``, ``docs/benchmarks.md``) and the page faults of making it.

The forward is the same ATen calls as ``ConvModule``'s (``convolution``, ``native_batch_norm``,
in-place ReLU): same outputs and running statistics, bit for bit; gradients differ from
autograd's by rounding (``tests/test_conv_norm_act.py``).
"""
from typing import Optional, Tuple

import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.autograd.function import once_differentiable

from .workspace import use_workspace, workspace

aten = torch.ops.aten

#: ``ConvModule`` orders handled here: pre-activation (He et al. 2016) and the usual one
PRE_ACTIVATION = ('norm', 'act', 'conv')
POST_ACTIVATION = ('conv', 'norm', 'act')


def is_norm_unit(unit: nn.Module, orders: Tuple[Tuple[str, ...], ...],
                 activation: bool = True) -> bool:
    """Whether ``unit`` is a ``ConvModule`` with a norm, with an activation (or, with
    ``activation=False``, without one), in one of ``orders``, padded by its conv itself."""
    return (isinstance(unit, ConvModule) and unit.with_norm
            and unit.with_activation == activation and tuple(unit.order) in orders
            and not unit.with_explicit_padding)


def conv_norm_act(unit: ConvModule, x: torch.Tensor) -> torch.Tensor:
    """``unit(x)``, with the in-place backward where it applies.

    It applies in CPU training with gradients recorded, for a ``ConvModule`` in one of the two
    orders above with a BatchNorm2d (affine, tracking running statistics) in training mode, an
    ``nn.ReLU`` and a zero-padded ``nn.Conv2d``, no autocast and no hooks on the unit or its
    parts (they would be skipped). Anything else runs ``unit(x)`` as it is.

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H', W')
    """
    if not (is_norm_unit(unit, (PRE_ACTIVATION, POST_ACTIVATION))
            and applies(x, unit.norm, unit.activate, unit.conv, unit)):
        return unit(x)
    if tuple(unit.order) == PRE_ACTIVATION:
        return _apply(x, unit.norm, unit.conv)
    norm = unit.norm
    momentum = _count_batch(norm)
    return _BatchNormReLU.apply(unit.conv(x), norm.weight, norm.bias, norm, momentum)


def norm_act_conv(norm: nn.BatchNorm2d, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(relu(norm(x)))`` with the in-place backward, for modules of different units (e.g.
    a BasicBlock's first norm and ReLU and its second conv), where :func:`applies` says so.

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H', W')
    """
    return _apply(x, norm, conv)


def _count_batch(norm: nn.BatchNorm2d) -> float:
    """nn.BatchNorm2d.forward's bookkeeping of the running statistics, as it does it: the
    momentum for this batch."""
    norm.num_batches_tracked.add_(1)
    return 1.0 / float(norm.num_batches_tracked) if norm.momentum is None else norm.momentum


def _apply(x: torch.Tensor, norm: nn.BatchNorm2d, conv: nn.Conv2d) -> torch.Tensor:
    momentum = _count_batch(norm)
    return _BatchNormReLUConv.apply(x, norm.weight, norm.bias, conv.weight, conv.bias, norm,
                                    momentum, conv)


def applies(x: torch.Tensor, norm: nn.Module, act: nn.Module, conv: nn.Module,
            *others: nn.Module) -> bool:
    """Whether ``conv(act(norm(x)))`` can run as :class:`_BatchNormReLUConv` (see
    :func:`conv_norm_act`); ``others``: modules whose hooks would be skipped too."""
    return (torch.is_grad_enabled() and x.device.type == 'cpu' and x.dim() == 4
            and not torch.is_autocast_enabled('cpu')
            and type(norm) is nn.BatchNorm2d and norm.training and norm.affine
            and norm.track_running_stats and norm.num_batches_tracked is not None
            and type(act) is nn.ReLU
            and type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str)
            and not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                        or m._backward_pre_hooks for m in (norm, act, conv, *others)))


def _batch_norm_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     running_mean: Optional[torch.Tensor], running_var: Optional[torch.Tensor],
                     momentum: float, eps: float, out: Optional[torch.Tensor] = None):
    """relu(batch_norm(x)) with batch statistics (running ones updated if given), into ``out``
    if given, else a new map: (y, mean, invstd)."""
    if out is None:
        y, mean, invstd = aten.native_batch_norm(x, weight, bias, running_mean, running_var,
                                                 True, momentum, eps)
    else:
        y, mean, invstd = out, x.new_empty(x.shape[1]), x.new_empty(x.shape[1])
        aten.native_batch_norm.out(x, weight, bias, running_mean, running_var, True, momentum,
                                   eps, out=y, save_mean=mean, save_invstd=invstd)
    return y.relu_(), mean, invstd


def _batch_norm_relu_backward(grad_y: torch.Tensor, y: torch.Tensor, x: torch.Tensor,
                              weight: torch.Tensor, mean: torch.Tensor, invstd: torch.Tensor,
                              eps: float, need_x: bool, masked: bool = False):
    """Gradients of relu(batch_norm(x)) from ``grad_y`` (ReLU's mask already applied if
    ``masked``), which is overwritten with the input gradient (returned as the first value, None
    unless ``need_x``), then the weight and bias ones.

    Shape:
        grad_y, y, x: (B, C, H, W); weight, mean, invstd: (C,)
    """
    if not masked:
        aten.threshold_backward.grad_input(grad_y, y, 0, grad_input=grad_y)  # ReLU's mask
    _, grad_w, grad_b = aten.native_batch_norm_backward(
        grad_y, x, weight, None, None, mean, invstd, True, eps, [False, True, True])
    if not need_x:
        return None, grad_w, grad_b
    # dx = w * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M), xhat = (x - mean) * invstd,
    # i.e. k1 * dy + k2 * x + k3 per channel: two passes over dy's memory, nothing new
    count = x.numel() // x.shape[1]
    k1 = weight * invstd
    c = k1 * invstd * grad_w / count
    k3 = c * mean - k1 * grad_b / count
    shape = (1, -1, 1, 1)
    grad_x = torch.addcmul(k3.view(shape), grad_y, k1.view(shape), out=grad_y)
    grad_x.addcmul_(x, c.neg().view(shape))
    return grad_x, grad_w, grad_b


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
          ctx) -> torch.Tensor:
    stride, padding, dilation, groups = ctx.conv
    return aten.convolution(x, weight, bias, stride, padding, dilation, False, [0, 0], groups)


def _conv_backward(ctx, grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                   need_x: bool, need_w: bool, need_b: bool):
    stride, padding, dilation, groups = ctx.conv
    return aten.convolution_backward(
        grad_out, x, weight, ctx.bias_sizes, stride, padding, dilation, False, [0, 0], groups,
        [need_x, need_w, need_b and ctx.bias_sizes is not None])


def _keep_conv(ctx, conv: nn.Conv2d, bias: Optional[torch.Tensor], eps: float) -> None:
    ctx.conv = (conv.stride, conv.padding, conv.dilation, conv.groups)
    ctx.bias_sizes = None if bias is None else list(bias.shape)
    ctx.eps = eps


class _BatchNormReLUConv(torch.autograd.Function):
    """``conv(relu(batch_norm(x)))`` in training mode: the pre-activation unit.

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H', W'); kept for backward: x (autograd would keep
        relu's output too; here it is recomputed into the workspace).
    """

    @staticmethod
    def forward(ctx, x, norm_weight, norm_bias, conv_weight, conv_bias, norm, momentum, conv):
        _keep_conv(ctx, conv, conv_bias, norm.eps)
        ctx.use_workspace = use_workspace()  # backward runs outside any workspace_off()
        y, mean, invstd = _batch_norm_relu(x, norm_weight, norm_bias, norm.running_mean,
                                           norm.running_var, momentum, norm.eps,
                                           out=workspace(x) if ctx.use_workspace else None)
        ctx.save_for_backward(x, norm_weight, norm_bias, mean, invstd, conv_weight)
        return _conv(y, conv_weight, conv_bias, ctx)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        x, norm_weight, norm_bias, mean, invstd, conv_weight = ctx.saved_tensors
        need_x, need_nw, need_nb, need_cw, need_cb = ctx.needs_input_grad[:5]
        need_y = need_x or need_nw or need_nb
        # forward's relu(batch_norm(x)) again, the same call, bit for bit (no running
        # statistics to update this time)
        y, _, _ = _batch_norm_relu(x, norm_weight, norm_bias, None, None, 0.0, ctx.eps,
                                   out=workspace(x) if ctx.use_workspace else None)
        grad_y, grad_cw, grad_cb = _conv_backward(ctx, grad_out, y, conv_weight, need_y,
                                                  need_cw, need_cb)
        grad_x = grad_nw = grad_nb = None
        if need_y:  # grad_y is the conv's fresh result, nobody else's: written over
            grad_x, grad_nw, grad_nb = _batch_norm_relu_backward(
                grad_y, y, x, norm_weight, mean, invstd, ctx.eps, need_x)
        return (grad_x, grad_nw if need_nw else None, grad_nb if need_nb else None, grad_cw,
                grad_cb, None, None, None)


class _BatchNormReLU(torch.autograd.Function):
    """``relu(batch_norm(h))`` in training mode, after a conv: the usual unit's last two.

    Shape:
        h: (B, C, H, W) -> (B, C, H, W); kept for backward: h and relu's output, as autograd
        keeps them for the two modules.
    """

    @staticmethod
    def forward(ctx, h, norm_weight, norm_bias, norm, momentum):
        ctx.eps = norm.eps
        y, mean, invstd = _batch_norm_relu(h, norm_weight, norm_bias, norm.running_mean,
                                           norm.running_var, momentum, norm.eps)
        ctx.save_for_backward(h, y, norm_weight, mean, invstd)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        h, y, norm_weight, mean, invstd = ctx.saved_tensors
        need_h, need_nw, need_nb = ctx.needs_input_grad[:3]
        # grad_out may be shared with other consumers: ReLU's backward writes a new map, which
        # BatchNorm's backward then reuses
        grad_h = aten.threshold_backward(grad_out, y, 0)
        grad_h, grad_nw, grad_nb = _batch_norm_relu_backward(
            grad_h, y, h, norm_weight, mean, invstd, ctx.eps, need_h, masked=True)
        return grad_h, grad_nw if need_nw else None, grad_nb if need_nb else None, None, None
