"""Confidence intervals, paired comparisons against the baseline, Holm correction, honest ranking.

Pure functions of numbers; knows nothing of torch or training.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Interval:
    """A mean with its t-based confidence interval (None bounds when n < 2)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def mean_ci(values, level: float = 0.95) -> Interval:
    """Mean and t-based confidence interval of independent values; NaNs are dropped.

    Args:
        values: the sample.
        level: confidence level. Default 0.95.

    Returns:
        An `Interval`; bounds are None for fewer than two values.

    Example:
        >>> ci = mean_ci([1.0, 2.0, 3.0])
        >>> round(ci.mean, 3), round(ci.low, 3), round(ci.high, 3)
        (2.0, -0.484, 4.484)
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(float("nan"), None, None, 0)
    if len(x) < 2:
        return Interval(float(x.mean()), None, None, 1)
    half = sps.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half), int(len(x)))


@dataclass(frozen=True)
class Comparison:
    """An arm against the baseline, paired by seed.

    `difference` is arm minus baseline; `p_value` is the paired t-test's two-sided p (the exact
    sign-flip test's when all differences are equal, see `paired_test`), `p_holm` the same after
    Holm's correction over all arms compared; `effect_size` is Cohen's d_z (mean difference over
    the standard deviation of differences).
    """

    arm: str
    metric: str
    difference: Interval
    p_value: float
    p_holm: float
    effect_size: float
    significant: bool

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference.to_dict()}


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
    if sd == 0:
        if d.mean() == 0:
            return diff, 1.0, 0.0
        return diff, float(2.0 ** (1 - len(d))), float(np.sign(d.mean()) * np.inf)
    p = float(sps.ttest_rel(a[ok], b[ok]).pvalue)
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
        Holm-corrected p below `alpha`.

    Example:
        >>> base = {0: .80, 1: .82, 2: .81, 3: .79, 4: .80}
        >>> good = {0: .86, 1: .87, 2: .88, 3: .85, 4: .86}
        >>> same = {0: .81, 1: .80, 2: .82, 3: .78, 4: .81}
        >>> [c.significant for c in compare_to_baseline({"b": base, "g": good, "s": same}, "b", "acc")]
        [True, False]
    """
    base = by_arm[baseline]
    rows = []
    for arm, values in by_arm.items():
        if arm == baseline:
            continue
        seeds = sorted(set(values) & set(base))
        rows.append((arm, *paired_test([values[s] for s in seeds], [base[s] for s in seeds])))
    adjusted = holm([r[2] for r in rows])
    return [Comparison(arm, metric, diff, p, p_adj, d, bool(np.isfinite(p_adj) and p_adj < alpha))
            for (arm, diff, p, d), p_adj in zip(rows, adjusted)]
