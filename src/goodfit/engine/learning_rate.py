"""A member's own learning rate as a per-member piece: the optimizer takes the shared step, and the
member's weights move `scale` times as far (`lerp(before, after, scale)`), exact for Adam and SGD,
whose steps are proportional to the rate; a scale of exactly 1 leaves the step bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from goodfit.engine.piece import Step, member_view, take


@dataclass
class RateState:
    scale: torch.Tensor  # (K,) the member's rate over the shared one
    before: dict = field(default_factory=dict)  # the weights before this step's optimizer


@dataclass(frozen=True)
class OwnLearningRate:
    """`Member(lr=...)`: members with their own rate train in one population with the others."""

    at = ("gradient", "step")
    remedy = None  # the engine's own: a member's learning-rate scale, not a remedy

    def init(self, run) -> RateState | None:
        scale = np.asarray(run.learning_rates(), np.float32) / np.float32(run.config.lr)
        if (scale == 1).all():
            return None
        return RateState(torch.as_tensor(scale, device=run.device))

    def update(self, step: Step, state: RateState) -> RateState:
        with torch.no_grad():
            if step.at == "gradient":  # after any decay, as the optimizer will see the weights
                state.before = {name: p.detach().clone() for name, p in step.net.params.items()}
                return state
            for name, p in step.net.params.items():
                torch.lerp(state.before[name], p, member_view(state.scale, p), out=p)
        state.before = {}
        return state

    def select(self, state: RateState, keep: np.ndarray) -> RateState | None:
        scale = take(state.scale, keep)
        return RateState(scale) if bool((scale != 1).any()) else None
