"""Statistics against scipy on known inputs, and honesty when the data show nothing."""
import numpy as np
import pytest
from scipy import stats as sps

from goodfit.stats import compare_to_baseline, holm, mean_ci, paired_power, paired_test


def test_mean_ci_matches_scipy_t_interval():
    x = np.array([0.91, 0.93, 0.90, 0.94, 0.92, 0.95])
    low, high = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    ci = mean_ci(x)
    assert ci.mean == pytest.approx(x.mean()) and ci.low == pytest.approx(low, rel=1e-12)
    assert ci.high == pytest.approx(high, rel=1e-12)


def test_mean_ci_of_one_value_has_no_bounds_and_drops_nan():
    ci = mean_ci([0.5, float("nan")])
    assert ci.n == 1 and ci.low is None and ci.high is None


def test_paired_test_matches_scipy_ttest_rel_and_cohens_dz():
    rng = np.random.default_rng(0)
    base = rng.normal(0.8, 0.02, 8)
    arm = base + rng.normal(0.01, 0.01, 8)
    diff, p, d = paired_test(arm, base)
    assert p == pytest.approx(sps.ttest_rel(arm, base).pvalue, rel=1e-12)
    assert d == pytest.approx((arm - base).mean() / (arm - base).std(ddof=1))
    low, high = sps.t.interval(0.95, 7, loc=(arm - base).mean(), scale=sps.sem(arm - base))
    assert (diff.low, diff.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_paired_test_p_matches_scipy_from_tiny_to_near_one(n):
    rng = np.random.default_rng(n)
    base = rng.normal(0.8, 0.02, n)
    for shift in (0.0, 0.001, 0.01, 0.05, 0.2):
        arm = base + shift + rng.normal(0.0, 0.01, n)
        assert paired_test(arm, base)[1] == pytest.approx(sps.ttest_rel(arm, base).pvalue, rel=1e-12, abs=1e-300)


def _power_by_scipy_stats(effect, n, alpha):
    """`paired_power` as written with scipy.stats' distributions, the reference it must match."""
    df = n - 1
    crit, shift = sps.t.ppf(1 - alpha / 2, df), effect * np.sqrt(n)
    tails = sps.nct.sf(crit, df, shift) + sps.nct.cdf(-crit, df, shift)
    if np.isfinite(tails):
        return min(1.0, max(0.0, tails))

    def given(v):
        edge = crit * np.sqrt(v / df)
        return (sps.norm.sf(edge - shift) + sps.norm.cdf(-edge - shift)) * sps.chi2.pdf(v, df)

    from scipy.integrate import quad

    return min(1.0, quad(given, 0, np.inf, limit=200)[0])


@pytest.mark.parametrize("n", [2, 3, 5, 10, 17, 40])
@pytest.mark.parametrize("alpha", [0.05, 0.05 / 7, 1e-4])
def test_paired_power_matches_scipy_stats_noncentral_t_and_its_fallback(n, alpha):
    """Large effects on few seeds are where the noncentral t gives NaN and the chi-square integral takes over."""
    for effect in (0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 12.0, 26.0, 50.0):
        assert paired_power(effect, n, alpha) == pytest.approx(_power_by_scipy_stats(effect, n, alpha),
                                                               rel=1e-12, abs=1e-14)


def test_holm_matches_the_textbook_procedure():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([float("nan"), 0.2])[0])


def test_identical_arms_are_never_called_significant():
    base = {s: 0.8 + 0.01 * s for s in range(5)}
    comps = compare_to_baseline({"baseline": base, "same": dict(base)}, "baseline", "acc")
    assert comps[0].p_value == 1.0 and not comps[0].significant


def test_holm_correction_can_remove_a_nominal_significance():
    """One arm of six gains on every seed (p = 0.02 alone), the others are noise: six tests leave it 0.12."""
    base = dict(enumerate([0.80, 0.82, 0.79, 0.81, 0.80]))
    gains = {"nominal": [0.01, 0.02, 0.005, 0.015, 0.03]}
    for i, shift in enumerate([0.0, 0.002, -0.002, 0.004, -0.004]):
        gains[f"noise{i}"] = [shift + g for g in (0.01, -0.01, 0.005, -0.005, 0.0)]
    arms = {"baseline": base} | {arm: {s: base[s] + g for s, g in zip(base, d)} for arm, d in gains.items()}
    comps = compare_to_baseline(arms, "baseline", "acc")
    nominal = comps[0]
    assert nominal.p_value == pytest.approx(0.0205, abs=1e-4) and nominal.p_value < 0.05
    assert nominal.p_holm == pytest.approx(6 * nominal.p_value) and not nominal.significant
    assert [c.p_holm for c in comps] == pytest.approx(holm([c.p_value for c in comps]))
    assert not any(c.significant for c in comps)


@pytest.mark.parametrize("n,p_expected", [(2, 0.5), (5, 0.0625), (6, 0.03125)])
def test_equal_differences_get_the_exact_sign_flip_p_not_zero(n, p_expected):
    """Two seeds that both gained exactly 2.8 points are not proof: the t-test is undefined there,
    and the exact permutation test over sign flips gives 2^(1-n)."""
    diff, p, _ = paired_test([0.95] * n, [0.922] * n)
    assert p == p_expected and diff.mean > 0
    [row] = compare_to_baseline({"base": dict.fromkeys(range(n), 0.922), "arm": dict.fromkeys(range(n), 0.95)},
                                "base", "test_accuracy")
    assert row.significant == (p_expected < 0.05)


def test_a_p_value_near_the_level_prints_enough_digits_to_tell_its_side():
    from goodfit.stats import holm_levels
    from goodfit.words import format_p

    for p in (0.0497, 0.0503, 0.04999, 0.050004):
        shown = format_p(p)
        assert (float(shown) < 0.05) == (p < 0.05), (p, shown)
    assert format_p(0.0123) == "0.012" and format_p(0.0004) == "<0.001" and format_p(float("nan")) == "—"
    assert holm_levels([0.0497])[0] == 0.05  # one comparison: 0.0497 is significant, and now prints so
