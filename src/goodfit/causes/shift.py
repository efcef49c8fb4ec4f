"""Shift: how far the test rows lie from the training rows, as the AUC of a classifier trained (folds x
seeds, one population) to tell them apart, with a bootstrap interval; the test rows it finds least like
training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shift:
    """Attributes: the out-of-fold AUC and its 90% interval; test rows (0-based in the test set) by how
    sure the classifier is that they are test rows, most first, with that probability."""

    auc: float
    interval: tuple[float, float]
    unlike: list[tuple[int, float]]


def auc(is_test: np.ndarray, p_test: np.ndarray) -> float:
    """The area under the ROC curve, by ranks (ties count half).

    Example:
        >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
        0.75
    """
    from scipy.stats import rankdata

    ranks = rankdata(p_test)
    positive = is_test.astype(bool)
    n1, n0 = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def shift_of(is_test: np.ndarray, p_test: np.ndarray, top: int = 10, resamples: int = 200) -> Shift:
    """The AUC of out-of-fold probabilities `p_test` for rows labelled `is_test`, with its interval."""
    rng = np.random.default_rng(0)
    test_rows, train_rows = np.flatnonzero(is_test), np.flatnonzero(~is_test.astype(bool))
    draws = []
    for _ in range(resamples):  # each side resampled on its own, so both stay present
        pick = np.concatenate([rng.choice(train_rows, len(train_rows)), rng.choice(test_rows, len(test_rows))])
        draws.append(auc(is_test[pick], p_test[pick]))
    low, high = np.quantile(draws, [0.05, 0.95])
    order = test_rows[np.argsort(-p_test[test_rows], kind="stable")][:top]
    first = test_rows.min()
    return Shift(auc(is_test, p_test), (float(low), float(high)), [(int(r - first), float(p_test[r])) for r in order])
