"""The user's optimizer for a population: read once from what they wrote (a spelled name, or their own
callable building a `torch.optim` optimizer), then stepped for every member at once.

`OptimizerPlan` is what was read: the optimizer's kind and, per parameter group, the parameters' names and
hyper-parameters. `StackedOptimizer` holds the stacked state `(K, ...)` and steps SGD, Adam, AdamW and
RMSprop on torch's own kernels (`torch._fused_sgd_`, `_fused_adam_`, `_fused_adamw_`, the functional
RMSprop) with each member's settings of the moment: members that share them step in one call over the
whole stacked tensors, the others over their own slices, so a member moves as it would alone. Any
other optimizer runs as the user's own class over a population of one member (`solo`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from goodfit.engine.config import TrainConfig
from goodfit.engine.torch_settings import pairs, plain, spelled, takes_model
from goodfit.errors import GoodfitError

_CLASSES = {torch.optim.SGD: "sgd", torch.optim.Adam: "adam", torch.optim.AdamW: "adam", torch.optim.RMSprop: "rmsprop"}
_SPELLED = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}


@dataclass(frozen=True)
class Group:
    """One parameter group: the module's parameter names in it and its hyper-parameters, as sorted pairs."""

    names: tuple[str, ...]
    settings: tuple[tuple[str, object], ...]

    def get(self, key: str):
        return dict(self.settings)[key]


@dataclass(frozen=True)
class OptimizerPlan:
    """What a population's optimizer is: `kind` (`sgd`, `adam`, `rmsprop`, or `solo` for a class goodfit does
    not stack), the torch class, its groups and its constructor defaults (for the shadows a scheduler steps)."""

    kind: str
    cls: type
    groups: tuple[Group, ...]
    defaults: tuple[tuple[str, object], ...] = ()

    @property
    def lr(self) -> float:
        """The first group's rate: what a member's own rate (`Member.lr`) is a multiple of."""
        return float(self.groups[0].get("lr"))

    @property
    def names(self) -> list[str]:
        return [n for g in self.groups for n in g.names]

    def describe(self) -> str:
        """`AdamW(lr=0.0003, weight_decay=0.05)`: the class and the settings that differ from its defaults."""
        return spelled(self.cls, self.groups[0].settings, len(self.groups))


def _built(config: TrainConfig, module: nn.Module) -> torch.optim.Optimizer:
    """The user's optimizer built over `module`'s trainable parameters (or the module itself)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    fn = config.optimizer
    name = getattr(fn, "__qualname__", type(fn).__name__)
    try:
        opt = fn(module) if takes_model(fn) else fn(trainable)
    except Exception as err:  # noqa: BLE001 - the user's code: say where it failed
        raise GoodfitError(f"your optimizer {name} failed on the model's parameters: {type(err).__name__}: {err}; "
                           "it must take the parameters (or the model, as an argument named model) and return "
                           "a torch.optim optimizer") from None
    if not isinstance(opt, torch.optim.Optimizer):
        raise GoodfitError(f"your optimizer {name} returned a {type(opt).__name__}, not a torch.optim optimizer; "
                           "e.g. optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4)")
    return opt


def _spelled_settings(config: TrainConfig) -> dict:
    """The hyper-parameters of a spelled optimizer: torch's defaults, then what the config sets."""
    cls = _SPELLED[config.optimizer]
    settings = {k: p.default for k, p in inspect.signature(cls).parameters.items() if k != "params"}
    settings["lr"] = config.lr
    if config.optimizer == "adamw":
        settings["decoupled_weight_decay"] = True
    if config.optimizer == "sgd":
        settings["momentum"] = 0.9 if config.momentum is None else config.momentum
    elif config.momentum is not None:
        settings["momentum"] = config.momentum
    if config.weight_decay is not None:
        settings["weight_decay"] = config.weight_decay
    return settings


