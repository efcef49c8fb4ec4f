"""The metrics a study judges by: their names, which way is better, their range, and how they read.

Classification: `accuracy`, `balanced_accuracy` (mean recall over classes), `macro_f1`, `loss`;
regression: `rmse`, `mae` (in the target's own units), `r2`, `loss`. Pure values; the engine
computes them, the statistics and the report read their direction and range from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goodfit.errors import GoodfitError

IMBALANCED = 1 / 3  # the smallest class under this share of the largest's: judged by balanced accuracy


@dataclass(frozen=True)
class Metric:
    """How one metric reads.

    Args:
        name: its name in `results.json` and on the command line (`test_<name>` per member).
        label: how a sentence names it ("balanced accuracy", "RMSE").
        higher_is_better: False for errors and the loss, whose fall is the gain.
        low: the smallest value it can take, or None. high: the largest, or None.
        percent: shown as a percentage, its differences in points.

    Example:
        >>> METRICS["accuracy"].value(0.9312), METRICS["accuracy"].change(0.012)
        ('93.1%', '+1.2 points')
        >>> METRICS["rmse"].value(54.31), METRICS["rmse"].change(-1.234), METRICS["rmse"].gain(-1.234)
        ('54.3', '-1.23', 1.234)
    """

    name: str
    label: str
    higher_is_better: bool
    low: float | None
    high: float | None
    percent: bool

    @property
    def scale(self) -> tuple[float | None, float | None]:
        """Its range, to cut intervals to."""
        return self.low, self.high

    @property
    def difference_scale(self) -> tuple[float | None, float | None]:
        """The range of a difference of two values: `±(high - low)` where both are bounded."""
        if self.low is None or self.high is None:
            return None, None
        return self.low - self.high, self.high - self.low

    def gain(self, difference: float) -> float:
        """A difference (arm minus baseline) turned so that positive is better."""
        return difference if self.higher_is_better else -difference

    def value(self, v: float) -> str:
        if v is None or not np.isfinite(v):
            return "n/a"
        return f"{v:.1%}" if self.percent else _figure(v)

    def change(self, d: float, unit: bool = True) -> str:
        """A difference with its sign: `+1.2 points`, or `-1.23` for a metric in its own units."""
        if d is None or not np.isfinite(d):
            return "n/a"
        if self.percent:
            shown = f"{d * 100:+.1f}"
            shown = "+0.0" if shown == "-0.0" else shown
            return f"{shown} points" if unit else shown
        return _figure(d, signed=True)


def _figure(v: float, signed: bool = False) -> str:
    """Three significant figures, never in exponent form for ordinary sizes, never `-0`."""
    if v == 0:
        return "+0" if signed else "0"
    digits = max(0, 2 - int(np.floor(np.log10(abs(v)))))
    shown = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    return shown


METRICS = {m.name: m for m in (
    Metric("accuracy", "accuracy", True, 0.0, 1.0, True),
    Metric("balanced_accuracy", "balanced accuracy", True, 0.0, 1.0, True),
    Metric("macro_f1", "macro F1", True, 0.0, 1.0, True),
    Metric("loss", "loss", False, 0.0, None, False),
    Metric("rmse", "RMSE", False, 0.0, None, False),
    Metric("mae", "MAE", False, 0.0, None, False),
    Metric("r2", "R²", True, None, 1.0, False),
)}
TASK_METRICS = {"classification": ("accuracy", "balanced_accuracy", "macro_f1", "loss"),
                "regression": ("rmse", "mae", "r2", "loss")}
# a history's secondary signals beside its loss, in the order a history looks for them: their direction
# (True: higher is better) and their words, read from the metrics above (`goodfit.history` re-exports both)
SCORES = {name: METRICS[name].higher_is_better for name in ("accuracy", "r2", "rmse", "mae")}
SCORE_WORDS = {name: METRICS[name].label for name in SCORES}


def metric_for(name: str, task: str) -> Metric:
    """The metric `name`, refused with the right choices when it does not belong to `task`.

    Example:
        >>> metric_for("r2", "regression").label
        'R²'
        >>> metric_for("accuracy", "regression")
        Traceback (most recent call last):
        goodfit.errors.GoodfitError: metric 'accuracy' does not apply to regression; use --metric rmse, mae, r2 or loss
    """
    choices = TASK_METRICS[task]
    if name not in choices:
        spelled = ", ".join(choices[:-1]) + f" or {choices[-1]}"
        where = "does not apply to" if name in METRICS else "is unknown for"
        raise GoodfitError(f"metric {name!r} {where} {task}; use --metric {spelled}")
    return METRICS[name]


def default_metric(task: str, class_counts: list[int] | None = None) -> tuple[str, str]:
    """The metric a study judges by when none is asked, and why.

    Example:
        >>> default_metric("classification", [100, 90, 20])
        ('balanced_accuracy', 'the smallest class has 20% of the largest class’s samples (under a third)')
        >>> default_metric("classification", [50, 50])[0], default_metric("regression")[0]
        ('accuracy', 'rmse')
    """
    if task == "regression":
        return "rmse", "a numeric target"
    counts = [c for c in (class_counts or []) if c > 0]
    if counts and min(counts) < IMBALANCED * max(counts):
        return ("balanced_accuracy", f"the smallest class has {min(counts) / max(counts):.0%} of the largest "
                                     "class’s samples (under a third)")
    return "accuracy", "balanced classes"
