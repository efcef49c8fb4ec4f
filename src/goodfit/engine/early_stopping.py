"""Early stopping as a per-member piece, and the one source of `best_epoch`: after each epoch it
judges every member's validation score by that member's rule, keeps a copy of the weights of each
early-stopping member's best epoch, asks it to stop when patience runs out, and hands those weights
back when it leaves.

Members without early stopping are judged by the plain rule (lowest validation loss, no threshold),
which gives their `best_epoch`; they keep their last weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, take
from goodfit.remedies import EarlyStopping


@dataclass
class StopState:
    on: np.ndarray  # (K,) bool: the member stops early and restores its best weights
    patience: np.ndarray
    min_delta: np.ndarray
    relative: np.ndarray
    warmup: np.ndarray
    accuracy: np.ndarray  # (K,) bool: monitors validation accuracy (higher is better) instead of loss
    best: np.ndarray  # (K,) best score so far (lower is better)
    best_epoch: np.ndarray  # (K,) its epoch, 0 before any finite score
    wait: np.ndarray  # (K,) epochs since the best
    copies: dict | None  # the best epoch's weights `(K, ...)` per state name, where a member stops early
    on_rows: torch.Tensor | None  # (K,) bool on the device, for the copies


@dataclass(frozen=True)
class EarlyStop:
    """`EarlyStopping`: stop a member whose validation score stopped improving; always restore its best weights."""

    at = ("epoch", "leave")
    remedy = EarlyStopping  # the remedy it serves

    def init(self, run) -> StopState:
        found = [m.arm.get(EarlyStopping) for m in run.members]
        on = np.array([r is not None for r in found])
        rules = [r or EarlyStopping(min_delta=0.0) for r in found]
        K = len(rules)
        copies = on_rows = None
        if on.any():
            copies = {name: t.detach().clone() for name, t in run.net.state().items()}
            on_rows = torch.as_tensor(on, device=run.device)
        return StopState(on, np.array([r.patience for r in rules]), np.array([r.min_delta for r in rules]),
                         np.array([r.relative for r in rules]), np.array([r.warmup for r in rules]),
                         np.array([r.monitor == "val_accuracy" for r in rules]), np.full(K, np.inf),
                         np.zeros(K, dtype=int), np.zeros(K, dtype=int), copies, on_rows)

    def update(self, step: Step, state: StopState) -> StopState:
        if step.at == "leave":
            self._restore(step, state)
            return state
        m = step.metrics
        score = np.where(state.accuracy, -m.val_accuracy, m.val_loss) if state.accuracy.any() else m.val_loss
        known = np.where(np.isfinite(state.best), state.best, 0)
        delta = np.where(state.relative, np.abs(known) * state.min_delta, state.min_delta)
        improved = np.isfinite(score) & (score < state.best - delta)
        state.best = np.where(improved, score, state.best)
        state.best_epoch = np.where(improved, step.epoch, state.best_epoch)
        state.wait = np.where(improved, 0, state.wait + 1)
        step.stop |= state.on & (state.wait >= state.patience) & (step.epoch > state.warmup)
        better = np.flatnonzero(improved & state.on)
        if state.copies is not None and len(better):
            rows = torch.as_tensor(better, device=state.on_rows.device)
            with torch.no_grad():
                for name, t in step.net.state().items():
                    state.copies[name].index_copy_(0, rows, t[rows])
        return state

    def _restore(self, step: Step, state: StopState) -> None:
        """The leaving members' best epochs, and their best weights where they stop early and did not diverge."""
        leaving = np.flatnonzero(step.leaving)
        step.best_epoch = np.where(state.best_epoch[leaving] > 0, state.best_epoch[leaving], 0)
        restore = state.on[leaving] & ~step.diverged[leaving]
        if state.copies is None or not restore.any():
            return
        rows = torch.as_tensor(np.flatnonzero(restore), device=state.on_rows.device)
        sources = torch.as_tensor(leaving[restore], device=state.on_rows.device)
        for name, kept in step.kept.items():
            kept[rows] = state.copies[name][sources]

    def select(self, state: StopState, keep: np.ndarray) -> StopState:
        return take(state, keep)
