"""Class weights as two per-member pieces: loss weights inverse to class frequency (`LossWeights`), and
balanced sampling (`BalancedSampling`), which redraws each block's samples so that every class comes
up equally often.

Frequencies are those of each member's own training set. Members without class weights keep their
targets and samples bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, take
from goodfit.nn.losses import target_weights
from goodfit.remedies import ClassWeights

BALANCED_STREAM = 11  # a member's sampling stream is seeded by (seed, this), apart from its batch order


def _train_labels(run) -> list[np.ndarray]:
    """Each member's training labels."""
    if run.own_splits is not None:
        return [s.y_train for s in run.own_splits]
    return [run.splits.y_train] * len(run.members)


def _how(run) -> list[str | None]:
    return [getattr(m.arm.get(ClassWeights), "how", None) for m in run.members]


def inverse_frequency(y: np.ndarray, num_classes: int) -> np.ndarray:
    """`N / (C * n_c)` per class (the classes present; an absent class weighs 0): they average 1 over `y`.

    Example:
        >>> inverse_frequency(np.array([0, 0, 0, 1]), 2).tolist()
        [0.6666666666666666, 2.0]
    """
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    present = counts > 0
    return np.where(present, len(y) / (present.sum() * np.maximum(counts, 1)), 0.0)


@dataclass
class WeightsState:
    table: torch.Tensor  # (K, C) each member's weight of a sample of each class, ones for members without
    num_classes: int


@dataclass(frozen=True)
class LossWeights:
    """`ClassWeights("loss")`: each sample's loss weighted by its class's inverse frequency."""

    at = ("batch",)
    remedy = ClassWeights  # the remedy it serves

    def init(self, run) -> WeightsState | None:
        how, C = _how(run), run.splits.num_classes
        if "loss" not in how:
            return None
        table = [inverse_frequency(y, C) if h == "loss" else np.ones(C) for h, y in zip(how, _train_labels(run))]
        return WeightsState(torch.tensor(np.stack(table), dtype=torch.float32, device=run.device), C)

    def update(self, step: Step, state: WeightsState) -> WeightsState:
        targets = step.targets
        if isinstance(targets, tuple):  # mixup: the mix of the two samples' weights
            y, y2, lam = targets
            weight = lam * state.table.gather(1, y) + (1 - lam) * state.table.gather(1, y2)  # (K, b)
        else:
            weight = state.table.gather(1, targets)  # (K, b)
        step.targets = target_weights(targets, state.num_classes) * weight[..., None]  # (K, b, C)
        return state

    def select(self, state: WeightsState, keep: np.ndarray) -> WeightsState | None:
        table = take(state.table, keep)
        return WeightsState(table, state.num_classes) if bool((table != 1).any()) else None


@dataclass
class SamplingState:
    rows: list[int]  # positions of the members that sample balanced
    data: list[tuple]  # per such member: its training inputs, labels and each sample's drawing weight
    generators: list[torch.Generator]


@dataclass(frozen=True)
class BalancedSampling:
    """`ClassWeights("balanced")`: each block's samples drawn anew, with replacement, every class as often."""

    at = ("block",)
    remedy = ClassWeights  # the remedy it serves

    def init(self, run) -> SamplingState | None:
        how = _how(run)
        rows = [k for k, h in enumerate(how) if h == "balanced"]
        if not rows:
            return None
        own = run.own_splits or [run.splits] * len(run.members)
        shared = {}
        data = []
        for k in rows:
            s = own[k]
            if id(s) not in shared:
                weight = inverse_frequency(s.y_train, s.num_classes)[s.y_train]
                shared[id(s)] = (torch.as_tensor(s.X_train, device=run.device),
                                 torch.as_tensor(s.y_train, device=run.device), torch.as_tensor(weight))
            data.append(shared[id(s)])
        generators = [torch.Generator().manual_seed(int(run.members[k].seed) * 1000 + BALANCED_STREAM) for k in rows]
        return SamplingState(rows, data, generators)

    def update(self, step: Step, state: SamplingState) -> SamplingState:
        n = step.x.shape[1]  # count * batch samples, fewer in a short last block
        x, y = step.x.clone(), step.targets.clone()
        for k, (X, labels, weight), g in zip(state.rows, state.data, state.generators):
            idx = torch.multinomial(weight, n, replacement=True, generator=g).to(X.device)  # (n,)
            x[k], y[k] = X[idx], labels[idx]
        step.x, step.targets = x, y
        return state

    def select(self, state: SamplingState, keep: np.ndarray) -> SamplingState | None:
        where = {k: j for j, k in enumerate(state.rows)}
        picked = [(new, where[int(old)]) for new, old in enumerate(keep) if int(old) in where]
        if not picked:
            return None
        return SamplingState([new for new, _ in picked], [state.data[j] for _, j in picked],
                             [state.generators[j] for _, j in picked])
