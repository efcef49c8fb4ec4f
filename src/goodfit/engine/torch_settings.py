"""torch.optim settings as values: what each optimizer kind's step reads, a hyper-parameter as a plain value,
and a user's optimizer or scheduler described by what it builds (how a plan records a callable).

Knows torch's classes only; nothing here trains.
"""
from __future__ import annotations

import inspect
from typing import Callable

import torch
from torch import nn

# each kind's hyper-parameters as torch's classes name them: what a step reads from a group
SETTINGS = {
    "sgd": ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
    "adam": ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"),
    "rmsprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
}

def spelled(cls: type, settings, groups: int = 1) -> str:
    try:
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    except (TypeError, ValueError):
        defaults = {}
    shown = [f"{k}={v!r}" for k, v in settings if k == "lr" or (k in defaults and defaults[k] != v
                                                                  and k not in ("foreach", "fused", "differentiable"))]
    extra = [f"{groups} parameter groups"] if groups > 1 else []
    return f"{cls.__name__}({', '.join(shown + extra)})"


def takes_model(fn: Callable) -> bool:
    """Whether the user's optimizer callable wants the model (its one argument is named `model` or `module`)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] in ("model", "module")


def plain(value):
    """A hyper-parameter as a plain Python value (a tensor rate becomes a float, betas a tuple)."""
    if torch.is_tensor(value):
        return value.item() if value.numel() == 1 else tuple(value.tolist())
    if isinstance(value, list):
        return tuple(plain(v) for v in value)
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def pairs(settings: dict, kind: str) -> tuple:
    keep = SETTINGS.get(kind)
    return tuple(sorted((k, plain(v)) for k, v in settings.items() if k != "params" and (keep is None or k in keep)))


def describe_callable(fn: Callable) -> str:
    """A user's optimizer or scheduler by what it builds, for a plan: `AdamW(lr=0.0003, weight_decay=0.05)`,
    `CosineAnnealingLR(T_max=100)`; a callable that needs the model is named by its source line.

    Example:
        >>> describe_callable(lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9))
        'SGD(lr=0.1, momentum=0.9)'
    """
    probe = nn.Linear(1, 1)
    try:
        if takes_model(fn):
            raise TypeError("wants the model")
        built = fn(list(probe.parameters()))
        if isinstance(built, torch.optim.Optimizer):
            return spelled(type(built), pairs(built.param_groups[0], "other"), len(built.param_groups))
    except Exception:  # noqa: BLE001 - a scheduler, or a callable that needs the model: try the next way
        built = None
    try:
        if built is None:
            opt = torch.optim.SGD(probe.parameters(), lr=1.0)
            opt._opt_called = True  # never stepped: no warning about the order of step calls
            built = fn(opt)
        return scheduler_described(built)
    except Exception:  # noqa: BLE001 - described by its source instead
        try:
            return " ".join(inspect.getsource(fn).split())
        except (OSError, TypeError):
            return getattr(fn, "__qualname__", repr(fn))


def scheduler_described(scheduler) -> str:
    """`CosineAnnealingLR(T_max=100, eta_min=0)`: a scheduler's class and settings, those it chains included.

    Example:
        >>> opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
        >>> S = torch.optim.lr_scheduler
        >>> scheduler_described(S.SequentialLR(opt, [S.LinearLR(opt, 0.5, total_iters=2), S.StepLR(opt, 3)], [2]))
        'SequentialLR(LinearLR(end_factor=1.0, start_factor=0.5, total_iters=2), StepLR(gamma=0.1, step_size=3), milestones=[2])'
    """
    chained = getattr(scheduler, "_schedulers", None)
    state = {k: plain(v) for k, v in scheduler.state_dict().items()
             if not k.startswith("_") and k not in ("base_lrs", "last_epoch", "verbose", "_last_lr") and _simple(v)}
    parts = [scheduler_described(s) for s in chained] if chained else []
    parts += [f"{k}={v!r}" for k, v in sorted(state.items())]
    if chained and getattr(scheduler, "_milestones", None):
        parts.append(f"milestones={list(scheduler._milestones)}")
    return f"{type(scheduler).__name__}({', '.join(parts)})"


def _simple(value) -> bool:
    return isinstance(value, (int, float, str, bool, type(None))) or (
        isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value))
