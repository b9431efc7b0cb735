"""The backbone's units with their CPU training fast paths: the same modules, parameters and
function as the model's own classes, only ``forward`` differs. :func:`~.accelerate` turns a built
model's units into these."""
import contextlib
from functools import partial

import torch

from ..models.backbones.basic_block import BasicBlock
from ..models.backbones.checkpointing import checkpointed, needs_checkpoint
from ..models.backbones.hourglass import Hourglass
from ..models.backbones.residual import Residual
from ..models.backbones.stack_output import StackOutput
from ..models.backbones.stem import Stem
from .conv_norm_act import POST_ACTIVATION, applies, conv_norm_act, is_norm_unit, norm_act_conv
from .upsample_add import add_upsampled
from .workspace import workspace_off


class UsesWorkspace:
    """A unit whose pre-activation parts may share :mod:`.workspace`'s maps; ``accelerate``
    switches that off (``workspace = False``) in activation-checkpointed models, whose point is
    to keep only the regions' inputs."""

    workspace = True

    def workspace_context(self):
        return contextlib.nullcontext() if self.workspace else workspace_off()


class FastResidual(UsesWorkspace, Residual):
    """:class:`Residual` whose three BN-ReLU-conv units write their backward in place."""

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.workspace_context():
            out = conv_norm_act(self.conv3,
                                conv_norm_act(self.conv2, conv_norm_act(self.conv1, x)))
        out += self.skip(x)
        return out


class FastBasicBlock(UsesWorkspace, BasicBlock):
    """:class:`BasicBlock` whose conv1 BN-ReLU and conv2 conv run as one pre-activation unit."""

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        one, two = self.conv1, self.conv2
        if is_norm_unit(one, (POST_ACTIVATION, )) \
                and is_norm_unit(two, (POST_ACTIVATION, ), activation=False) \
                and applies(x, one.norm, one.activate, two.conv, one, two):
            with self.workspace_context():
                out = two.norm(norm_act_conv(one.norm, two.conv, one.conv(x)))
        else:
            out = two(one(x))
        out += self.skip(x)
        return self.act(out)


class FastStem(Stem):
    """:class:`Stem` whose 7x7 conv-BN-ReLU writes its backward in place."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = partial(conv_norm_act, self.conv)
        if needs_checkpoint(self.with_cp):
            return self.layers(checkpointed(self.conv, conv, x))
        return self.layers(conv(x))


class FastStackOutput(StackOutput):
    """:class:`StackOutput` whose conv-BN-ReLU writes its backward in place."""

    def forward(self, x: torch.Tensor):
        features = conv_norm_act(self.conv, self.blocks(x))  # (B, F, H, W)
        predictions = self.predict(features) if self.predict is not None else None
        return features, predictions


class FastHourglass(Hourglass):
    """:class:`Hourglass` whose ``up1 + interpolate(low3)`` broadcasts instead of upsampling
    (:mod:`.upsample_add`), into ``up1``'s memory where that is a Residual's fresh sum."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up1 = self.up1(x)  # (B, C, H, W)
        low3 = self.low3(self.low2(self.low1(self.down(x))))  # (B, C, H/2, W/2)
        return add_upsampled(up1, low3, in_place=isinstance(self.up1[-1], Residual))


#: model class -> its fast form
FAST_UNITS = {Residual: FastResidual, BasicBlock: FastBasicBlock, Stem: FastStem,
              StackOutput: FastStackOutput, Hourglass: FastHourglass}
