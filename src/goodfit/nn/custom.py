"""A user's own `nn.Module` factory as a population: K copies with stacked state, run by `torch.func.vmap`.

Offers the interface of `PopulationNet`, so the engine trains both alike. Per-member remedies that
live inside the model (dropout, batch norm, width) reach the factory as keyword arguments.
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from goodfit.errors import GoodfitError

FACTORY_KEYWORDS = ("dropout", "batchnorm", "width")


def accepted_keywords(factory: Callable) -> set[str]:
    """Which of `dropout`, `batchnorm`, `width` the factory takes as keyword arguments."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return set(FACTORY_KEYWORDS)
    return {k for k in FACTORY_KEYWORDS if k in params}


@dataclass(frozen=True)
class CustomArchitecture:
    """A user's factory with the keyword arguments one population passes to it.

    Args:
        factory: a callable returning a fresh `nn.Module` that maps a batch `(B, *sample)` to
            logits `(B, classes)`.
        kwargs: keyword arguments for the factory, as sorted `(name, value)` pairs.
        input_shape: one sample's shape.
        num_classes: output classes.
    """

    factory: Callable = field(compare=False)
    kwargs: tuple
    input_shape: tuple
    num_classes: int
    name: str = ""

    def __hash__(self):
        return hash((self.name, self.kwargs, self.input_shape, self.num_classes))

    def __eq__(self, other):
        return (isinstance(other, CustomArchitecture) and self.factory is other.factory
                and (self.kwargs, self.input_shape, self.num_classes) == (other.kwargs, other.input_shape, other.num_classes))

    @property
    def arch(self) -> str:
        return "custom"

    def to_dict(self) -> dict:
        return {"arch": "custom", "factory": self.name, "kwargs": dict(self.kwargs),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes}

    def build(self) -> nn.Module:
        module = self.factory(**dict(self.kwargs))
        if not isinstance(module, nn.Module):
            raise GoodfitError(f"model factory {self.name} returned {type(module).__name__}, not an nn.Module; "
                               "return a fresh torch.nn.Module from it")
        return module

    def make_net(self, members, device):
        return ModuleNet(self, members, device)


class ModuleNet:
    """K instances of a user's module, their state stacked; same interface as `PopulationNet`.

    Each member is initialized under its own seed, so its weights do not depend on the others.
    Randomness inside the module (its own dropout layers) draws from torch's global generator.
    """

    hand_backward = False  # autograd differentiates whatever the user's module does

    def __init__(self, arch: CustomArchitecture, members, device):
        self.arch, self.members, self.device = arch, list(members), torch.device(device)
        self.K = len(self.members)
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in self.members]
        modules = []
        for m in self.members:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(m.seed))
                modules.append(arch.build().to(self.device))
        self.template = copy.deepcopy(modules[0]).to("meta")
        params, buffers = stack_module_state(modules)
        self.params = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
        self.buffers = dict(buffers)
        self.any_dropout, self.any_bn = False, False
        self._check_output()

    def _check_output(self) -> None:
        probe = torch.zeros((2,) + tuple(self.arch.input_shape), device=self.device)
        try:
            out = self._call(False, probe[None].expand((1,) + probe.shape), members=slice(0, 1))
        except Exception as err:  # the user's module could not run on this data's shape
            raise GoodfitError(f"model factory {self.arch.name} failed on a batch of shape {tuple(probe.shape)}: "
                               f"{type(err).__name__}: {err}; make the module accept (batch, "
                               f"{', '.join(map(str, self.arch.input_shape))}) inputs") from None
        if tuple(out.shape[1:]) != (2, self.arch.num_classes):
            raise GoodfitError(f"model factory {self.arch.name} returns outputs of shape {tuple(out.shape[1:])} "
                               f"for a batch of 2; it must return logits of shape (batch, {self.arch.num_classes})")

    def _call(self, train: bool, x: torch.Tensor, members=slice(None)) -> torch.Tensor:
        self.template.train(train)
        params = {n: p[members] for n, p in self.params.items()}
        buffers = {n: b[members] for n, b in self.buffers.items()}

        def one(p, b, xb):
            return functional_call(self.template, (p, b), (xb,))

        return vmap(one, randomness="different")(params, buffers, x)

    def decay_mask(self, include_bias_and_norm: bool) -> dict[str, bool]:
        """Weight decay acts on matrices and kernels (2-D and up per member); biases and norms on request."""
        return {n: p.dim() >= 3 or include_bias_and_norm for n, p in self.params.items()}

    def hidden_sizes(self) -> list[int]:
        return []

    def forward(self, x: torch.Tensor, train: bool, masks=None) -> torch.Tensor:
        """Logits `(K, B, classes)` for inputs `(K, B, *sample)`."""
        return self._call(train, x)

    def predict(self, X: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Eval-mode logits `(K, N, classes)` for one shared input `(N, *sample)`."""
        with torch.no_grad():
            return torch.cat([self._call(False, X[i:i + chunk].unsqueeze(0).expand((self.K,) + X[i:i + chunk].shape))
                              for i in range(0, len(X), chunk)], dim=1)

    def state(self) -> dict[str, torch.Tensor]:
        return {**{n: t.detach() for n, t in self.params.items()}, **self.buffers}

    def select(self, keep: list[int]) -> "ModuleNet":
        new = object.__new__(ModuleNet)
        new.arch, new.device, new.template = self.arch, self.device, self.template
        new.members = [self.members[i] for i in keep]
        new.generators = [self.generators[i] for i in keep]
        new.K, new.any_dropout, new.any_bn = len(keep), False, False
        idx = torch.tensor(keep, device=self.device)
        new.params = {n: t.detach()[idx].clone().requires_grad_(True) for n, t in self.params.items()}
        new.buffers = {n: t[idx].clone() for n, t in self.buffers.items()}
        return new

    def to_module(self, k: int) -> nn.Module:
        """Member `k` as the user's own module, in eval mode."""
        module = self.arch.build()
        module.load_state_dict({n: t[k].detach().cpu() for n, t in self.state().items()})
        return module.eval()