def read_plan(config: TrainConfig, module: nn.Module) -> OptimizerPlan:
    """The optimizer `config` names, over `module`'s parameters: one group of every trainable parameter for a
    spelled one; the groups the user's optimizer made, by parameter name, for their own.

    Parameters with `requires_grad=False`, and any the user's optimizer leaves out, are in no group: no
    member changes them.

    Example:
        >>> m = nn.Linear(3, 2)
        >>> plan = read_plan(TrainConfig(optimizer="sgd", lr=0.1), m)
        >>> plan.kind, plan.groups[0].names, plan.groups[0].get("momentum")
        ('sgd', ('weight', 'bias'), 0.9)
    """
    named = {id(p): n for n, p in module.named_parameters()}
    if not callable(config.optimizer):
        names = tuple(n for n, p in module.named_parameters() if p.requires_grad)
        settings = _spelled_settings(config)
        cls = _SPELLED[config.optimizer]
        kind = _CLASSES[cls]
        return OptimizerPlan(kind, cls, (Group(names, pairs(settings, kind)),))
    opt = _built(config, module)
    cls = type(opt)
    kind = _CLASSES.get(cls, "solo")
    groups = []
    for i, group in enumerate(opt.param_groups):
        unknown = [p for p in group["params"] if id(p) not in named]
        if unknown:
            raise GoodfitError(f"your optimizer's group {i} holds {len(unknown)} tensors that are not the model's "
                               "parameters; build it from the parameters (or the model) it is given")
        names = tuple(named[id(p)] for p in group["params"] if p.requires_grad)
        if names:
            groups.append(Group(names, pairs({k: v for k, v in group.items() if k != "params"}, kind)))
    if not groups:
        raise GoodfitError("your optimizer holds no trainable parameter; give it the model's parameters")
    return OptimizerPlan(kind, cls, tuple(groups), tuple(sorted((k, plain(v)) for k, v in opt.defaults.items())))


# ---- stepping ------------------------------------------------------------------------------------------
class StackedOptimizer:
    """The plan's optimizer over stacked parameters `(K, ...)`; `step(settings)` moves every member at once.

    `settings[g][k]` is member k's hyper-parameters for group g this step (`Schedule.settings`), as sorted
    pairs: members that share them step in one call, over the whole tensors when all do.

    Example:
        >>> p = torch.ones(2, 3, requires_grad=True)
        >>> p.grad = torch.ones(2, 3)
        >>> plan = read_plan(TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0), nn.Linear(3, 1, bias=False))
        >>> opt = StackedOptimizer(plan, {"weight": p})
        >>> opt.step([[plan.groups[0].settings, plan.groups[0].settings]])
        >>> round(p[0, 0].item(), 4)
        0.9
    """

    def __init__(self, plan: OptimizerPlan, params: dict[str, torch.Tensor]):
        self.plan = plan
        self.tensors = [[params[n] for n in g.names] for g in plan.groups]
        self.state = [self._fresh(g, ts) for g, ts in zip(plan.groups, self.tensors)]
        self.solo = None
        if plan.kind == "solo":
            if next(iter(params.values())).shape[0] != 1:
                raise GoodfitError(f"{plan.cls.__name__} is not stacked: train its members one by one")
            self.solo = _solo(plan, self.tensors)

    def _fresh(self, group: Group, tensors: list[torch.Tensor]) -> dict:
        zeros = lambda: [torch.zeros_like(t, memory_format=torch.preserve_format) for t in tensors]  # noqa: E731
        if self.plan.kind == "adam":
            return {"exp_avg": zeros(), "exp_avg_sq": zeros(), "max_exp_avg_sq": zeros() if group.get("amsgrad") else [],
                    "steps": [torch.zeros((), dtype=torch.float32, device=t.device) for t in tensors]}
        if self.plan.kind == "sgd":
            return {"momentum": None}
        if self.plan.kind == "rmsprop":
            return {"square_avg": zeros(), "grad_avg": zeros() if group.get("centered") else [],
                    "momentum": zeros() if group.get("momentum") else [],
                    "steps": [torch.zeros((), dtype=torch.float32, device=t.device) for t in tensors]}
        return {}

    def zero_grad(self) -> None:
        for ts in self.tensors:
            for t in ts:
                t.grad = None

    @torch.no_grad()
    def step(self, settings: list[list[tuple]]) -> None:
        if self.solo is not None:
            for group, mine in zip(self.solo.param_groups, settings):
                group.update(dict(mine[0]))
            self.solo.step()
            return
        for tensors, state, members in zip(self.tensors, self.state, settings):
            if self.plan.kind == "adam":
                torch._foreach_add_(state["steps"], 1)
            buckets: dict[tuple, list[int]] = {}
            for k, mine in enumerate(members):
                buckets.setdefault(mine, []).append(k)
            first = self.plan.kind == "sgd" and state["momentum"] is None
            if first and dict(members[0]).get("momentum", 0):
                state["momentum"] = [torch.empty_like(t) for t in tensors]
            for mine, ks in buckets.items():
                part = None if len(ks) == len(members) else ks
                mine_state = {k: v if not isinstance(v, list) else _repeated(v, part) if k == "steps" else _cut(v, part)
                              for k, v in state.items()}
                _KERNELS[self.plan.kind](_cut(tensors, part), _cut([t.grad for t in tensors], part), mine_state,
                                         dict(mine), first)

    def select(self, params: dict[str, torch.Tensor], keep: np.ndarray) -> "StackedOptimizer":
        """The state of the members at positions `keep`, over their new stacked `params`."""
        new = StackedOptimizer.__new__(StackedOptimizer)
        new.plan, new.solo = self.plan, self.solo
        new.tensors = [[params[n] for n in g.names] for g in self.plan.groups]
        index = torch.as_tensor(keep, device=new.tensors[0][0].device)
        new.state = [{k: ([t.clone() for t in v] if k == "steps" else [t[index] for t in v])
                      if isinstance(v, list) else v for k, v in s.items()} for s in self.state]
        return new


