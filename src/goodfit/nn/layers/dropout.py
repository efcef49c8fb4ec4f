"""The module's own dropout layers in a population: masks drawn from each member's stream, applied to all
members at once.

`MemberDropout` stands in for a dropout layer in the population's template module: the population
hands it each pass's masks (`(K, B, *mask shape)` per call, drawn per member), and it applies them,
so a member's masks depend neither on who else trains nor on torch's global generator.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import GROUPED, MEMBER, Pass, to_layout

DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
ALPHA_LAYERS = (nn.AlphaDropout, nn.FeatureAlphaDropout)
SELU_ALPHA = 1.7580993408473766  # alpha dropout sets a dropped unit to -SELU_ALPHA, then rescales and shifts


class MemberDropout(nn.Module):
    """Stands in for one of the module's dropout layers in a population: applies the masks it is handed.

    The population draws each member's masks from that member's own stream, one mask per call of
    the layer in a forward pass (their shapes, `shapes`, are learnt on a probe batch), and hands
    them over before the pass. In eval mode, or with no masks handed over, it passes its input on.

    Args:
        layer: the user's `nn.Dropout`, `Dropout1d`, `Dropout2d`, `Dropout3d`, `AlphaDropout` or
            `FeatureAlphaDropout`.

    Example:
        >>> site = MemberDropout(nn.Dropout(0.5))
        >>> site.mask_shape((4, 3)), MemberDropout(nn.Dropout2d(0.5)).mask_shape((4, 3, 3))
        ((4, 3), (4, 1, 1))
    """

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.p, self.inplace, self.kind = layer.p, layer.inplace, type(layer)  # p and inplace as the layer had them
        self.shapes: list[tuple] = []  # one sample's mask shape, per call in a forward pass
        self.masks: list[tuple] = []  # per call: (scale,) or, for alpha dropout, (scale, shift)
        self.calls = 0

    def mask_shape(self, sample: tuple) -> tuple:
        """One sample's mask shape for inputs whose samples have shape `sample`: per unit, or per channel."""
        if self.kind in (nn.Dropout, nn.AlphaDropout):
            return sample
        if {nn.Dropout1d: 1, nn.Dropout3d: 3}.get(self.kind) == len(sample):  # torch reads it as unbatched
            return (1,) * len(sample)
        return sample[:1] + (1,) * (len(sample) - 1)

    def scale_and_shift(self, keep: np.ndarray, drop: float) -> tuple[np.ndarray, ...]:
        """What a call multiplies its input by (and, for alpha dropout, adds), as float32, from the kept units `keep`.

        Example:
            >>> MemberDropout(nn.Dropout(0.5)).scale_and_shift(np.array([True, False]), 0.5)
            (array([2., 0.], dtype=float32),)
        """
        if drop >= 1:
            return (np.zeros(keep.shape, np.float32),)
        if self.kind in ALPHA_LAYERS:
            a = 1 / math.sqrt((SELU_ALPHA ** 2 * drop + 1) * (1 - drop))
            return (np.multiply(keep, np.float32(a), dtype=np.float32),
                    np.multiply(keep + np.float32(drop - 1), np.float32(SELU_ALPHA * a), dtype=np.float32))
        return (np.multiply(keep, np.float32(1 / (1 - drop)), dtype=np.float32),)

    def next_mask(self) -> tuple:
        """This call's masks, or () when none were handed over (eval mode, or a rate of 0)."""
        if not self.training or not self.masks:
            return ()
        if self.calls == len(self.masks):
            raise GoodfitError(f"a dropout layer ran more than {len(self.masks)} times in one forward pass, more than on "
                               "the probe batch; call each dropout layer the same number of times in every pass")
        self.calls += 1
        return self.masks[self.calls - 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = self.next_mask()
        if not mask:
            return x
        return x * mask[0] if len(mask) == 1 else torch.addcmul(mask[1], x, mask[0])


class StackedDropout(Counterpart):
    """A `MemberDropout` site in a converted module: each member's masks `(K, B, *mask shape)`, in any layout."""

    replaces = (MemberDropout,)
    layouts = (GROUPED, MEMBER)

    def __init__(self, layers):
        self.layer = layers[0]  # the template's site: the population hands its masks to this one

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        site = self.layer
        site.training = ctx.train
        mask = site.next_mask()
        if not mask:
            return x
        scale, *shift = (to_layout(m, MEMBER, layout, ctx.K) for m in mask)
        return x * scale if not shift else torch.addcmul(shift[0], x, scale)
