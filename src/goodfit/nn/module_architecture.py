"""A module factory with the keyword arguments its members pass to it (`ModuleArchitecture`): what a
population of goodfit's own models or a user's module is built from.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch
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


def _fingerprint(module: nn.Module, probe: torch.Tensor) -> tuple:
    """What tells two built modules apart: each submodule's class and settings, each parameter's and buffer's name
    and shape, and the outputs in training mode on `probe` (dropout drawing from a fixed seed)."""
    layout = tuple((name, type(m).__name__, m.extra_repr()) for name, m in module.named_modules())
    shapes = tuple((name, tuple(t.shape)) for name, t in [*module.named_parameters(), *module.named_buffers()])
    module.train()
    torch.manual_seed(0)
    try:
        with torch.no_grad():
            out = module(probe)
        out = out.detach().float().cpu() if torch.is_tensor(out) else None
    except Exception:  # noqa: BLE001 - a module that cannot run here is judged by its layout alone
        out = None
    return layout, shapes, out


def ignored_keywords(factory: Callable, keywords: dict, input_shape: tuple) -> list[str]:
    """The keywords among `keywords` (what an arm passes: `dropout=0.3`, `batchnorm=True`, `width=0.5`) whose
    module is the same as the factory's without them: no layer, parameter or buffer changes and, from the same
    seed, the same outputs on a probe batch in training mode. A factory that takes `dropout=` and never uses it
    would otherwise give an arm identical to the baseline.

    Example:
        >>> def net(dropout=0.0, width=1.0):
        ...     return nn.Sequential(nn.Linear(4, int(8 * width)), nn.ReLU(), nn.Linear(int(8 * width), 2))
        >>> ignored_keywords(net, {"dropout": 0.3, "width": 0.5}, (4,))
        ['dropout']
    """
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn((8, *input_shape), generator=generator)

    def built(**given) -> tuple:
        torch.manual_seed(0)
        return _fingerprint(factory(**given), probe)

    ignored = []
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        try:
            plain = built()
        except Exception:  # noqa: BLE001 - a factory that needs its keywords: nothing to compare with
            return []
        for key, value in keywords.items():
            try:
                ignored.append((key, built(**{key: value})))
            except Exception:  # noqa: BLE001 - training will say what is wrong with it
                continue
    return [key for key, (layout, shapes, out) in ignored if layout == plain[0] and shapes == plain[1]
            and _same_outputs(out, plain[2])]


def _same_outputs(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and torch.equal(a, b)


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
