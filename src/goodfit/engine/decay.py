"""Weight decay as two per-member pieces: the true L2 penalty (`strength * w` added to the gradient
before the optimizer) and decoupled decay (`w` shrunk by `1 - lr * strength` before the step, as AdamW).

Both act on weights only, biases and batch-norm parameters too where the member asks for it, and
on the rows of the members that use them when those are few.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, member_view, take
from goodfit.remedies import WeightDecay


@dataclass
class DecayState:
    """Per decayed parameter, each member's coefficient `(K, 1, ...)`, and the rows it acts on."""

    values: dict  # name -> (K, 1, ...) float32, `neutral` where the member leaves the parameter alone
    rows: dict  # name -> indices of the members it acts on, or None for all
    neutral: float

    @classmethod
    def of(cls, values: dict[str, torch.Tensor], neutral: float) -> "DecayState | None":
        """None when no member decays anything."""
        values = {name: v for name, v in values.items() if bool((v != neutral).any())}
        if not values:
            return None
        rows = {}
        for name, v in values.items():
            acting = torch.nonzero(v.reshape(-1) != neutral).reshape(-1)
            rows[name] = acting if 3 * len(acting) < len(v) else None  # few: their rows are cheaper than all
        return cls(values, rows, neutral)

    def select(self, keep: np.ndarray) -> "DecayState | None":
        return DecayState.of(take(self.values, keep), self.neutral)


def _per_parameter(net, values: list[float], every: list[bool], neutral: float) -> dict[str, torch.Tensor]:
    """Per parameter, each member's coefficient `(K, 1, ...)` in float32, `neutral` where the member
    leaves that parameter alone."""
    weights, everything = net.decay_mask(False), net.decay_mask(True)
    values, every = np.asarray(values, np.float64), np.asarray(every, bool)
    out = {}
    for name, p in net.params.items():
        if everything[name]:
            coefficient = values if weights[name] else np.where(every, values, neutral)
            out[name] = member_view(torch.tensor(coefficient, dtype=torch.float32), p).to(p.device)
    return out


def _decays(run, decoupled: bool) -> tuple[list[float], list[bool]]:
    rules = [m.arm.get(WeightDecay) for m in run.members]
    rules = [r if r is not None and r.decoupled == decoupled else None for r in rules]
    return [r.strength if r else 0.0 for r in rules], [bool(r and r.include_bias_and_norm) for r in rules]


@dataclass(frozen=True)
class L2Penalty:
    """`WeightDecay(decoupled=False)`: the gradient of `strength / 2 * ||w||^2` added before the optimizer."""

    at = ("gradient",)
    remedy = WeightDecay  # the remedy it serves

    def init(self, run) -> DecayState | None:
        strength, every = _decays(run, decoupled=False)
        return DecayState.of(_per_parameter(run.net, strength, every, 0.0), 0.0)

    def update(self, step: Step, state: DecayState) -> DecayState:
        for name, strength in state.values.items():
            p, rows = step.net.params[name], state.rows[name]
            w = p.detach()
            if rows is None:  # the same two roundings as the rows' path: a member's step does not depend on the path
                p.grad.add_(w * strength)
            else:
                p.grad.index_add_(0, rows, w[rows] * strength[rows])
        return state

    def select(self, state: DecayState, keep: np.ndarray) -> DecayState | None:
        return state.select(keep)


@dataclass(frozen=True)
class DecoupledDecay:
    """`WeightDecay(decoupled=True)`: each step multiplies `w` by `1 - lr * strength`, the member's own rate."""

    at = ("gradient",)
    remedy = WeightDecay  # the remedy it serves

    def init(self, run) -> DecayState | None:
        strength, every = _decays(run, decoupled=True)
        factor = [1 - lr * s for lr, s in zip(run.learning_rates(), strength)]  # rounded once, as AdamW's
        return DecayState.of(_per_parameter(run.net, factor, every, 1.0), 1.0)

    def update(self, step: Step, state: DecayState) -> DecayState:
        with torch.no_grad():
            for name, factor in state.values.items():
                p, rows = step.net.params[name], state.rows[name]
                if rows is None:
                    p.mul_(factor)
                else:
                    p[rows] = p[rows] * factor[rows]
        return state

    def select(self, state: DecayState, keep: np.ndarray) -> DecayState | None:
        return state.select(keep)
