"""What every stacked layer is: a stand-in for one torch layer type that runs all members' copies at once.

A counterpart is built from the members' own layers (one each, same type and settings; their
parameters are stacked by the population, not here) and called on a value in one of the layouts
it takes (`goodfit.nn.stacked`), with the layer's stacked parameters and buffers under the
torch layer's own names (`weight`, `running_mean`, ...), each with a leading member axis.
"""
from __future__ import annotations

import torch
from torch import nn

from goodfit.nn.stacked import MEMBER, Pass


class Unstackable(Exception):
    """The members' layers cannot run as one stacked layer (their settings differ, or a setting is not supported)."""


def settings(layer: nn.Module) -> dict:
    """A layer's own settings (what `__init__` stored), without its state or training flag.

    Example:
        >>> settings(nn.Linear(2, 3))
        {'in_features': 2, 'out_features': 3}
    """
    return {k: v for k, v in vars(layer).items() if not k.startswith("_") and k != "training"}


class Counterpart:
    """Base of the stacked layers: checks the members' layers agree; subclasses define `__call__`.

    Class attributes: `replaces`, the torch layer types it stands in for; `layouts`, the layouts
    its input may come in, the preferred first (its output comes in the input's); `varying`, the
    settings members may hold differently (read per member by the subclass).
    """

    replaces: tuple = ()
    layouts: tuple = (MEMBER,)
    varying: tuple = ()

    def __init__(self, layers: list[nn.Module]):
        self.layer = layers[0]
        first = {k: v for k, v in settings(self.layer).items() if k not in self.varying}
        for other in layers[1:]:
            mine = {k: v for k, v in settings(other).items() if k not in self.varying}
            if mine != first:
                differ = sorted(k for k in first.keys() | mine.keys() if first.get(k) != mine.get(k))
                raise Unstackable(f"{type(self.layer).__name__} settings differ between members: {', '.join(differ)}")

    def __call__(self, x: torch.Tensor, layout: str, params: dict, buffers: dict, ctx: Pass) -> torch.Tensor:
        raise NotImplementedError
