"""Imbalance: each class's share of the rows and its recall out of fold; the classes cut to under a third
of the largest, and how far their recall falls below the other classes'.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goodfit.metrics import IMBALANCED


@dataclass(frozen=True)
class ClassRow:
    name: str
    count: int
    share: float
    recall: float
    cut: bool  # under `IMBALANCED` of the largest class's rows


def class_rows(y: np.ndarray, predicted: np.ndarray, names: tuple[str, ...]) -> list[ClassRow]:
    """Per class its rows, share, recall (predictions against the labels given) and whether it is cut.

    Example:
        >>> rows = class_rows(np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, 0, 0]), ("a", "b"))
        >>> [(r.name, r.share, r.recall, r.cut) for r in rows]
        [('a', 0.8, 1.0, False), ('b', 0.2, 0.0, True)]
    """
    counts = np.bincount(y, minlength=len(names))
    rows = []
    for c, name in enumerate(names):
        hits = int(((predicted == c) & (y == c)).sum())
        rows.append(ClassRow(name, int(counts[c]), float(counts[c] / len(y)), float(hits / max(counts[c], 1)),
                             bool(counts[c] < IMBALANCED * counts.max())))
    return rows


def neglect(rows: list[ClassRow]) -> dict[str, float]:
    """Per cut class, how many points of recall it has below the mean recall of the classes not cut."""
    whole = [r.recall for r in rows if not r.cut]
    if not whole:
        return {}
    base = float(np.mean(whole))
    return {r.name: 100 * (base - r.recall) for r in rows if r.cut}
