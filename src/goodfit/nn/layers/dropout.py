"""The module's own dropout layers in a population: each member's masks, drawn by the engine from the
member's own stream (`goodfit.engine.dropout`), applied to all members at once.

`MemberDropout` stands in for a dropout layer in the population's template module: the population
hands it each pass's masks (`(K, B, *mask shape)` per call), and it applies them, so a member's masks
depend neither on who else trains nor on torch's global generator.
"""
from __future__ import annotations

import torch
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import GROUPED, MEMBER, Pass, to_layout

DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
ALPHA_LAYERS = (nn.AlphaDropout, nn.FeatureAlphaDropout)
SELU_ALPHA = 1.7580993408473766  # alpha dropout sets a dropped unit to -SELU_ALPHA, then rescales and shifts


class _Handed:
    """A pass's masks handed to a site, per call, and how many calls took theirs: a plain object, as setting
    an `nn.Module`'s attributes costs several microseconds, a few times a step."""

    __slots__ = ("masks", "calls")

    def __init__(self):
        self.masks, self.calls = [], 0


class MemberDropout(nn.Module):
    """Stands in for one of the module's dropout layers in a population: applies the masks it is handed.

    The engine draws each member's masks from that member's own stream, one mask per call of the
    layer in a forward pass (their shapes, `shapes`, are learnt on a probe batch), at the member's own
    rate (members may differ), and the population hands them over before the pass. In eval mode, or
    with no masks handed over, it passes its input on.

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
        self.handed = _Handed()  # per call: (scale,) or, for alpha dropout, (scale, shift)

    def hand(self, masks: list[tuple]) -> None:
        """Hand over the masks of one pass, one tuple per call (none: the site passes its input on)."""
        self.handed.masks, self.handed.calls = masks, 0

    def mask_shape(self, sample: tuple) -> tuple:
        """One sample's mask shape for inputs whose samples have shape `sample`: per unit, or per channel."""
        if self.kind in (nn.Dropout, nn.AlphaDropout):
            return sample
        if {nn.Dropout1d: 1, nn.Dropout3d: 3}.get(self.kind) == len(sample):  # torch reads it as unbatched
            return (1,) * len(sample)
        return sample[:1] + (1,) * (len(sample) - 1)

    def scale_and_shift(self, mask: torch.Tensor, drop: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What a call multiplies its input by (and, for alpha dropout, adds), from the engine's mask
        `(K, B, *mask shape)` (0 where dropped, else 1 / keep-probability) and each member's rate `drop` `(K,)`.

        Example:
            >>> site = MemberDropout(nn.AlphaDropout(0.5))
            >>> scale, shift = site.scale_and_shift(torch.tensor([[2.0, 0.0]]), torch.tensor([0.5]))
            >>> [round(v, 4) for v in scale[0].tolist()], [round(v, 4) for v in shift[0].tolist()]
            ([0.8864, 0.0], [0.7792, -0.7792])
        """
        if self.kind not in ALPHA_LAYERS:
            return (mask,)
        p = drop.reshape((-1,) + (1,) * (mask.dim() - 1)).to(mask.dtype)
        a = torch.where(p < 1, torch.rsqrt((SELU_ALPHA ** 2 * p + 1) * (1 - p)), 0.0)  # 0 when all is dropped
        keep = (mask > 0).to(mask.dtype)
        return keep * a, (keep + p - 1) * (SELU_ALPHA * a)

    def next_mask(self, train: bool) -> tuple:
        """This call's masks in training (`train`), or () when none were handed over (eval mode, or a rate of 0)."""
        handed = self.handed
        if not train or not handed.masks:
            return ()
        if handed.calls == len(handed.masks):
            raise GoodfitError(f"a dropout layer ran more than {len(handed.masks)} times in one forward pass, more "
                               "than on the probe batch; call each dropout layer the same number of times in every "
                               "pass")
        handed.calls += 1
        return handed.masks[handed.calls - 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = self.next_mask(self.training)
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
        mask = self.layer.next_mask(ctx.train)
        if not mask:
            return x
        scale, *shift = (to_layout(m, MEMBER, layout, ctx.K) for m in mask)
        return x * scale if not shift else torch.addcmul(shift[0], x, scale)
