"""What `goodfit causes` found, as numbers and sentences: each `Cause` with its evidence and remedies, and the
`CausesResult` (`--json`'s shape, every row's scores as a table, rows named as the user's file names them);
`planted_noise` meets the rows judged mislabeled with the rows a study's label noise replaced.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from goodfit.causes.curve import Curve
from goodfit.causes.imbalance import ClassRow
from goodfit.causes.labels import LabelScores
from goodfit.causes.shift import Shift
from goodfit.causes.targets import CUTOFF, TargetScores


@dataclass(frozen=True)
class Cause:
    """One cause found: its name (one of `NAMES`), a sentence of evidence with numbers, the remedies
    that answer it, and `points`, how much it explains (points of the metric at stake), to order by."""

    name: str
    evidence: str
    remedies: list[str]
    points: float

    def to_dict(self) -> dict:
        return {"name": self.name, "evidence": self.evidence, "remedies": list(self.remedies),
                "points": round(self.points, 2)}


@dataclass
class CausesResult:
    """What `Causes.run` found. `to_dict()` is the `--json` shape; `label_table()` every row's label (or target)
    scores. `labels` is a `TargetScores` for a numeric target; `row_numbers` and `test_row_numbers` name each
    row as the user's file does (None: their positions)."""

    causes: list[Cause]
    labels: LabelScores | TargetScores
    classes: list[ClassRow]
    class_names: tuple[str, ...]
    curve: Curve
    metric: str
    capacity: dict
    shift: Shift | None
    notes: list[str]
    rows: int
    seconds: float = 0.0
    data: str = ""
    checked: list[str] = field(default_factory=list)
    row_numbers: np.ndarray | None = None
    test_row_numbers: np.ndarray | None = None

    @property
    def regression(self) -> bool:
        return isinstance(self.labels, TargetScores)

    @property
    def table_name(self) -> str:
        """The file `label_table()` is written to: `target_scores.csv` for a numeric target, else `label_scores.csv`."""
        return "target_scores.csv" if self.regression else "label_scores.csv"

    def file_row(self, r: int) -> int:
        """Row `r` of the data checked as the user's file numbers it (0-based data rows)."""
        return int(r if self.row_numbers is None else self.row_numbers[r])

    def test_file_row(self, r: int) -> int:
        """Test row `r` (0-based in the test rows checked) as the user's file numbers it."""
        return int(r if self.test_row_numbers is None else self.test_row_numbers[r])

    def label_issues(self) -> list[dict]:
        """The rows judged mislabeled (or whose target looks corrupted), best first: file row, given and likely
        label (or value), score."""
        s = self.labels
        if self.regression:
            return [{"row": self.file_row(r), "given": float(f"{s.given[r]:.7g}"), "likely": float(f"{s.likely[r]:.7g}"),
                     "score": round(float(s.score[r]), 4)} for r in s.flagged]
        names = self.class_names
        return [{"row": self.file_row(r), "given": names[s.given[r]], "likely": names[s.likely[r]],
                 "score": round(float(s.score[r]), 4)} for r in s.flagged]

    def label_table(self) -> pd.DataFrame:
        """Every row's evidence, most likely mislabeled (or corrupted) first, with `flagged` for those judged so;
        `row` is the file's row (0-based data rows)."""
        s = self.labels
        flagged = np.zeros(len(s.given), bool)
        flagged[s.flagged] = True
        rows = np.arange(len(s.given)) if self.row_numbers is None else np.asarray(self.row_numbers)
        if self.regression:
            table = pd.DataFrame({"row": rows, "given": s.given, "likely": s.likely.round(6),
                                  "residual": (s.given - s.likely).round(6), "score": s.score.round(4),
                                  "spread": s.spread.round(6), "flagged": flagged})
        else:
            names = np.array(self.class_names, dtype=object)
            table = pd.DataFrame({"row": rows, "given": names[s.given], "likely": names[s.likely],
                                  "score": s.score.round(4), "self_confidence": s.self_confidence.round(4),
                                  "margin": s.margin.round(4), "flagged": flagged})
        return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict:
        c = self.curve
        out = {
            "causes": [cause.to_dict() for cause in self.causes],
            "task": "regression" if self.regression else "classification",
            "rows_are": "file rows, 0-based (the first data row, after a header, is row 0)",
            "target_issues" if self.regression else "label_issues": self.label_issues(),
            "classes": [{"class": r.name, "share": round(r.share, 4), "recall": round(r.recall, 4), "rows": r.count}
                        for r in self.classes],
            "learning_curve": {"sizes": c.sizes, "metric": _rounded(c.metric), "metric_name": self.metric,
                               "low": _rounded(c.low), "high": _rounded(c.high),
                               "points": [[n, round(m, 4)] for n, m in c.points],
                               "at_2x": round(c.at_2x, 4), "at_4x": round(c.at_4x, 4),
                               "interval_2x": _rounded(c.interval_2x), "interval_4x": _rounded(c.interval_4x),
                               "gain_2x": _rounded(c.gain_2x), "held_out": c.held_out,
                               "fit": {k: v if k == "sizes" else _rounded(v) for k, v in c.band().items()}},
            **self._share(),
            "capacity": self.capacity,
            "checked": self.checked,
            "notes": self.notes,
            "rows": self.rows,
            "data": self.data,
            "seconds": round(self.seconds, 1),
        }
        if self.shift is not None:
            out["shift"] = {"auc": round(self.shift.auc, 4), "interval": [round(v, 4) for v in self.shift.interval],
                            "unlike_training": [{"test_row": self.test_file_row(r), "p_test": round(p, 4)}
                                                for r, p in self.shift.unlike]}
        return out

    def _share(self) -> dict:
        s = self.labels
        if not self.regression:
            return {"estimated_noise_share": round(s.share, 4), "noise_share_interval": _rounded(s.share_interval)}
        return {"estimated_corrupted_share": round(s.share, 4), "corrupted_share_interval": _rounded(s.share_interval),
                "corrupted_count": round(s.count, 1), "corrupted_count_interval": [round(v, 1) for v in s.interval],
                "residual_scale": round(s.scale, 6), "cutoff": CUTOFF}


def _rounded(values) -> list[float]:
    return [round(float(v), 4) for v in values]


def _points(value: float) -> str:
    return f"{value:+.1f}"


def planted_noise(found: "CausesResult", noisy: np.ndarray) -> dict | None:
    """How the rows judged mislabeled meet the rows whose label goodfit's own label noise replaced (`noisy`,
    `Splits.noisy`): how many of each, both, precision and recall; None when no label was replaced.

    Example:
        >>> s = LabelScores(*[np.zeros(4, int)] * 6, flagged=np.array([0, 1]))
        >>> r = CausesResult([], s, [], (), None, "accuracy", {}, None, [], 4)
        >>> planted_noise(r, np.array([True, False, True, False]))
        {'replaced': 2, 'flagged': 2, 'both': 1, 'precision': 0.5, 'recall': 0.5}
    """
    if not noisy.any():
        return None
    flagged = np.zeros(len(noisy), bool)
    flagged[found.labels.flagged] = True
    both = int((flagged & noisy).sum())
    return {"replaced": int(noisy.sum()), "flagged": int(flagged.sum()), "both": both,
            "precision": round(both / max(int(flagged.sum()), 1), 4), "recall": round(both / int(noisy.sum()), 4)}
