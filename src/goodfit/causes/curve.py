"""Small data: a learning curve over shares of the training rows (several seeds each, one population per
size), a power law fitted to its error, and the metric it expects at twice and four times the data.

The error (one minus the metric) is fitted as `a * n ** -b`, a straight line in log-log, on every
member's point; the interval at a new size is the line's 90% prediction interval for the mean there,
which widens with the scatter of the seeds and the distance from the sizes measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

FRACTIONS = (0.125, 0.25, 0.5, 1.0)
LEVEL = 0.9


@dataclass(frozen=True)
class Curve:
    """A learning curve and what its fit expects further on.

    Attributes:
        sizes: training rows of each point.
        metric: each point's metric, the mean over its seeds.
        points: every member's `(size, metric)`.
        at_2x, at_4x: the metric expected with twice and four times the largest size.
        interval_2x, interval_4x: their 90% intervals.
        exponent: `b` of `error = a * n ** -b`.
    """

    sizes: list[int]
    metric: list[float]
    points: list[tuple[int, float]]
    at_2x: float
    at_4x: float
    interval_2x: tuple[float, float]
    interval_4x: tuple[float, float]
    exponent: float

    def expected(self, size: float) -> tuple[float, float, float]:
        """The metric expected at `size` rows, with its interval (recomputed from the points)."""
        return expect(self.points, size)

    @property
    def gain_2x(self) -> tuple[float, float, float]:
        """What doubling adds to the metric at the largest size measured, with its interval."""
        last = self.metric[-1]
        return self.at_2x - last, self.interval_2x[0] - last, self.interval_2x[1] - last


def expect(points: list[tuple[int, float]], size: float) -> tuple[float, float, float]:
    """The metric at `size` expected by the power law through `points`, with its 90% interval.

    Example:
        >>> pts = [(n, 1 - 2 * n ** -0.5) for n in (100, 200, 400, 800)]
        >>> [round(v, 4) for v in expect(pts, 1600)]
        [0.95, 0.95, 0.95]
    """
    n = np.array([p[0] for p in points], float)
    error = np.clip(1 - np.array([p[1] for p in points], float), 1e-4, None)
    x, z = np.log(n), np.log(error)
    slope, intercept = np.polyfit(x, z, 1)
    residual = z - (intercept + slope * x)
    dof = max(len(x) - 2, 1)
    s = np.sqrt((residual ** 2).sum() / dof)
    x0 = np.log(size)
    se = s * np.sqrt(1 / len(x) + (x0 - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    t = stats.t.ppf(0.5 + LEVEL / 2, dof)
    mid = intercept + slope * x0
    return 1 - float(np.exp(mid)), 1 - float(np.exp(mid + t * se)), 1 - float(np.exp(mid - t * se))


def fitted_curve(points: list[tuple[int, float]]) -> Curve:
    """The curve of `points` (every member's size and metric) with its expectations at 2x and 4x."""
    sizes = sorted({p[0] for p in points})
    means = [float(np.mean([m for n, m in points if n == size])) for size in sizes]
    at2, at4 = expect(points, 2 * sizes[-1]), expect(points, 4 * sizes[-1])
    n = np.log([p[0] for p in points])
    error = np.log(np.clip(1 - np.array([p[1] for p in points]), 1e-4, None))
    exponent = -float(np.polyfit(n, error, 1)[0])
    return Curve(sizes, means, points, at2[0], at4[0], (at2[1], at2[2]), (at4[1], at4[2]), exponent)
