"""The history table: one row per member and epoch, the common language of engine and diagnosis.

Its metric columns, the secondary scores beside the loss and their words, and `History`; no files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.metrics import SCORE_WORDS, SCORES  # the secondary signals' direction and words

METRICS = (
    "train_loss",      # the training loss (cross-entropy, or the regression loss on standardized targets) on a
                       # fixed training subset, eval mode (no dropout, no augmentation)
    "train_accuracy",  # accuracy on that subset, eval mode, as a fraction
    "val_loss",
    "val_accuracy",
    "running_loss",    # mean minibatch loss while training, with dropout and augmentation active
    "test_loss",       # filled once, on the last epoch row, after best weights were restored
    "test_accuracy",
    # regression: errors in the target's own units, and R² (1 - squared error / variance of the targets)
    "train_rmse", "val_rmse", "test_rmse",
    "train_mae", "val_mae", "test_mae",
    "train_r2", "val_r2", "test_r2",
)
RATE = "lr"  # the learning rate the epoch began with (a schedule's, the first parameter group's), as Keras'
             # CSVLogger and Lightning's LearningRateMonitor log it: what ran, never judged
COLUMNS = ("member", "epoch") + METRICS + (RATE,)


@dataclass
class History:
    """Per-epoch metrics of one or more members.

    Args:
        frame: a DataFrame with `member` and 1-based `epoch` columns and any of `METRICS`;
            a metric a source did not log is absent or NaN.
        num_classes: number of classes, for chance level; None when unknown.
        source: where it came from (a path, or `goodfit`).
        format: which program wrote it, one of `FORMATS`. Default `goodfit`.
        read: the name each metric was read from in the source, e.g. `{"val_loss": "eval/loss"}`.
            Default: the metric names themselves.
        notes: what the reader did that the diagnosis should say (steps grouped into epochs).
        warnings: what the reader found wrong but could read past (a cell that is not a number).

    Example:
        >>> h = History(pd.DataFrame({"member": [0, 0], "epoch": [1, 2], "val_loss": [0.9, 0.7]}))
        >>> h.epochs, h.has("val_loss"), h.has("train_loss")
        (2, True, False)
    """

    frame: pd.DataFrame
    num_classes: int | None = None
    source: str = "goodfit"
    format: str = "goodfit"
    read: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        missing = {"member", "epoch"} - set(self.frame.columns)
        if missing:
            raise GoodfitError(f"history from {self.source} lacks column(s) {', '.join(sorted(missing))}")
        metrics = [c for c in METRICS if c in self.frame.columns]
        if not metrics:
            raise GoodfitError(f"history from {self.source} has no metric columns; expected some of {', '.join(METRICS)}")
        kept = metrics + ([RATE] if RATE in self.frame.columns else [])
        self.frame = self.frame[["member", "epoch"] + kept].sort_values(["member", "epoch"]).reset_index(drop=True)

    @property
    def members(self) -> list[int]:
        return sorted(int(m) for m in self.frame["member"].unique())

    @property
    def epochs(self) -> int:
        return int(self.frame["epoch"].max()) if len(self.frame) else 0

    def has(self, metric: str) -> bool:
        return metric in self.frame.columns and bool(self.frame[metric].notna().any())

    @property
    def score(self) -> str | None:
        """The secondary signal beside the loss, a key of `SCORES`: accuracy when logged, else the first of
        R², RMSE and MAE logged, on validation before training; None when only losses were logged.

        Example:
            >>> History(pd.DataFrame({"member": 0, "epoch": [1, 2], "val_loss": [0.9, 0.7], "val_mae": [0.5, 0.4]})).score
            'mae'
        """
        return next((kind for split in ("val", "train") for kind in SCORES if self.has(f"{split}_{kind}")), None)

    def member(self, m: int) -> "History":
        """The history of one member."""
        return History(self.frame[self.frame["member"] == m].copy(), self.num_classes, self.source, self.format,
                       self.read, self.notes, self.warnings)

    def curve(self, metric: str, member: int | None = None) -> np.ndarray:
        """The metric over epochs for one member (the first if None), NaN where not logged."""
        m = self.members[0] if member is None else member
        rows = self.frame[self.frame["member"] == m]
        return rows[metric].to_numpy(dtype=float) if metric in rows else np.full(len(rows), np.nan)

    def to_csv(self, path: str | Path) -> None:
        """Write the canonical CSV: one row per member and epoch, columns in `COLUMNS` order."""
        self.frame.to_csv(path, index=False, float_format="%.6g")
