"""Pooling layers for K members at once: pooling acts on each channel of each sample alone, so the torch
layer itself runs on the grouped channels of all members."""
from __future__ import annotations

from torch import nn

from goodfit.nn.layers.base import Counterpart, Unstackable
from goodfit.nn.stacked import GROUPED, Pass

POOLING = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
           nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.LPPool1d, nn.LPPool2d)


class StackedPooling(Counterpart):
    """Max, average, adaptive and power-average pooling (1-D and 2-D) on grouped inputs `(B, K * C, *spatial)`."""

    replaces = POOLING
    layouts = (GROUPED,)

    def __init__(self, layers):
        super().__init__(layers)
        if getattr(self.layer, "return_indices", False):
            raise Unstackable("pooling that returns indices is not stacked")

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        return self.layer(x)
