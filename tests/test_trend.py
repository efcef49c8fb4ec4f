"""The diagnosis's hand-written trend statistics against scipy, on random series and on series with ties.

`goodfit diagnose` must not import scipy, so `goodfit.diagnose.trend` writes Mann-Kendall, Theil-Sen,
the rank-sum test, the noise estimate and the valley fit itself; scipy is the reference they answer to.
"""
import numpy as np
import pytest
from scipy import stats as sps
from scipy.optimize import isotonic_regression

from goodfit.diagnose.trend import mann_kendall, noise_level, rank_sum, tail_trend, theil_sen, valley


def series(seed: int, n: int, ties: bool = False) -> np.ndarray:
    """A noisy trend (up, down or flat by seed); rounded to one decimal, it holds many ties."""
    rng = np.random.default_rng(seed)
    y = (seed % 3 - 1) * 0.05 * np.arange(n) + rng.normal(0, 1, n)
    return np.round(y, 1) if ties else y


CASES = [(seed, n) for seed, n in enumerate((4, 5, 7, 12, 20, 33, 34, 50, 120))]


@pytest.mark.parametrize("alternative", ["greater", "less"])
@pytest.mark.parametrize("seed, n", CASES)
def test_mann_kendall_matches_scipy_kendalltau_without_ties(seed, n, alternative):
    y = series(seed, n)
    tau, p = mann_kendall(y, alternative)
    ref = sps.kendalltau(np.arange(n), y, alternative=alternative)  # exact up to 33 points, normal beyond
    assert tau == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("alternative", ["greater", "less"])
@pytest.mark.parametrize("seed, n", CASES)
def test_mann_kendall_matches_scipy_kendalltau_with_ties(seed, n, alternative):
    y = series(seed, n, ties=True)
    if np.ptp(y) == 0:
        pytest.skip("a constant series has no trend to test")
    tau, p = mann_kendall(y, alternative)
    ref = sps.kendalltau(np.arange(n), y, alternative=alternative)  # tau-b, variance corrected for ties
    assert tau == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


def test_mann_kendall_of_a_long_monotone_series_is_exact_as_scipys():
    y = np.arange(60.0) ** 1.5
    tau, p = mann_kendall(y, "greater")
    ref = sps.kendalltau(np.arange(60), y, alternative="greater")
    assert tau == 1.0 and p == pytest.approx(ref.pvalue, rel=1e-9)


def test_mann_kendall_says_no_trend_below_4_points_or_on_a_constant_series():
    assert mann_kendall(np.array([1.0, 2.0, 3.0]), "greater") == (0.0, 1.0)
    assert mann_kendall(np.full(10, 0.3), "less") == (0.0, 1.0)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed, n", CASES)
def test_theil_sen_matches_scipy_theilslopes(seed, n, ties):
    y = series(seed, n, ties)
    x = np.arange(1, n + 1) * 2.0
    assert theil_sen(y, x) == pytest.approx(sps.theilslopes(y, x).slope, rel=1e-12, abs=1e-15)


def test_theil_sen_skips_pairs_with_the_same_x_as_scipy_does():
    rng = np.random.default_rng(7)
    x = np.repeat(np.arange(10.0), 3)  # three logged values per epoch
    y = 0.2 * x + rng.normal(0, 0.5, len(x))
    assert theil_sen(y, x) == pytest.approx(sps.theilslopes(y, x).slope, rel=1e-12)
    assert theil_sen(y[:3], x[:3]) == 0.0  # no two x differ: no slope


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed, n", CASES)
def test_tail_trend_is_theil_sen_and_mann_kendall_over_the_last_third(seed, n, ties):
    y = series(seed, n, ties)
    epochs = np.arange(1, n + 1)
    change, p, k = tail_trend(epochs, y)
    assert k == min(n, max(4, int(np.ceil(n / 3))))
    ey, ex = y[-k:], epochs[-k:]
    slope = sps.theilslopes(ey, ex).slope
    assert change == pytest.approx(slope * (ex[-1] - ex[0]) / (abs(np.median(ey[:3])) or 1.0), rel=1e-12, abs=1e-15)
    if np.ptp(ey) > 0:
        assert p == pytest.approx(sps.kendalltau(ex, ey, alternative="less").pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("sizes", [(2, 2), (3, 4), (5, 9), (5, 20), (12, 12)])
def test_rank_sum_matches_scipy_mannwhitneyu_asymptotic(sizes, ties):
    rng = np.random.default_rng(sum(sizes) + ties)
    a, b = rng.normal(0, 1, sizes[0]), rng.normal(0.8, 1, sizes[1])
    if ties:
        a, b = np.round(a), np.round(b)
    ref = sps.mannwhitneyu(b, a, alternative="greater", method="asymptotic")  # with the continuity correction
    assert rank_sum(a, b) == pytest.approx(ref.pvalue, rel=1e-9)


def test_rank_sum_says_nothing_below_2_values_a_side_or_when_all_are_equal():
    assert rank_sum(np.array([1.0]), np.array([2.0, 3.0, 4.0])) == 1.0
    assert rank_sum(np.full(4, 0.5), np.full(6, 0.5)) == 1.0


@pytest.mark.parametrize("seed, n", CASES[3:])
def test_noise_level_is_the_normal_scaled_mad_of_second_differences(seed, n):
    y = series(seed, n)
    ref = sps.median_abs_deviation(np.diff(y, 2), scale="normal") / np.sqrt(6)
    assert noise_level(y) == pytest.approx(ref, rel=1e-5)  # 1.4826 for 1 / Phi^-1(3/4)


def test_noise_level_finds_the_noise_under_a_smooth_trend():
    rng = np.random.default_rng(3)
    e = np.arange(400)
    y = 2 * np.exp(-e / 50) + 0.001 * e + rng.normal(0, 0.05, len(e))
    assert noise_level(y) == pytest.approx(0.05, rel=0.15)
    assert noise_level(y[:5]) == 0.0  # too few points to tell noise from trend


def unimodal_bottom(y: np.ndarray) -> int:
    """The valley by brute force, scipy's isotonic regression fitting each side of every split."""
    def fit(part, increasing):
        return isotonic_regression(part, increasing=increasing).x if len(part) else part

    fits = [np.concatenate([fit(y[:t], False), fit(y[t:], True)]) for t in range(len(y) + 1)]
    best = min(fits, key=lambda f: float(((y - f) ** 2).sum()))
    bottom = np.flatnonzero(best <= best.min() + 1e-12 * max(1.0, abs(best.min())))
    return int(bottom[0] + np.argmin(y[bottom[0]:bottom[-1] + 1]))


@pytest.mark.parametrize("seed", range(12))
def test_valley_is_the_bottom_of_the_least_squares_unimodal_fit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 40))
    e = np.arange(n)
    turn = rng.uniform(0, n)
    y = 0.3 + 0.01 * (e - turn) ** 2 + rng.normal(0, rng.uniform(0.01, 0.3), n)
    assert valley(y) == unimodal_bottom(y)
