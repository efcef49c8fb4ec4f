"""One function member: the user's `fit(settings, seed)` called, what it returns read as a history, and the
member's result in the shape every population member's takes (`engine.MemberResult`), so the store, the
statistics, the diagnosis and the report read both alike.

The member's scores are its history's: at the kept epoch (the best validation epoch when the arm stops
early or the function's callback restored it, else the last), a test score from an explicit `test_` entry.
A history without one is scored on validation at the kept epoch, and says so (`scored_on`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from goodfit.engine import Member, MemberResult
from goodfit.errors import GoodfitError
from goodfit.fit.settings import Settings
from goodfit.history import METRICS, RATE, History, history_from_frame
from goodfit.remedies import EarlyStopping

SCORED = ("loss", "accuracy", "rmse", "mae", "r2")  # the metrics a member is scored by, where its history has them


@dataclass(frozen=True)
class FitFunction:
    """A training function as a member's architecture: its name is all goodfit knows of the model."""

    name: str
    arch: str = "function"

    def to_dict(self) -> dict:
        return {"arch": self.arch, "fit": self.name}


def function_name(fit: Callable) -> str:
    """`module.qualname` of a training function (or its class's, for a callable object); `train.py:fit` for one
    a script defines (`script.load_fit`); the bare name for one of `__main__` (a notebook's, a script's own)."""
    name = getattr(fit, "__qualname__", None) or type(fit).__qualname__
    module = getattr(fit, "__module__", None)
    if module in (None, "__main__"):
        return name
    return f"{module}:{name}" if module.endswith(".py") else f"{module}.{name}"


def history_of(returned, name: str) -> tuple[pd.DataFrame, int | None]:
    """The per-epoch table of what a training function returned (a `History`, a DataFrame in any framework's
    column names, or a goodfit callback or `Monitor` holding `history_`), and the epoch whose weights the
    function's callback restored, if it says."""
    restored = getattr(returned, "restored_epoch_", None)
    if hasattr(returned, "history_"):
        returned = returned.history_
    if isinstance(returned, pd.DataFrame):
        returned = history_from_frame(returned, source=name)
    if not isinstance(returned, History):
        raise GoodfitError(f"{name} returned a {type(returned).__name__}; return the member's per-epoch history: a "
                           "goodfit History, a DataFrame (one row per epoch), or the goodfit callback it trained with")
    frame = returned.frame[returned.frame["member"] == returned.members[0]].drop(columns="member")
    if not any(c.startswith("val_") and frame[c].notna().any() for c in frame.columns):
        raise GoodfitError(f"{name} returned no validation curve (columns {', '.join(frame.columns)}); goodfit judges "
                           "by validation: evaluate on a held-out set every epoch and log val_loss")
    return frame.reset_index(drop=True), None if restored is None else int(restored)


def _best_epoch(frame: pd.DataFrame) -> int | None:
    if "val_loss" in frame and frame["val_loss"].notna().any():
        return int(frame.loc[frame["val_loss"].idxmin(), "epoch"])
    for score in ("val_accuracy", "val_r2"):
        if score in frame and frame[score].notna().any():
            return int(frame.loc[frame[score].idxmax(), "epoch"])
    for error in ("val_rmse", "val_mae"):
        if error in frame and frame[error].notna().any():
            return int(frame.loc[frame[error].idxmin(), "epoch"])
    return None


def _scores(frame: pd.DataFrame, kept: int) -> tuple[dict[str, float], str]:
    """The member's scores at the kept epoch, `train_`, `val_` and `test_`, and what the test scores are."""
    row = frame.set_index("epoch").loc[kept]
    scores = {f"{where}_{m}": float(row[f"{where}_{m}"]) for where in ("train", "val") for m in SCORED
              if f"{where}_{m}" in row and pd.notna(row[f"{where}_{m}"])}
    tested = {f"test_{m}": float(frame[f"test_{m}"].dropna().iloc[-1]) for m in SCORED
              if f"test_{m}" in frame and frame[f"test_{m}"].notna().any()}
    if tested:
        return scores | tested, "test"
    return scores | {f"test_{m}": scores[f"val_{m}"] for m in SCORED if f"val_{m}" in scores}, "validation"


def fit_member(fit: Callable, member: Member, epochs: int, judged: str | None = None) -> tuple[MemberResult, str]:
    """Train one member by calling `fit(settings, seed)`; its result, and what its test scores are (`test`, or
    `validation` at the kept epoch when the history has no test entry).

    `judged` is the metric the study judges by (`accuracy`, `loss`, `rmse`, ...); a history that cannot give it
    is refused.

    Raises:
        GoodfitError: the function ignored one of the arm's remedies, returned no history, one without a
            validation curve, or one without the judged metric.

    Example:
        >>> from goodfit.remedies import Arm
        >>> def fit(settings, seed):
        ...     return pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.8, 0.9],
        ...                          "val_accuracy": [0.5, 0.7, 0.6]})
        >>> result, scored_on = fit_member(fit, Member(Arm("baseline"), 0), epochs=3)
        >>> result.best_epoch, result.test_accuracy, scored_on
        (2, 0.6, 'validation')
    """
    name = function_name(fit)
    settings = Settings(member.arm, member.seed, epochs)
    returned = fit(settings, member.seed)
    settings.check_applied(name)
    frame, restored = history_of(returned, name)
    best = _best_epoch(frame)
    stops = member.arm.get(EarlyStopping) is not None
    last = int(frame["epoch"].max())
    kept = restored or (best if stops and best is not None else last)
    if kept not in set(frame["epoch"]):
        raise GoodfitError(f"{name}'s callback restored epoch {kept}, which its history does not hold")
    losses = frame[[c for c in ("train_loss", "val_loss") if c in frame]].to_numpy(float)
    diverged = bool(np.isinf(losses).any() or (np.isnan(losses[-1]).all() if len(losses) else False))
    scores, scored_on = _scores(frame, kept)
    if judged is not None and f"test_{judged}" not in scores:
        logged = ", ".join(c for c in frame.columns if c != "epoch")
        raise GoodfitError(f"{name}'s history has no {judged} (it logged {logged}); the study judges by {judged}: "
                           f"log val_{judged} each epoch (or test_{judged}), or pass metric= one it logs")
    history = frame[["epoch"] + [c for c in (*METRICS, RATE) if c in frame]].copy()
    for column, value in scores.items():  # the test scores on the last row, as the engine's histories have them
        if column.startswith("test_"):
            history.loc[history.index[-1], column] = value if scored_on == "test" else np.nan
    history.insert(0, "member", 0)
    result = MemberResult(
        member=member, architecture=FitFunction(name), history=history,
        best_epoch=kept if (stops or restored) else best, stopped_epoch=last if stops and last < epochs else None,
        diverged=diverged, test_loss=scores.get("test_loss", float("nan")),
        test_accuracy=scores.get("test_accuracy", float("nan")), num_params=None, state_dict={}, scores=scores,
        scored_on=scored_on)
    return result, scored_on
