"""Corrupted targets (a numeric target): out-of-fold predictions from K folds x seeds trained as one
population, each row's distance from them in robust units, the rows most likely wrong and how many there are.

Each member's prediction is taken at its epoch of lowest held-out squared error (after it, it begins to
learn the wrong targets by heart). A row's residual is its target minus the mean of its out-of-fold
predictions; its score is that residual over the residuals' robust scale (1.4826 times their median
absolute deviation: the standard deviation where they are normal, untouched by the corrupted few), so a
score of 3 is three standard deviations of an ordinary row's error. Rows scored over `CUTOFF` are judged
corrupted. Clean rows pass it too, by chance, about `chance(CUTOFF)` of them where ordinary errors are normal:
the count of corrupted targets is the rows over it less that expectation, with a bootstrap interval over rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from goodfit.causes.members import Trained

CUTOFF = 3.0  # robust standard deviations from the out-of-fold prediction: a target judged corrupted
MAD_SCALE = 1.4826  # the median absolute deviation of a normal sample, times this, is its standard deviation
LEVEL = 0.9


@dataclass(frozen=True)
class TargetScores:
    """Every row's evidence, in row order, and which rows are judged corrupted.

    Attributes:
        given: the target as given `(N,)`, in its own units (and type: float32 as a data set holds it).
        likely: the mean out-of-fold prediction `(N,)`, the value the other rows suggest.
        spread: the standard deviation of the row's out-of-fold predictions over seeds `(N,)`.
        score: `|given - likely|` over the residuals' robust scale `(N,)`; higher is more likely corrupted.
        flagged: rows scored over `CUTOFF`, best first.
        scale: the residuals' robust scale, in the target's units.
        count: the estimated number of corrupted targets: rows over `CUTOFF` less those chance puts there.
        interval: its 90% bootstrap interval over rows.
    """

    given: np.ndarray
    likely: np.ndarray
    spread: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    scale: float
    count: float
    interval: tuple[float, float]

    @property
    def share(self) -> float:
        """The estimated share of corrupted targets."""
        return self.count / len(self.given)

    @property
    def share_interval(self) -> tuple[float, float]:
        return self.interval[0] / len(self.given), self.interval[1] / len(self.given)


def chance(cutoff: float = CUTOFF) -> float:
    """The share of normal errors further than `cutoff` standard deviations from zero.

    Example:
        >>> round(chance(3.0), 4)
        0.0027
    """
    return float(2 * stats.norm.sf(cutoff))


def robust_scale(residual: np.ndarray) -> float:
    """1.4826 times the median absolute deviation: a standard deviation that a few wild values leave alone.

    Example:
        >>> r = np.random.default_rng(0).normal(0, 2.0, 10_000)
        >>> r[:500] = 100.0  # 5% wild
        >>> round(robust_scale(r), 1)
        2.1
    """
    deviation = np.abs(residual - np.median(residual))
    return float(MAD_SCALE * np.median(deviation)) or float(deviation.mean()) or 1.0  # most rows exact: the mean


def corrupted_count(residual: np.ndarray, cutoff: float = CUTOFF) -> float:
    """Rows further than `cutoff` robust scales from zero, less the share of them chance alone would put there.

    Example:
        >>> r = np.random.default_rng(0).normal(0, 1.0, 2000)
        >>> r[:100] += 10.0
        >>> round(corrupted_count(r), -1)  # the 100 moved, less a few the moved ones widen the scale over
        100.0
    """
    over = float((np.abs(residual) > cutoff * robust_scale(residual)).sum())
    p = chance(cutoff)
    return max(0.0, (over - p * len(residual)) / (1 - p))  # the clean rows are N - count, not N


def count_interval(residual: np.ndarray, resamples: int = 200, seed: int = 0) -> tuple[float, float]:
    """The 90% bootstrap interval of `corrupted_count`, over rows drawn again with replacement."""
    rng = np.random.default_rng(seed)
    n = len(residual)
    draws = [corrupted_count(residual[rng.integers(0, n, n)]) for _ in range(resamples)]
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high)


def best_epochs(trained: Trained, y: np.ndarray) -> list[int]:
    """Each member's epoch (1-based) of lowest squared error on its held-out rows, by its recorded outputs
    (standardized, as `y` is by `trained.target_mean` and `trained.target_std`)."""
    target = (y - trained.target_mean) / trained.target_std
    best = []
    for part, out in zip(trained.parts, trained.outputs):
        error = (out[:, part.held_out, 0] - target[part.held_out][None]) ** 2  # (E, n)
        best.append(int(np.argmin(error.mean(1))) + 1)
    return best


def target_scores(trained: Trained, y: np.ndarray) -> TargetScores:
    """Score every row from a population of folds x seeds (recorded), and judge the furthest as corrupted.

    Example:
        >>> from goodfit.causes.members import Part
        >>> y = np.array([0.1, 0.8, 2.2, 2.9, 40.0])  # the last target is wild; the members predict 0, 1, 2, 3, 4
        >>> out = np.arange(5.0)[None, :, None]  # (epochs, N, 1), standardized with mean 0 and std 1
        >>> t = Trained([Part(np.arange(5), np.arange(5))], [], None, [out])
        >>> s = target_scores(t, y)
        >>> s.flagged.tolist(), float(s.likely[4])
        ([4], 4.0)
    """
    N = len(y)
    total, seen = np.zeros(N), np.zeros(N)
    squares = np.zeros(N)
    for part, out, best in zip(trained.parts, trained.outputs, best_epochs(trained, y)):
        value = trained.target_mean + trained.target_std * out[best - 1, part.held_out, 0]  # the target's units
        total[part.held_out] += value
        squares[part.held_out] += value ** 2
        seen[part.held_out] += 1
    likely = total / np.maximum(seen, 1)
    spread = np.sqrt(np.maximum(squares / np.maximum(seen, 1) - likely ** 2, 0.0))
    residual = np.asarray(y, float) - likely
    scale = robust_scale(residual)
    score = np.abs(residual) / scale
    order = np.argsort(-score, kind="stable")
    flagged = order[score[order] > CUTOFF]
    count = corrupted_count(residual)
    return TargetScores(np.asarray(y), likely, spread, score, flagged, scale, count, count_interval(residual))
