"""The history table: one row per member and epoch, the common language of engine and diagnosis.

Here are its columns, its CSV form and its readers; it knows nothing of training.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError

METRICS = (
    "train_loss",      # cross-entropy on a fixed training subset, eval mode (no dropout, no augmentation)
    "train_accuracy",  # accuracy on that subset, eval mode, as a fraction
    "val_loss",
    "val_accuracy",
    "running_loss",    # mean minibatch loss while training, with dropout and augmentation active
    "test_loss",       # filled once, on the last epoch row, after best weights were restored
    "test_accuracy",
)
COLUMNS = ("member", "epoch") + METRICS


@dataclass
class History:
    """Per-epoch metrics of one or more members.

    Args:
        frame: a DataFrame with `member` and 1-based `epoch` columns and any of `METRICS`;
            a metric a source did not log is absent or NaN.
        num_classes: number of classes, for chance level; None when unknown.
        source: where it came from (a path, or `goodfit`).

    Example:
        >>> h = History(pd.DataFrame({"member": [0, 0], "epoch": [1, 2], "val_loss": [0.9, 0.7]}))
        >>> h.epochs, h.has("val_loss"), h.has("train_loss")
        (2, True, False)
    """

    frame: pd.DataFrame
    num_classes: int | None = None
    source: str = "goodfit"

    def __post_init__(self):
        missing = {"member", "epoch"} - set(self.frame.columns)
        if missing:
            raise GoodfitError(f"history from {self.source} lacks column(s) {', '.join(sorted(missing))}")
        metrics = [c for c in METRICS if c in self.frame.columns]
        if not metrics:
            raise GoodfitError(f"history from {self.source} has no metric columns; expected some of {', '.join(METRICS)}")
        self.frame = self.frame[["member", "epoch"] + metrics].sort_values(["member", "epoch"]).reset_index(drop=True)

    @property
    def members(self) -> list[int]:
        return sorted(int(m) for m in self.frame["member"].unique())

    @property
    def epochs(self) -> int:
        return int(self.frame["epoch"].max()) if len(self.frame) else 0

    def has(self, metric: str) -> bool:
        return metric in self.frame.columns and bool(self.frame[metric].notna().any())

    def member(self, m: int) -> "History":
        """The history of one member."""
        return History(self.frame[self.frame["member"] == m].copy(), self.num_classes, self.source)

    def curve(self, metric: str, member: int | None = None) -> np.ndarray:
        """The metric over epochs for one member (the first if None), NaN where not logged."""
        m = self.members[0] if member is None else member
        rows = self.frame[self.frame["member"] == m]
        return rows[metric].to_numpy(dtype=float) if metric in rows else np.full(len(rows), np.nan)

    def to_csv(self, path: str | Path) -> None:
        """Write the canonical CSV: one row per member and epoch, columns in `COLUMNS` order."""
        self.frame.to_csv(path, index=False, float_format="%.6g")


def read_goodfit_csv(path: str | Path, num_classes: int | None = None) -> History:
    """Read a history CSV written by `History.to_csv`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "h.csv")
        >>> History(pd.DataFrame({"member": [0], "epoch": [1], "val_loss": [0.5]})).to_csv(p)
        >>> read_goodfit_csv(p).curve("val_loss").tolist()
        [0.5]
    """
    frame = pd.read_csv(path)
    return History(frame, num_classes, str(path))
