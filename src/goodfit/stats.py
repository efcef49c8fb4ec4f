"""Confidence intervals, paired comparisons against the baseline, Holm correction, honest ranking.

Pure functions of numbers; knows nothing of torch or training.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy.special import gammaln, nctdtr, ndtr, stdtr, stdtrit, xlogy


@dataclass(frozen=True)
class Interval:
    """A mean with its t-based confidence interval (None bounds when n < 2)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def all_equal(self) -> bool:
        """Every value was the same, so the interval has no width: say so instead of printing [x, x]."""
        return self.n >= 2 and self.low == self.high

    def to_dict(self) -> dict:
        return asdict(self)


def _tied(x: np.ndarray) -> bool:
    """All values equal up to rounding: 0.93 - 0.90 and 0.83 - 0.80 differ in their last bits."""
    return len(x) > 0 and float(np.ptp(x)) <= 1e-9 * max(1.0, float(np.abs(x).max()))


def mean_ci(values, level: float = 0.95, scale: tuple[float | None, float | None] = (None, None)) -> Interval:
    """Mean and t-based confidence interval of independent values; NaNs are dropped.

    Args:
        values: the sample.
        level: confidence level. Default 0.95.
        scale: the smallest and largest value the quantity can take (None: unbounded); the
            interval is cut to it, so an accuracy's never passes 100%. Default unbounded.

    Returns:
        An `Interval`; bounds are None for fewer than two values.

    Example:
        >>> ci = mean_ci([1.0, 2.0, 3.0])
        >>> round(ci.mean, 3), round(ci.low, 3), round(ci.high, 3)
        (2.0, -0.484, 4.484)
        >>> ci = mean_ci([0.9, 1.0, 1.0], scale=(0.0, 1.0))  # an accuracy's (`metrics.METRICS`)
        >>> round(ci.low, 3), ci.high
        (0.823, 1.0)
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(float("nan"), None, None, 0)
    if len(x) < 2:
        return Interval(float(x.mean()), None, None, 1)
    if _tied(x):
        return Interval(float(x.mean()), float(x.mean()), float(x.mean()), int(len(x)))
    half = stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(len(x))  # t quantile
    low, high = float(x.mean() - half), float(x.mean() + half)
    if scale[0] is not None:
        low = max(low, scale[0])
    if scale[1] is not None:
        high = min(high, scale[1])
    return Interval(float(x.mean()), low, high, int(len(x)))


@dataclass(frozen=True)
class Comparison:
    """An arm against the baseline, paired by seed.

    `difference` is arm minus baseline with its per-comparison 95% interval; `adjusted` is the same
    difference with its Holm-adjusted interval (see `holm_intervals`), which excludes zero exactly
    when the comparison is significant; `p_value` is the paired t-test's two-sided p (the exact
    sign-flip test's when all differences are equal, see `paired_test`), `p_holm` the same after
    Holm's correction over all arms compared; `effect_size` is Cohen's d_z (mean difference over
    the standard deviation of differences); `spread` is that standard deviation. `firmness` is the
    chance that a fresh run on as many new seeds makes the same call (`firmness`; NaN when nothing was
    tested), `borderline` says it is under `FIRM`, and `seeds_to_settle` is the seeds with which the
    observed difference would be found 80% of the time (`seeds_to_settle`; None where it is zero).
    """

    arm: str
    metric: str
    difference: Interval
    adjusted: Interval
    p_value: float
    p_holm: float
    effect_size: float
    spread: float
    significant: bool
    firmness: float = float("nan")
    borderline: bool = False
    seeds_to_settle: int | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference.to_dict(), "adjusted": self.adjusted.to_dict()}


def paired_test(arm, baseline) -> tuple[Interval, float, float]:
    """Mean difference `arm - baseline` over paired values, its CI, two-sided p and Cohen's d_z.

    The p-value is the paired t-test's. When every pair differs by the same amount the t-test is
    undefined (zero variance); p is then the exact sign-flip permutation test's, 2^(1-n): n seeds
    that all moved the same way by the same amount are as strong as their number, not certain.

    Example:
        >>> diff, p, d = paired_test([0.9, 0.92, 0.91, 0.93], [0.85, 0.86, 0.86, 0.88])
        >>> round(diff.mean, 4), p < 0.01
        (0.0525, True)
        >>> paired_test([1.0, 1.0], [0.9, 0.9])[1], paired_test([1.0] * 6, [0.9] * 6)[1]
        (0.5, 0.03125)
    """
    a, b = np.asarray(arm, float), np.asarray(baseline, float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    diff = mean_ci(d)
    if len(d) < 2:
        return diff, float("nan"), float("nan")
    sd = d.std(ddof=1)
    if _tied(d):
        if abs(d.mean()) <= 1e-12:
            return diff, 1.0, 0.0
        return diff, float(2.0 ** (1 - len(d))), float(np.sign(d.mean()) * np.inf)
    p = float(2 * stdtr(len(d) - 1, -abs(d.mean() / (sd / np.sqrt(len(d))))))  # both tails of t
    return diff, p, float(d.mean() / sd)


def holm(p_values) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order; NaN stays NaN.

    Example:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, float)
    finite = np.flatnonzero(np.isfinite(p))
    out = np.full(len(p), np.nan)
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def holm_levels(p_values, alpha: float = 0.05) -> list[float]:
    """The error level at which Holm's step-down procedure judged each p-value; NaN stays NaN.

    Sorted by p, the i-th (from 0) of m is tested at alpha / (m - i) while every one before it was
    rejected; once one is not, every later one keeps that last level. A (1 - level) interval
    therefore excludes zero exactly when Holm calls the comparison significant.

    Example:
        >>> [round(a, 4) for a in holm_levels([0.001, 0.04, 0.03])]
        [0.0167, 0.025, 0.025]
    """
    p = np.asarray(p_values, float)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    out, m, level, stopped = np.full(len(p), np.nan), len(order), alpha, False
    for rank, i in enumerate(order):
        if not stopped:
            level = alpha / (m - rank)
            stopped = not p[i] < level
        out[i] = level
    return out.tolist()


def _t_interval(d: np.ndarray, error: float) -> Interval:
    if len(d) < 2 or not np.isfinite(error) or _tied(d):
        return mean_ci(d)
    half = stdtrit(len(d) - 1, 1 - error / 2) * d.std(ddof=1) / np.sqrt(len(d))
    return Interval(float(d.mean()), float(d.mean() - half), float(d.mean() + half), int(len(d)))


def paired_power(effect: float, n: int, alpha: float) -> float:
    """Chance that a two-sided paired t-test at `alpha` on `n` pairs finds a true effect of d_z = `effect`.

    The noncentral t's tails; where scipy returns NaN for them (large effects, few seeds), the
    same probability by integrating the normal over the chi-square of the sample variance.

    Example:
        >>> round(paired_power(1.0, 10, 0.05), 2)
        0.8
    """
    if n < 2:
        return 0.0
    df = n - 1
    crit, shift = stdtrit(df, 1 - alpha / 2), effect * np.sqrt(n)
    tails = float(nctdtr(df, -shift, -crit) + nctdtr(df, shift, -crit))  # above crit (by symmetry) and below -crit
    if np.isfinite(tails):
        return min(1.0, max(0.0, tails))

    def given(v: float) -> float:
        edge = crit * np.sqrt(v / df)
        density = np.exp(xlogy(df / 2 - 1, v) - v / 2 - gammaln(df / 2) - np.log(2) * df / 2)  # chi-square's
        return (ndtr(shift - edge) + ndtr(-edge - shift)) * density

    from scipy.integrate import quad

    return float(min(1.0, quad(given, 0, np.inf, limit=200)[0]))


@lru_cache(maxsize=256)
def detectable_effect(n: int, alpha: float, power: float = 0.8) -> float:
    """The smallest d_z (difference over its seed-to-seed spread) found with this `power`; inf if none below 50.

    Example:
        >>> round(detectable_effect(10, 0.05), 2), round(detectable_effect(5, 0.05 / 7), 1)
        (1.0, 2.9)
    """
    from scipy.optimize import brentq

    if n < 2 or paired_power(50.0, n, alpha) < power:
        return float("inf")
    return float(brentq(lambda d: paired_power(d, n, alpha) - power, 1e-6, 50.0, xtol=1e-4))


@lru_cache(maxsize=256)
def seeds_for(effect: float, alpha: float, power: float = 0.8, most: int = 1000) -> int:
    """The fewest seeds with which a paired t-test at `alpha` finds d_z = `effect` with this `power`.

    Example:
        >>> seeds_for(1.0, 0.05), seeds_for(1.0, 0.05 / 7)
        (10, 17)
    """
    low, high = 2, 2
    while paired_power(effect, high, alpha) < power:
        if high >= most:
            return most
        low, high = high, min(most, high * 2)
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if paired_power(effect, mid, alpha) < power else (low, mid)
    return high


FIRM = 0.8  # a call is firm when a fresh run on as many seeds would repeat it at least this often
SETTLE_POWER, MOST_SEEDS = 0.8, 100  # seeds_to_settle: found this often; counted up to this many seeds


def _sign_flip_seeds(level: float) -> int:
    """The fewest seeds whose exact sign-flip p, 2^(1-n), falls below `level`: all moving alike, that many decide."""
    return int(np.floor(1 - np.log2(level))) + 1


def firmness(effect: float, n: int, level: float, significant: bool) -> float:
    """The chance that a fresh run on `n` new seeds makes the same call, the observed difference taken as true.

    The call is a paired t-test at `level` (for a Holm-corrected family, the level at which Holm judged the
    arm: `holm_levels`). A fresh run finds an effect of d_z = `effect` with `paired_power(effect, n, level)`,
    so a significant call repeats that often and a not-significant one the rest of the time: Goodman's
    replication probability (Stat Med 1992), which is one half for a p at the threshold, and closer to one the
    further p lies from it on either side (and the further the Holm-adjusted interval lies from zero, or
    reaches across it). Equal differences on every seed (d_z infinite, or zero) repeat exactly: 1.0. The
    observed difference stands in for the true one, so the figure is optimistic (by about 10 points between
    0.8 and 0.95 at five seeds); resampling the seeds instead does no better and, at three to five seeds,
    varies with which seed drew which value (`benchmarks/borderline_calibration.py`).

    Args:
        effect: the observed Cohen's d_z (`Comparison.effect_size`).
        n: the seeds compared.
        level: the error level the call was made at.
        significant: the call: True when the difference was found.

    Returns:
        A probability; NaN below two seeds or without an effect, where nothing was tested.

    Example:
        >>> round(firmness(1.2, 5, 0.05, False), 2)  # p=0.055: not found, yet a fresh run finds it half the time
        0.47
        >>> round(firmness(0.3, 5, 0.05, False), 2), round(firmness(3.0, 5, 0.05, True), 2)  # p=0.54, p=0.003
        (0.92, 1.0)
        >>> firmness(float("inf"), 5, 0.05, False)  # every seed moved the same way by the same amount
        1.0
    """
    if n < 2 or not np.isfinite(level) or effect != effect:
        return float("nan")
    if not np.isfinite(effect) or effect == 0:
        return 1.0
    power = paired_power(abs(effect), n, level)
    return float(power if significant else 1.0 - power)


def seeds_to_settle(effect: float, level: float, most: int = MOST_SEEDS) -> int | None:
    """The seeds with which a fresh run would find the observed difference (d_z = `effect`) 80% of the time.

    What would settle a borderline call: with that many seeds, a true difference this large is called
    significant four times in five, and one that is not found again was likely smaller.

    Args:
        effect: the observed Cohen's d_z.
        level: the error level of the call (its Holm level in a family).
        most: the count stops here; `most` itself means "this many or more". Default `MOST_SEEDS`.

    Returns:
        A number of seeds, or None when the difference was zero (no number of seeds finds it).

    Example:
        >>> [seeds_to_settle(d, 0.05) for d in (2.0, 1.0, 0.5, 0.05)]
        [5, 10, 34, 100]
        >>> seeds_to_settle(float("inf"), 0.05)  # every seed the same: the sign-flip test needs 6
        6
    """
    if effect != effect or effect == 0 or not np.isfinite(level):
        return None
    if not np.isfinite(effect):
        return min(most, _sign_flip_seeds(level))
    return seeds_for(abs(float(effect)), level, SETTLE_POWER, most)


def compare_to_baseline(by_arm: dict[str, dict[int, float]], baseline: str, metric: str,
                        alpha: float = 0.05) -> list[Comparison]:
    """Paired comparisons of every other arm against the baseline, Holm-corrected together.

    Args:
        by_arm: per arm, the metric per seed.
        baseline: the arm to compare against.
        metric: the metric's name, carried into the result.
        alpha: family-wise error rate. Default 0.05.

    Returns:
        One `Comparison` per non-baseline arm, in the given order. `significant` needs the
        Holm-corrected p below `alpha`; `firmness`, `borderline` and `seeds_to_settle` judge the call at
        the level Holm tested the arm at (`holm_levels`).

    Example:
        >>> base = {0: .80, 1: .82, 2: .81, 3: .79, 4: .80}
        >>> good = {0: .86, 1: .87, 2: .88, 3: .85, 4: .86}
        >>> same = {0: .81, 1: .80, 2: .82, 3: .78, 4: .81}
        >>> [c.significant for c in compare_to_baseline({"b": base, "g": good, "s": same}, "b", "acc")]
        [True, False]
        >>> [c.borderline for c in compare_to_baseline({"b": base, "g": good, "s": same}, "b", "acc")]
        [False, False]
    """
    base = by_arm[baseline]
    rows = []
    for arm, values in by_arm.items():
        if arm == baseline:
            continue
        seeds = sorted(set(values) & set(base))
        a, b = np.array([values[s] for s in seeds], float), np.array([base[s] for s in seeds], float)
        ok = np.isfinite(a) & np.isfinite(b)
        rows.append((arm, a[ok] - b[ok], *paired_test(a, b)))
    adjusted, levels = holm([r[3] for r in rows]), holm_levels([r[3] for r in rows], alpha)
    out = []
    for (arm, d, diff, p, dz), p_adj, level in zip(rows, adjusted, levels):
        spread = (0.0 if _tied(d) else float(d.std(ddof=1))) if len(d) >= 2 else float("nan")
        significant = bool(np.isfinite(p_adj) and p_adj < alpha)
        firm = firmness(dz, len(d), level, significant)
        out.append(Comparison(arm, metric, diff, _t_interval(d, level), p, p_adj, dz, spread, significant,
                              firm, bool(firm < FIRM), seeds_to_settle(dz, level) if len(d) >= 2 else None))
    return out
