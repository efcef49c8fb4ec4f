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


def _per_parameter(run, values: list[float], every: list[bool], neutral: float,
                   dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Per parameter the optimizer moves, each member's coefficient `(K, 1, ...)` (float32, or `dtype`),
    `neutral` where the member leaves that parameter alone."""
    net = run.net
    weights, everything = net.decay_mask(False), net.decay_mask(True)
    values, every = np.asarray(values, np.float64), np.asarray(every, bool)
    out = {}
    for name in run.trained:
        p = net.params[name]
        if everything[name]:
            coefficient = values if weights[name] else np.where(every, values, neutral)
            out[name] = member_view(torch.tensor(coefficient, dtype=dtype), p).to(p.device)
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
        return DecayState.of(_per_parameter(run, strength, every, 0.0), 0.0)

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


@dataclass
class DecoupledState:
    """The members' strengths per decayed parameter (`DecayState`, neutral 0), the optimizer group each
    parameter is in, and the factors `1 - lr * strength` for the rates they were last worked out at."""

    strengths: DecayState
    group: dict  # name -> index of its optimizer group
    rates: np.ndarray | None = None  # (groups, K) the rates `factors` were worked out at
    factors: dict | None = None  # name -> (K, 1, ...) float32, from float64 strengths and rates

    def select(self, keep: np.ndarray) -> "DecoupledState | None":
        strengths = self.strengths.select(keep)
        return None if strengths is None else DecoupledState(strengths, self.group)


@dataclass(frozen=True)
class DecoupledDecay:
    """`WeightDecay(decoupled=True)`: each step multiplies `w` by `1 - lr * strength`, at the member's rate of the
    moment in the parameter's optimizer group (a schedule's rate, the member's own); on top of any decay the
    optimizer itself applies (AdamW's weight_decay)."""

    at = ("gradient",)
    remedy = WeightDecay  # the remedy it serves

    def init(self, run) -> DecoupledState | None:
        strength, every = _decays(run, decoupled=True)
        strengths = DecayState.of(_per_parameter(run, strength, every, 0.0, torch.float64), 0.0)
        if strengths is None:
            return None
        return DecoupledState(strengths, {n: g for g, group in enumerate(run.plan.groups) for n in group.names})

    def update(self, step: Step, state: DecoupledState) -> DecoupledState:
        if state.rates is None or not np.array_equal(state.rates, step.rates):  # rounded once, as AdamW's
            state.rates = step.rates
            state.factors = {name: (1 - member_view(torch.as_tensor(step.rates[state.group[name]]), s).to(s.device)
                                    * s).float()
                             for name, s in state.strengths.values.items()}
        with torch.no_grad():
            for name, factor in state.factors.items():
                p, rows = step.net.params[name], state.strengths.rows[name]
                if rows is None:
                    p.mul_(factor)
                else:
                    p[rows] = p[rows] * factor[rows]
        return state

    def select(self, state: DecoupledState, keep: np.ndarray) -> DecoupledState | None:
        return state.select(keep)
