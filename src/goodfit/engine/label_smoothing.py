"""Label smoothing as a per-member piece: before each step, the member's targets become target weights
that keep `1 - amount` of each sample's weight on its label and spread `amount` evenly over the classes.

Only the training loss changes; members without smoothing keep their one-hot targets bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, take
from goodfit.nn.losses import target_weights
from goodfit.remedies import LabelSmoothing


@dataclass
class SmoothingState:
    amount: torch.Tensor  # (K, 1, 1) the share spread over the classes, 0 for members without smoothing
    num_classes: int


@dataclass(frozen=True)
class Smoothing:
    """`LabelSmoothing`: each member's targets softened by its own amount."""

    at = ("batch",)
    remedy = LabelSmoothing  # the remedy it serves

    def init(self, run) -> SmoothingState | None:
        amounts = [getattr(m.arm.get(LabelSmoothing), "amount", 0.0) for m in run.members]
        if not any(amounts):
            return None
        return SmoothingState(torch.tensor(amounts, device=run.device).reshape(-1, 1, 1), run.splits.num_classes)

    def update(self, step: Step, state: SmoothingState) -> SmoothingState:
        q = target_weights(step.targets, state.num_classes)  # (K, b, C)
        mass = q.sum(-1, keepdim=True)  # (K, b, 1): a sample's weight, 1 without class weights
        step.targets = q * (1 - state.amount) + state.amount * mass / state.num_classes
        return state

    def select(self, state: SmoothingState, keep: np.ndarray) -> SmoothingState | None:
        amount = take(state.amount, keep)
        return SmoothingState(amount, state.num_classes) if bool((amount > 0).any()) else None
