"""`nn.Flatten` and `nn.Unflatten` for K members at once: the same reshape, one axis further right."""
from __future__ import annotations

from torch import nn

from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import MEMBER, Pass


def _shifted(dim: int) -> int:
    """A member's axis `dim` in member layout, where the member axis comes first."""
    return dim + 1 if dim >= 0 else dim


class StackedFlatten(Counterpart):
    """`nn.Flatten(start_dim, end_dim)` on member inputs `(K, B, ...)`."""

    replaces = (nn.Flatten,)
    layouts = (MEMBER,)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        return x.flatten(_shifted(self.layer.start_dim), _shifted(self.layer.end_dim))


class StackedUnflatten(Counterpart):
    """`nn.Unflatten(dim, sizes)` on member inputs `(K, B, ...)`."""

    replaces = (nn.Unflatten,)
    layouts = (MEMBER,)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        return x.unflatten(_shifted(self.layer.dim), self.layer.unflattened_size)
