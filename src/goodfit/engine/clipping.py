"""Gradient clipping as a per-member piece: each member's gradients scaled down to a total norm, as
`torch.nn.utils.clip_grad_norm_` does for one model, before any decay and the optimizer's step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, member_view


@dataclass
class ClipState:
    names: list  # the parameters the optimizer moves
    max_norm: float


@dataclass(frozen=True)
class GradientClipping:
    """`TrainConfig(clip_grad=...)`: the training's own setting, shared by every member, not a remedy."""

    at = ("gradient",)
    remedy = None  # the engine's own

    def init(self, run) -> ClipState | None:
        if run.config.clip_grad is None:
            return None
        return ClipState(list(run.trained), float(run.config.clip_grad))

    def update(self, step: Step, state: ClipState) -> ClipState:
        grads = [step.net.params[n].grad for n in state.names]
        grads = [g for g in grads if g is not None]
        if not grads:
            return state
        with torch.no_grad():
            norms = torch.stack([torch.linalg.vector_norm(g.reshape(len(g), -1), 2, dim=1) for g in grads])  # (P, K)
            total = torch.linalg.vector_norm(norms, 2, dim=0)  # (K,)
            scale = torch.clamp(state.max_norm / (total + 1e-6), max=1.0)
            if grads[0].device.type == "cpu" and not bool((scale < 1).any()):  # a scale of 1 changes nothing;
                return state  # on the CPU, asking costs less than multiplying (on a GPU it would wait for the device)
            for g in grads:
                g.mul_(member_view(scale, g))
        return state

    def select(self, state: ClipState, keep: np.ndarray) -> ClipState:
        return state
