"""Trend statistics of one curve: smoothing, the valley fit, epoch-to-epoch noise, Mann-Kendall, Theil-Sen, rank-sum.

Pure functions of numpy arrays, hand-written so that `goodfit diagnose` needs no scipy;
tests/test_trend.py holds each one against scipy.stats.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _window(n: int) -> int:
    """Width of the running median: odd, about n/12, 3 to 11; 1 (no smoothing) below 8 points."""
    return 1 if n < 8 else min(11, max(3, (n // 12) | 1))


def smooth(y: np.ndarray) -> np.ndarray:
    """Running median of `_window` points then running mean of 3; unchanged below 8 points."""
    w = _window(len(y))
    if w == 1:
        return y.astype(float).copy()
    med = pd.Series(y).rolling(w, center=True, min_periods=1).median()
    return med.rolling(3, center=True, min_periods=1).mean().to_numpy()


def _prefix_antitonic_sse(y: np.ndarray) -> np.ndarray:
    """Squared error of the best non-increasing fit to y[:k], for every k = 0..n (pool-adjacent-violators)."""
    out = np.zeros(len(y) + 1)
    blocks: list[list[float]] = []  # [sum, count, sum of squares], means non-increasing
    sse = 0.0
    for k, x in enumerate(y, 1):
        block = [float(x), 1.0, float(x) * x]
        while blocks and blocks[-1][0] / blocks[-1][1] < block[0] / block[1]:
            prev = blocks.pop()
            sse -= prev[2] - prev[0] ** 2 / prev[1]
            block = [prev[0] + block[0], prev[1] + block[1], prev[2] + block[2]]
        blocks.append(block)
        sse += block[2] - block[0] ** 2 / block[1]
        out[k] = sse
    return out


def _isotonic(y: np.ndarray, increasing: bool) -> np.ndarray:
    """The least-squares non-decreasing (or non-increasing) fit to y, by pool-adjacent-violators.

    Example:
        >>> _isotonic(np.array([1.0, 3.0, 2.0, 4.0]), increasing=True).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    sign = 1.0 if increasing else -1.0
    blocks: list[list[float]] = []  # [sum, count] of pooled runs, means non-decreasing
    for x in sign * np.asarray(y, dtype=float):
        block = [x, 1.0]
        while blocks and blocks[-1][0] / blocks[-1][1] > block[0] / block[1]:
            prev = blocks.pop()
            block = [prev[0] + block[0], prev[1] + block[1]]
        blocks.append(block)
    return sign * np.concatenate([np.full(int(c), s / c) for s, c in blocks]) if blocks else np.zeros(0)


def valley(y: np.ndarray) -> int:
    """Index of the bottom of the best valley-shaped fit: non-increasing, then non-decreasing, least squares.

    Unimodal regression: it uses the whole curve, so noise near the minimum moves the bottom less
    than it moves a smoothed minimum, and no window has to be chosen.
    """
    n = len(y)
    top = float(np.max(np.abs(y))) if n else 0.0
    y = y / top if np.isfinite(top) and top > 0 else y  # the shape alone matters: 1e300 squared must not overflow
    left = _prefix_antitonic_sse(y)  # left[t]: y[:t] non-increasing
    right = _prefix_antitonic_sse(y[::-1])[::-1]  # right[t]: y[t:] non-decreasing
    t = int(np.argmin(left + right))
    fit = np.concatenate([_isotonic(y[:t], increasing=False), _isotonic(y[t:], increasing=True)])
    bottom = np.flatnonzero(fit <= fit.min() + 1e-12 * max(1.0, abs(fit.min())))
    return int(bottom[0] + np.argmin(y[bottom[0]:bottom[-1] + 1]))


def noise_level(y: np.ndarray) -> float:
    """Epoch-to-epoch noise (standard deviation) from the median absolute second difference; blind to smooth trends."""
    if len(y) < 6:
        return 0.0
    d2 = np.diff(y, 2)  # var = 6 sigma^2 for independent noise
    return 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / np.sqrt(6)


