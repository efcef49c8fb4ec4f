"""Weight decay as two per-member pieces: the true L2 penalty (`strength * w` added to the gradient
before the optimizer) and decoupled decay (`w` shrunk by `1 - lr * strength` before the step, as AdamW).

Both act on weights only, biases and batch-norm parameters too where the member asks for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, member_view, take
from goodfit.remedies import WeightDecay


def _per_parameter(net, values: list[float], every: list[bool], neutral: float) -> dict[str, torch.Tensor]:
    """Per decayed parameter, each member's coefficient `(K, 1, ...)` in float32, `neutral` where the
    member leaves that parameter alone; parameters no member decays are left out."""
    weights, everything = net.decay_mask(False), net.decay_mask(True)
    values, every = np.asarray(values, np.float64), np.asarray(every, bool)
    out = {}
    for name, p in net.params.items():
        coefficient = values if weights[name] else np.where(every, values, neutral)
        if everything[name] and (coefficient != neutral).any():
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

    def init(self, run) -> dict[str, torch.Tensor] | None:
        strength, every = _decays(run, decoupled=False)
        return _per_parameter(run.net, strength, every, neutral=0.0) or None

    def update(self, step: Step, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for name, strength in state.items():
            p = step.net.params[name]
            p.grad.addcmul_(p.detach(), strength)
        return state

    def select(self, state: dict[str, torch.Tensor], keep: np.ndarray) -> dict[str, torch.Tensor] | None:
        kept = {name: t for name, t in take(state, keep).items() if t.any()}
        return kept or None


@dataclass(frozen=True)
class DecoupledDecay:
    """`WeightDecay(decoupled=True)`: each step multiplies `w` by `1 - lr * strength`, the member's own rate."""

    at = ("gradient",)

    def init(self, run) -> dict[str, torch.Tensor] | None:
        strength, every = _decays(run, decoupled=True)
        factor = [1 - lr * s for lr, s in zip(run.learning_rates(), strength)]  # rounded once, as AdamW's
        return _per_parameter(run.net, factor, every, neutral=1.0) or None

    def update(self, step: Step, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            for name, factor in state.items():
                step.net.params[name].mul_(factor)
        return state

    def select(self, state: dict[str, torch.Tensor], keep: np.ndarray) -> dict[str, torch.Tensor] | None:
        kept = {name: t for name, t in take(state, keep).items() if (t != 1).any()}
        return kept or None
