"""The hourglass's ``up1 + interpolate(low3)`` without writing the upsampled map.

Channels-last, where ``up1`` is exactly twice ``low3``'s size (always with max-pool
downsampling), ``low3`` is broadcast over 2x2 views of ``up1``: one pass instead of three, one
full-resolution tensor fewer. With ``in_place`` the sum is written into ``up1``'s memory, for
callers whose ``up1`` is used nowhere else and not saved for backward (a pre-activation
Residual's output, a sum; a BasicBlock's ends in a ReLU, which keeps it). The backward
sum-pools 2x2 windows (nearest upsampling's backward): autograd's own backward of the broadcast,
a sum over two size-2 dims of a channels-last 6-D view, runs many times slower on CPU.
Elsewhere (NCHW, odd sizes from strided convs) the plain expression runs.
"""
import torch
import torch.nn.functional as F


def add_upsampled(up1: torch.Tensor, low3: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    """``up1 + F.interpolate(low3, size=up1.shape[-2:], mode='nearest')``.

    Shape:
        up1: (B, C, H, W), low3: (B, C, h, w) -> (B, C, H, W), in ``up1``'s memory format
    """
    b, c, h, w = low3.shape
    if up1.shape[-2:] != (2 * h, 2 * w) or \
            not up1.is_contiguous(memory_format=torch.channels_last) or up1.is_contiguous():
        up2 = F.interpolate(low3, size=up1.shape[-2:], mode='nearest')  # (B, C, H, W)
        if up2.stride() != up1.stride():
            return up1 + up2
        up2 += up1
        return up2
    return _BroadcastUpsampleAdd.apply(up1, low3, in_place)


class _BroadcastUpsampleAdd(torch.autograd.Function):
    """``up1 + nearest-upsampled low3`` by broadcasting over 2x2 views (channels-last only).

    Shape:
        up1: (B, C, 2h, 2w) channels-last, low3: (B, C, h, w) -> (B, C, 2h, 2w)
    """

    @staticmethod
    def forward(ctx, up1: torch.Tensor, low3: torch.Tensor, in_place: bool) -> torch.Tensor:
        b, c, h, w = low3.shape
        if in_place:  # no new full-resolution map (autograd checks nobody saved up1)
            up1.view(b, c, h, 2, w, 2).add_(low3.view(b, c, h, 1, w, 1))
            ctx.mark_dirty(up1)
            return up1
        out = up1.view(b, c, h, 2, w, 2) + low3.view(b, c, h, 1, w, 1)  # (B, C, h, 2, w, 2)
        return out.view(up1.shape) if _viewable(out) else out.reshape(up1.shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        # d/d up1 is the gradient itself; d/d low3 sums each 2x2 window (nearest's backward).
        return grad, F.avg_pool2d(grad, 2, divisor_override=1), None


def _viewable(t: torch.Tensor) -> bool:
    """Whether (B, C, h, 2, w, 2) merges back to (B, C, H, W) without a copy."""
    s = t.stride()
    return s[2] == 2 * s[3] and s[4] == 2 * s[5]