def _inversions_at_most(n: int, k: int) -> float:
    """P(a random permutation of n items has at most k inversions): Kendall's exact null distribution."""
    k = min(k, n * (n - 1) // 2)
    p = np.zeros(k + 1)  # p[j]: probability of exactly j inversions among the first m items
    p[0] = 1.0
    for m in range(2, n + 1):  # the m-th item adds 0..m-1 inversions, each with probability 1/m
        c = np.cumsum(p)
        p = c - np.concatenate([np.zeros(min(m, k + 1)), c[:max(0, k + 1 - m)]])
        p /= m
    return float(min(1.0, p.sum()))


def mann_kendall(y: np.ndarray, alternative: str) -> tuple[float, float]:
    """Kendall's tau-b of y against its order and the one-sided p-value; (0, 1) below 4 points.

    Without ties and up to 33 points the p-value is exact, else the normal approximation with the
    variance corrected for ties (as `scipy.stats.kendalltau` computes it).

    Example:
        >>> tau, p = mann_kendall(np.array([1.0, 2.0, 4.0, 3.0, 5.0]), "greater")
        >>> round(tau, 2), round(p, 4)
        (0.8, 0.0417)
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 4 or np.ptp(y) == 0:
        return 0.0, 1.0
    d = np.sign(y[None, :] - y[:, None])[np.triu_indices(n, 1)]  # later minus earlier, every pair
    con, dis = int((d > 0).sum()), int((d < 0).sum())
    tot = n * (n - 1) // 2
    _, counts = np.unique(y, return_counts=True)
    ties = counts[counts > 1].astype(float)
    ytie = int((ties * (ties - 1) // 2).sum())
    tau = max(-1.0, min(1.0, (con - dis) / math.sqrt(tot * (tot - ytie))))
    if not ytie and (n <= 33 or min(dis, tot - dis) <= 1):
        # con - dis >= observed  <=>  inversions (discordant pairs) <= dis
        p = _inversions_at_most(n, dis) if alternative == "greater" else _inversions_at_most(n, con)
    else:
        var = (n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18
        z = (con - dis) / math.sqrt(var)
        z = z if alternative == "greater" else -z
        p = 0.5 * math.erfc(z / math.sqrt(2))
    return float(tau), float(p)


def theil_sen(y: np.ndarray, x: np.ndarray) -> float:
    """The Theil-Sen slope: the median of the slopes between every two points with different x.

    Example:
        >>> theil_sen(np.array([0.0, 1.0, 2.0, 3.0, 30.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
        1.0
    """
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx != 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0


def rank_sum(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided p-value that the values in b tend to exceed those in a: Mann-Whitney U, normal approximation
    with the variance corrected for ties and a continuity correction (as `scipy.stats.mannwhitneyu` computes it).

    Example:
        >>> round(rank_sum(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 7.0])), 3)
        0.026
    """
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b]).astype(float)
    n = n1 + n2
    if n1 < 2 or n2 < 2 or np.ptp(both) == 0:
        return 1.0
    u = float(pd.Series(both).rank().to_numpy()[n1:].sum()) - n2 * (n2 + 1) / 2
    _, counts = np.unique(both, return_counts=True)
    var = n1 * n2 / 12 * ((n + 1) - float((counts ** 3 - counts).sum()) / (n * (n - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return float(0.5 * math.erfc(z / math.sqrt(2)))


def end_level(y: np.ndarray) -> float:
    """The level a curve ended at: median of its last 3 points, so one odd epoch does not decide."""
    return float(np.median(y[-3:]))


def tail_trend(epochs: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Relative Theil-Sen change over the last third (>= 4 points), its Mann-Kendall p for a fall, and its length."""
    k = max(4, int(np.ceil(len(y) / 3)))
    ex, ey = epochs[-k:], y[-k:]
    if len(ey) < 4:
        return 0.0, 1.0, len(ey)
    slope = theil_sen(ey, ex)
    level = abs(float(np.median(ey[:3]))) or 1.0
    _, p = mann_kendall(ey, "less")
    return float(slope * (ex[-1] - ex[0]) / level), p, len(ey)
