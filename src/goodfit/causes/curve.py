"""Small data: a learning curve over shares of the training rows (several seeds each, one population per
size), a power law fitted to its error, and the metric it expects at twice and four times the data.

The error is fitted as `a * n ** -b`, a straight line in log-log, on every member's point: one minus
the metric where higher is better and 1 the best (accuracy, balanced accuracy, macro F1, R²), the metric
itself where lower is better (RMSE, MAE: their curve falls, and what more data adds is a fall). Every point is measured on the same held-out rows, so their own sampling error moves
the whole curve at once and never shows in the seeds' scatter. Two intervals follow:
- what doubling *adds* (`gain_2x`, the small-data cause) compares the fit with the largest size on
  those same rows, so their error cancels: the line's 90% interval for the mean, which widens with the
  scatter of the seeds and the distance from the sizes measured;
- what the metric *is* at 2x and 4x (`interval_2x`, `interval_4x`, the band of the figure) adds that
  shared error (at the largest size on `held_out` rows, in log: a binomial proportion for a share; for a
  numeric target as if the errors were normal, `1 / (2n)` for RMSE, `(pi/2 - 1) / n` for MAE, `2 / n` for R²):
  an interval for the metric on new rows, which a measurement with that much data should fall in.
Each measured size carries the 90% t-interval of its seeds' mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from goodfit.metrics import METRICS
from goodfit.stats import mean_ci

FRACTIONS = (0.125, 0.25, 0.5, 1.0)
LEVEL = 0.9
SHARED = {"rmse": 0.5, "mae": np.pi / 2 - 1, "r2": 2.0}  # n times the variance of the log error on n rows (normal)


def errors(values, metric: str, held_out: int = 0) -> np.ndarray:
    """What the power law is fitted to: one minus `values` where higher is better, else `values` themselves;
    floored at half a held-out row for a share (`0.5 / held_out`), else at 0.0001 (a perfect score has no log).

    Example:
        >>> errors([0.9, 1.0], "accuracy", held_out=50).tolist(), errors([2.5], "rmse").tolist()
        ([0.09999999999999998, 0.01], [2.5])
    """
    m = METRICS[metric]
    error = 1 - np.asarray(values, float) if m.higher_is_better else np.asarray(values, float)
    return np.clip(error, 0.5 / held_out if held_out and m.percent else 1e-4, None)


def _metric(error: float, metric: str) -> float:
    return 1 - error if METRICS[metric].higher_is_better else error


@dataclass(frozen=True)
class Curve:
    """A learning curve and what its fit expects further on.

    Attributes:
        sizes: training rows of each point.
        metric: each point's metric, the mean over its seeds.
        low, high: its 90% interval over the seeds (the mean itself with one seed).
        points: every member's `(size, metric)`.
        held_out: the rows every point was measured on (0: unknown, their sampling error left out).
        at_2x, at_4x: the metric expected with twice and four times the largest size.
        interval_2x, interval_4x: their 90% intervals on new rows.
        exponent: `b` of `error = a * n ** -b`.
        metric_name: the metric (`goodfit.metrics.METRICS`); its direction says what the error is. Default accuracy.
    """

    sizes: list[int]
    metric: list[float]
    low: list[float]
    high: list[float]
    points: list[tuple[int, float]]
    held_out: int
    at_2x: float
    at_4x: float
    interval_2x: tuple[float, float]
    interval_4x: tuple[float, float]
    exponent: float
    metric_name: str = "accuracy"

    def expected(self, size: float) -> tuple[float, float, float]:
        """The metric expected at `size` rows, with its 90% interval on new rows (recomputed from the points)."""
        return expect(self.points, size, self.held_out, metric=self.metric_name)

    @property
    def gain_2x(self) -> tuple[float, float, float]:
        """What doubling adds to the metric at the largest size measured, with its interval (on the same rows):
        negative for an error that falls (RMSE, MAE)."""
        last = self.metric[-1]
        return tuple(v - last for v in expect(self.points, 2 * self.sizes[-1], self.held_out, shared=False,
                                              metric=self.metric_name))

    def band(self, steps: int = 25) -> dict[str, list[float]]:
        """The fitted curve and its 90% interval on new rows at `steps` sizes spaced evenly in log from the
        smallest size measured to four times the largest: `{"sizes", "metric", "low", "high"}`, for a figure."""
        sizes = np.geomspace(self.sizes[0], 4 * self.sizes[-1], steps)
        mid, low, high = zip(*(self.expected(n) for n in sizes))
        return {"sizes": [round(float(n), 1) for n in sizes], "metric": list(mid), "low": list(low), "high": list(high)}


def expect(points: list[tuple[int, float]], size: float, held_out: int = 0, shared: bool = True,
           metric: str = "accuracy") -> tuple[float, float, float]:
    """The metric at `size` expected by the power law through `points`, with its 90% interval.

    A share's error is counted as at least half a held-out row (`0.5 / held_out`): no error on `held_out` rows
    says only that it is below about one row in `held_out`, and the log of a smaller floor would pull the
    line wherever a point scored every row.

    Args:
        points: every member's `(training rows, metric)`.
        size: the training rows to expect the metric at.
        held_out: the rows every point was measured on (0: unknown, errors floored at 0.0001). Default 0.
        shared: with `held_out`, the interval also holds those rows' own sampling error, shared by every
            point (the interval for the metric on new rows); False leaves it out (for a difference
            measured on those same rows). Default True.
        metric: the metric of the points (`goodfit.metrics.METRICS`). Default accuracy.

    Returns:
        The metric expected, and the low and high ends of its interval (low <= high, whichever way is better).

    Example:
        >>> pts = [(n, 1 - 2 * n ** -0.5) for n in (100, 200, 400, 800)]
        >>> [round(v, 4) for v in expect(pts, 1600)]
        [0.95, 0.95, 0.95]
        >>> [round(v, 3) for v in expect(pts, 1600, held_out=200)]
        [0.95, 0.924, 0.967]
        >>> [round(v, 2) for v in expect([(n, 20 * n ** -0.5) for n in (100, 200, 400)], 1600, 200, metric="rmse")]
        [0.5, 0.46, 0.54]
    """
    n = np.array([p[0] for p in points], float)
    error = errors([p[1] for p in points], metric, held_out)
    x, z = np.log(n), np.log(error)
    slope, intercept = np.polyfit(x, z, 1)
    residual = z - (intercept + slope * x)
    dof = max(len(x) - 2, 1)
    s = np.sqrt((residual ** 2).sum() / dof)
    x0 = np.log(size)
    line = s ** 2 * (1 / len(x) + (x0 - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    rows = 0.0
    if held_out and shared and METRICS[metric].percent:
        last = float(np.mean(error[n == n.max()]))  # the shared error's size, where the curve is measured last
        rows = (1 - last) / (last * held_out)  # binomial, in log: var(e) / e**2, a known variance
    elif held_out and shared:
        rows = SHARED[metric] / held_out
    t, q = stats.t.ppf(0.5 + LEVEL / 2, dof), stats.norm.ppf(0.5 + LEVEL / 2)
    mid, spread = intercept + slope * x0, np.sqrt(t ** 2 * line + q ** 2 * rows)
    ends = sorted(_metric(float(np.exp(mid + d)), metric) for d in (-spread, spread))
    low = max(0.0, ends[0]) if METRICS[metric].percent else ends[0]
    return _metric(float(np.exp(mid)), metric), low, ends[1]


def fitted_curve(points: list[tuple[int, float]], held_out: int = 0, metric: str = "accuracy") -> Curve:
    """The curve of `points` (every member's size and `metric`, all measured on the same `held_out` rows)
    with its expectations at 2x and 4x."""
    sizes = sorted({p[0] for p in points})
    means, lows, highs = [], [], []
    for size in sizes:
        ci = mean_ci([m for n, m in points if n == size], level=LEVEL, scale=METRICS[metric].scale)
        means.append(ci.mean)
        lows.append(ci.mean if ci.low is None else ci.low)
        highs.append(ci.mean if ci.high is None else ci.high)
    at2, at4 = (expect(points, k * sizes[-1], held_out, metric=metric) for k in (2, 4))
    n = np.log([p[0] for p in points])
    exponent = -float(np.polyfit(n, np.log(errors([p[1] for p in points], metric, held_out)), 1)[0])
    return Curve(sizes, means, lows, highs, points, int(held_out), at2[0], at4[0], (at2[1], at2[2]), (at4[1], at4[2]),
                 exponent, metric)
