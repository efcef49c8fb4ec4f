"""Element-wise activations for K members at once: the torch layer itself, on any layout."""
from __future__ import annotations

from torch import nn

from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import GROUPED, MEMBER, Pass

ELEMENTWISE = (nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
               nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
               nn.Hardshrink, nn.Softshrink, nn.Tanhshrink, nn.LogSigmoid, nn.Threshold)


class StackedElementwise(Counterpart):
    """An activation with no parameters that acts on each element alone: any layout, as it comes."""

    replaces = ELEMENTWISE
    layouts = (GROUPED, MEMBER)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        return self.layer(x)
