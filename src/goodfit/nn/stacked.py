"""How a population's activations are laid out between stacked layers, and the two layouts' conversions.

A value in a converted module holds every member's copy of one tensor. `member` layout puts the
member axis first, `(K, *what one member holds)`: `(K, B, features)` for a linear layer, `(K, *shape)`
for a parameter. `grouped` layout folds the members into the channel axis, `(B, K * C, *spatial)`,
four-dimensional ones channels-last: one grouped convolution, batch norm or pooling call then serves
all members, as each member's channels are its own group.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

MEMBER, GROUPED = "member", "grouped"


def to_member(t: torch.Tensor, layout: str, K: int) -> torch.Tensor:
    """`t` in member layout `(K, B, C, *spatial)` (a view where it can be).

    Example:
        >>> to_member(torch.zeros(5, 6, 4), GROUPED, 2).shape
        torch.Size([2, 5, 3, 4])
    """
    if layout == MEMBER:
        return t
    B = t.shape[0]
    return t.reshape((B, K, t.shape[1] // K) + t.shape[2:]).transpose(0, 1)


def to_grouped(t: torch.Tensor, layout: str, K: int) -> torch.Tensor:
    """`t` in grouped layout `(B, K * C, *spatial)`; channels-last when four-dimensional.

    Example:
        >>> to_grouped(torch.zeros(2, 5, 3, 4), MEMBER, 2).shape
        torch.Size([5, 6, 4])
    """
    if layout == GROUPED:
        return t
    if t.dim() < 3:
        raise ValueError(f"a member tensor of shape {tuple(t.shape)} has no channel axis to group")
    t = t.transpose(0, 1).reshape((t.shape[1], K * t.shape[2]) + t.shape[3:])
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def to_layout(t: torch.Tensor, source: str, target: str, K: int) -> torch.Tensor:
    return to_member(t, source, K) if target == MEMBER else to_grouped(t, source, K)


def member_shape(t: torch.Tensor, layout: str, K: int) -> torch.Size:
    """The shape one member's tensor has: what `x.shape` returns inside the user's `forward`.

    Example:
        >>> member_shape(torch.zeros(5, 6, 4), GROUPED, 2)
        torch.Size([5, 3, 4])
    """
    if layout == MEMBER:
        return t.shape[1:]
    return torch.Size((t.shape[0], t.shape[1] // K) + t.shape[2:])


@dataclass
class Stacked:
    """Every member's copy of one value of the user's `forward`, in one tensor of a given layout."""

    tensor: torch.Tensor
    layout: str = MEMBER

    def member(self, K: int) -> torch.Tensor:
        return to_member(self.tensor, self.layout, K)

    def shape(self, K: int) -> torch.Size:
        return member_shape(self.tensor, self.layout, K)


@dataclass
class Pass:
    """What one forward pass of a population tells its layers: training or not, member count, masks.

    `masks` maps a dropout site's name to its masks for this pass, one `(K, B, *mask shape)` tensor
    per call (scale, and for alpha dropout a shift); a site with none passes its input on.
    """

    train: bool
    K: int
    masks: dict = field(default_factory=dict)