def _cut(tensors: list[torch.Tensor], members: list[int] | None) -> list[torch.Tensor]:
    """Stacked tensors as they are (all members), or each member's slice of each, member by member."""
    if members is None:
        return tensors
    return [t[k] for k in members for t in tensors]


def _repeated(steps: list[torch.Tensor], members: list[int] | None) -> list[torch.Tensor]:
    """A group's step counts (one scalar per stacked tensor, the same for every member) beside `_cut`'s slices."""
    return steps if members is None else [t for _ in members for t in steps]


def _adam(params, grads, state, s: dict, first: bool) -> None:
    kernel = torch._fused_adamw_ if s.get("decoupled_weight_decay") else torch._fused_adam_
    kernel(params, grads, state["exp_avg"], state["exp_avg_sq"], state["max_exp_avg_sq"], state["steps"],
           lr=float(s["lr"]), beta1=float(s["betas"][0]), beta2=float(s["betas"][1]),
           weight_decay=float(s["weight_decay"]), eps=float(s["eps"]), amsgrad=bool(s["amsgrad"]),
           maximize=bool(s["maximize"]))


def _sgd(params, grads, state, s: dict, first: bool) -> None:
    momentum = float(s["momentum"])
    torch._fused_sgd_(params, grads, state["momentum"] if momentum else [], weight_decay=float(s["weight_decay"]),
                      momentum=momentum, lr=float(s["lr"]), dampening=float(s["dampening"]),
                      nesterov=bool(s["nesterov"]), maximize=bool(s["maximize"]), is_first_step=first)


def _rmsprop(params, grads, state, s: dict, first: bool) -> None:
    from torch.optim.rmsprop import rmsprop

    rmsprop(params, grads, state["square_avg"], state["grad_avg"], state["momentum"], state["steps"], foreach=True,
            maximize=bool(s["maximize"]), lr=float(s["lr"]), alpha=float(s["alpha"]), eps=float(s["eps"]),
            weight_decay=float(s["weight_decay"]), momentum=float(s["momentum"]), centered=bool(s["centered"]))


_KERNELS = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop}


def constructor_defaults(plan: OptimizerPlan) -> dict:
    """The plan's defaults its class's constructor takes (a group's own settings override them)."""
    try:
        accepted = inspect.signature(plan.cls).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return dict(plan.defaults)
    return {k: v for k, v in plan.defaults if k in accepted and k != "params"}


def _solo(plan: OptimizerPlan, tensors: list[list[torch.Tensor]]) -> torch.optim.Optimizer:
    """The user's own optimizer class over one member's stacked parameters, group by group."""
    try:
        return plan.cls([{**dict(g.settings), "params": ts} for g, ts in zip(plan.groups, tensors)],
                        **constructor_defaults(plan))
    except Exception as err:  # noqa: BLE001 - the user's class
        raise GoodfitError(f"could not build your optimizer {plan.cls.__name__} again over a member's parameters "
                           f"from its groups and defaults: {type(err).__name__}: {err}") from None
