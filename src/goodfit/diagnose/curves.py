"""One member's curves as a history holds them, and how sentences name the curve a verdict is judged on.

The secondary score (accuracy, R², RMSE or MAE) is read with its direction and formatted here, so the
facts, the evidence and the advice never ask which score it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goodfit.history import SCORE_WORDS, SCORES, History


@dataclass(frozen=True)
class Curves:
    """One member's curves over its epochs, NaN where a metric was not logged."""

    epochs: np.ndarray  # (E,)
    train_loss: np.ndarray  # (E,) eval-mode training loss, else the running loss
    val_loss: np.ndarray
    train_score: np.ndarray  # (E,) the secondary score as logged: accuracy, R², RMSE or MAE
    val_score: np.ndarray
    train_name: str
    score: str | None  # a key of SCORES, None when only losses were logged

    @property
    def word(self) -> str:
        return SCORE_WORDS[self.score or "accuracy"]

    @property
    def bounded(self) -> bool:
        """The score is on a 0-1 scale (accuracy, R²): its thresholds are in points, not relative."""
        return self.score in (None, "accuracy", "r2")

    @property
    def classification(self) -> bool:
        """Nothing says regression: the loss of guessing, ln C, may apply."""
        return self.score in (None, "accuracy")

    def good(self, y: np.ndarray) -> np.ndarray:
        """The score turned so that higher is better."""
        return y if SCORES.get(self.score, True) else -y

    def error(self, y: np.ndarray) -> np.ndarray:
        """The score turned into an error, lower is better: 1 - accuracy, 1 - R², the RMSE or MAE itself."""
        return 1.0 - y if SCORES.get(self.score, True) else y

    def fmt(self, x: float) -> str:
        return f"{x:.1%}" if self.score in (None, "accuracy") else f"{x:.3f}" if self.score == "r2" else f"{x:.3g}"

    def fmt_gap(self, x: float) -> str:
        """A difference of two scores, signed: in points for accuracy (the caller says `points`)."""
        return f"{x * 100:+.1f}" if self.score in (None, "accuracy") else f"{x:+.3g}"

    def verbs(self) -> tuple[str, str, str]:
        """How the score is said to get worse, to get better, and its best: fell, climbed, peak for accuracy."""
        return ("fell", "climbed", "peak") if SCORES.get(self.score, True) else ("rose", "fell", "best")

    def chance_words(self, chance: float) -> str:
        return f"chance ({chance:.1%})" if self.classification else "0, what predicting the mean scores"


def curves_of(history: History, member: int) -> Curves:
    rows = history.frame[history.frame["member"] == member]

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=float) if name in rows else np.full(len(rows), np.nan)

    train, name = col("train_loss"), "training loss"
    if np.isnan(train).all() and not np.isnan(col("running_loss")).all():
        train, name = col("running_loss"), "running training loss"
    score = history.member(member).score
    return Curves(rows["epoch"].to_numpy(dtype=int), train, col("val_loss"), col(f"train_{score or 'accuracy'}"),
                  col(f"val_{score or 'accuracy'}"), name, score)


def curve_name(judged_on: str) -> str:
    """How sentences name a judged curve (`Diagnosis.judged_on`): the validation loss, else the validation error.

    Example:
        >>> curve_name("val_accuracy"), curve_name("val_r2"), curve_name("val_mae")
        ('validation error', 'validation 1 - R²', 'validation MAE')
    """
    if judged_on == "val_loss":
        return "validation loss"
    score = judged_on.removeprefix("val_")
    return ("validation error" if score == "accuracy" else "validation 1 - R²" if score == "r2"
            else f"validation {SCORE_WORDS[score]}")
