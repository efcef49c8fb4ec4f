"""A module factory with the keyword arguments its members pass to it (`ModuleArchitecture`): what a
population of goodfit's own models or a user's module is built from.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.module_net import ModuleNet


def accepted_keywords(factory: Callable, wanted) -> set[str]:
    """Which of the keywords `wanted` (what the arm's remedies ask of the model: `dropout`, `batchnorm`, `width`,
    ...) the factory takes; all of them when it takes `**kwargs`.

    Example:
        >>> accepted_keywords(lambda dropout=0.0, width=1.0: None, ["dropout", "batchnorm"])
        {'dropout'}
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return set(wanted)
    return {k for k in wanted if k in params}


@dataclass(frozen=True)
class ModuleArchitecture:
    """A module factory with the keyword arguments one population passes to it.

    Args:
        factory: a callable returning a fresh `nn.Module` that maps a batch `(B, *sample)` to
            logits `(B, classes)`.
        kwargs: keyword arguments for the factory, as sorted `(name, value)` pairs, the same for every member.
        input_shape: one sample's shape.
        num_classes: outputs per sample: the classes, or 1 for a regression target.
        name: the factory's name, for messages.
        spec: for goodfit's own models, the `Architecture` the factory builds (its name, width and depth
            then stand for this one's); None for a user's factory.
        per_member: keywords each member passes from its own `MemberSettings` (goodfit's own models:
            `dropout`, so members at different rates train in one population). Default none.
    """

    factory: Callable = field(compare=False)
    kwargs: tuple
    input_shape: tuple
    num_classes: int
    name: str = ""
    spec: object = None
    per_member: tuple = ()

    def __hash__(self):
        return hash((self.name, self.kwargs, self.input_shape, self.num_classes, self.per_member))

    def __eq__(self, other):
        return (isinstance(other, ModuleArchitecture) and self.factory == other.factory
                and (self.kwargs, self.input_shape, self.num_classes, self.per_member)
                == (other.kwargs, other.input_shape, other.num_classes, other.per_member))

    @property
    def arch(self) -> str:
        return "custom" if self.spec is None else self.spec.arch

    @property
    def width(self) -> int:
        return self.spec.width

    @property
    def depth(self) -> int:
        return self.spec.depth

    def to_dict(self) -> dict:
        if self.spec is not None:
            return self.spec.to_dict()
        return {"arch": "custom", "factory": self.name, "kwargs": dict(self.kwargs),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes}

    def build(self, member=None) -> nn.Module:
        """A fresh module: the shared keywords, and `per_member`'s from `member` (a `MemberSettings`) where given."""
        mine = {k: getattr(member, k) for k in self.per_member} if member is not None else {}
        module = self.factory(**dict(self.kwargs), **mine)
        if not isinstance(module, nn.Module):
            raise GoodfitError(f"model factory {self.name} returned {type(module).__name__}, not an nn.Module; "
                               "return a fresh torch.nn.Module from it")
        return module

    def make_net(self, members, device) -> "ModuleNet":
        return ModuleNet(self, members, device)
