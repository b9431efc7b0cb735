"""The benchmark's reference: a plain eager Newell network, laid out as princeton-vl's PoseNet.

What a user would write (or take from princeton-vl/pytorch_stacked_hourglass): BN-ReLU-conv
bottlenecks with out-of-place ReLUs and sums, ``nn.Upsample``, ``x + merge(preds) +
merge(features)``, NCHW weights. Like princeton-vl's, it takes NHWC images and permutes them, so
its activations are channels-last, the fast layout of this CPU. Its state dict is princeton-vl's,
so ``tools/convert_checkpoint.py``'s converter gives our model the same weights.
"""
import torch
from torch import nn


class Conv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel_size: int = 3, stride: int = 1,
                 bn: bool = False, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2, bias=True)
        self.relu = nn.ReLU() if relu else None
        self.bn = nn.BatchNorm2d(cout) if bn else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.relu(x) if self.relu is not None else x


class Residual(nn.Module):
    def __init__(self, cin: int, cout: int, unused_skips: bool = False) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = Conv(cin, cout // 2, 1, relu=False)
        self.bn2 = nn.BatchNorm2d(cout // 2)
        self.conv2 = Conv(cout // 2, cout // 2, 3, relu=False)
        self.bn3 = nn.BatchNorm2d(cout // 2)
        self.conv3 = Conv(cout // 2, cout, 1, relu=False)
        # princeton-vl builds it always and runs it only where widths differ; by default it is
        # built only where used (unused weights change nothing but the state dict)
        self.skip_layer = (Conv(cin, cout, 1, relu=False) if cin != cout or unused_skips
                           else None)
        self.need_skip = cin != cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.skip_layer(x) if self.need_skip else x
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + residual


class Hourglass(nn.Module):
    def __init__(self, n: int, f: int, unused_skips: bool = False) -> None:
        super().__init__()
        self.up1 = Residual(f, f, unused_skips)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.low1 = Residual(f, f, unused_skips)
        self.low2 = (Hourglass(n - 1, f, unused_skips) if n > 1
                     else Residual(f, f, unused_skips))
        self.low3 = Residual(f, f, unused_skips)
        self.up2 = nn.Upsample(scale_factor=2, mode='nearest')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up1(x) + self.up2(self.low3(self.low2(self.low1(self.pool1(x)))))


class Merge(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = Conv(cin, cout, 1, relu=False, bn=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PlainPoseNet(nn.Module):
    """``PoseNet(nstack, inp_dim, oup_dim)``: NHWC images (B, H, W, 3) -> heatmaps
    (B, nstack, K, H/4, W/4).

    ``unused_skips=True`` builds the skip convs of equal-width residuals too, as princeton-vl
    does: then the state dict is exactly theirs, unused weights included (the converter's tests).
    """

    def __init__(self, nstack: int, inp_dim: int = 256, oup_dim: int = 16,
                 order: int = 4, unused_skips: bool = False) -> None:
        super().__init__()
        self.nstack = nstack
        self.pre = nn.Sequential(
            Conv(3, 64, 7, 2, bn=True, relu=True), Residual(64, 128), nn.MaxPool2d(2, 2),
            Residual(128, 128, unused_skips), Residual(128, inp_dim, unused_skips))
        self.hgs = nn.ModuleList(
            [nn.Sequential(Hourglass(order, inp_dim, unused_skips)) for _ in range(nstack)])
        self.features = nn.ModuleList([
            nn.Sequential(Residual(inp_dim, inp_dim, unused_skips),
                          Conv(inp_dim, inp_dim, 1, bn=True, relu=True))
            for _ in range(nstack)])
        self.outs = nn.ModuleList(
            [Conv(inp_dim, oup_dim, 1, relu=False, bn=False) for _ in range(nstack)])
        self.merge_features = nn.ModuleList([Merge(inp_dim, inp_dim) for _ in range(nstack - 1)])
        self.merge_preds = nn.ModuleList([Merge(oup_dim, inp_dim) for _ in range(nstack - 1)])

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        x = self.pre(imgs.permute(0, 3, 1, 2))  # NHWC in: channels-last activations
        preds_all = []
        for i in range(self.nstack):
            feature = self.features[i](self.hgs[i](x))
            preds = self.outs[i](feature)
            preds_all.append(preds)
            if i < self.nstack - 1:
                x = x + self.merge_preds[i](preds) + self.merge_features[i](feature)
        return torch.stack(preds_all, 1)
