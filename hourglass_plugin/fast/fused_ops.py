"""Inference building blocks: a conv with its norm folded in and its ReLU / residual sum fused.

On CPU with fp32 channels-last tensors, the conv runs as one oneDNN primitive with post-ops
(``torch.ops.mkldnn._convolution_pointwise``, what inductor emits for CPU): the ReLU and the
addition of a residual happen while the output tile is still in cache, instead of a pass over
memory each. Anywhere else (CUDA, other dtypes, a torch without the op) the same arithmetic runs
as ``F.conv2d`` + ``add_`` + ``relu_``.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

_MKLDNN = hasattr(torch.ops, 'mkldnn') and hasattr(torch.ops.mkldnn, '_convolution_pointwise')


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) with ``bn(x) == x * scale + shift`` in eval mode, per channel."""
    if not bn.track_running_stats or bn.running_mean is None:
        raise ValueError(f'{type(bn).__name__} without running statistics cannot be folded')
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.affine:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.affine:
        shift = shift + bn.bias
    return scale.detach(), shift.detach()


class FoldedConv(nn.Module):
    """``act(conv(x) * scale + shift [+ residual])`` as one conv with weight and bias folded.

    Args:
        conv (nn.Conv2d): The conv (groups, stride, padding, dilation are kept).
        norm (BatchNorm, optional): A BatchNorm applied to the conv's output, folded in.
        relu (bool): Apply a ReLU at the end (after the residual, if one is added).

    Shape:
        x: (B, C_in, H, W), residual: (B, C_out, H', W') or None -> (B, C_out, H', W')
    """

    def __init__(self, conv: nn.Conv2d, norm: Optional[nn.Module] = None,
                 relu: bool = False) -> None:
        super().__init__()
        if not isinstance(conv, nn.Conv2d) or conv.padding_mode != 'zeros' or \
                isinstance(conv.padding, str):
            raise ValueError(f'cannot fold {conv!r}: a zero-padded nn.Conv2d with int padding '
                             'is needed')
        weight = conv.weight.detach()
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(weight[:, 0, 0, 0])
        if norm is not None:
            scale, shift = bn_scale_shift(norm)
            weight = weight * scale.view(-1, 1, 1, 1)
            bias = bias * scale + shift
        self.register_buffer('weight', weight.contiguous(memory_format=torch.channels_last))
        self.register_buffer('bias', bias.contiguous())
        self.stride = list(conv.stride)
        self.padding = list(conv.padding)
        self.dilation = list(conv.dilation)
        self.groups = conv.groups
        self.relu = relu

    def _fused(self, x: torch.Tensor) -> bool:
        return (_MKLDNN and x.device.type == 'cpu' and x.dtype == torch.float32
                and x.is_contiguous(memory_format=torch.channels_last))

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None,
                into_residual: bool = False, out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``into_residual``: accumulate into ``residual``'s memory (the caller owns it).
        ``out``: without a residual, write the result there (a map of the result's shape, its
        contents overwritten) instead of into a new map."""
        args = (self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)
        unary = 'relu' if self.relu else None
        if out is not None and residual is None:  # conv + 0, summed into out: the same floats
            residual, into_residual = out.zero_(), True
        if self._fused(x) and (residual is None or
                               residual.is_contiguous(memory_format=torch.channels_last)):
            mkldnn = torch.ops.mkldnn
            if residual is None:
                return mkldnn._convolution_pointwise(x, *args, unary or 'none', [], '')
            if into_residual:
                return mkldnn._convolution_pointwise_.binary(residual, x, *args, 'add', 1.0,
                                                             unary, [], None)
            return mkldnn._convolution_pointwise.binary(x, residual, *args, 'add', 1.0, unary,
                                                        [], None)
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                     self.groups)
        if residual is not None:
            y = residual.add_(y) if into_residual else y.add_(residual)
        return y.relu_() if self.relu else y


class AffineReLU(nn.Module):
    """``relu(x * scale + shift)``: a BatchNorm (eval) + ReLU whose input is a sum.

    Shape:
        x: (B, C, H, W) -> same shape
    """

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        scale, shift = bn_scale_shift(norm)
        self.register_buffer('scale', scale.view(1, -1, 1, 1))
        self.register_buffer('shift', shift.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor, out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``out``: a map of x's shape to write the result into (else a new one)."""
        if out is None:
            return torch.addcmul(self.shift, x, self.scale).relu_()
        return torch.addcmul(self.shift, x, self.scale, out=out).relu_()
