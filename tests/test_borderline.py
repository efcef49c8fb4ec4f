"""Calls that hold up: how firm each significant or not-significant call is, and what would settle a borderline one.

Issue 35, item 5: MNIST-1D's calls at p=0.051 and p=0.082 flipped between two CPUs. The statistics are checked on
differences built to a chosen p, the table, verdict, report.html and results.json on a study built by hand.
"""
import io
import json

import numpy as np
import pytest
from rich.console import Console
from scipy.special import stdtr, stdtrit

from goodfit.report.outputs import write_outputs
from goodfit.report.tables import MARKERS, study_table, table_groups
from goodfit.report.verdict import verdict_for
from goodfit.stats import FIRM, MOST_SEEDS, compare_to_baseline, firmness, paired_power, seeds_to_settle
from goodfit.study import StudyResult
from test_report import make_result, small_pngs  # noqa: F401 - small_pngs: autouse, figures at low resolution

SHAPE = np.array([-1.3, -0.4, 0.1, 0.5, 1.1])  # the seeds' paired differences before scaling: any uneven shape


def differences(p: float, spread: float = 0.01) -> np.ndarray:
    """Five paired differences whose two-sided paired t-test gives exactly `p` (positive mean)."""
    z = (SHAPE - SHAPE.mean()) / SHAPE.std(ddof=1)
    t = stdtrit(len(z) - 1, 1 - p / 2)
    return spread * (z + t / np.sqrt(len(z)))


def one_comparison(d: np.ndarray):
    base = {s: 0.8 for s in range(len(d))}
    return compare_to_baseline({"b": base, "a": {s: 0.8 + x for s, x in enumerate(d)}}, "b", "acc")[0]


@pytest.mark.parametrize("p, significant, borderline", [(0.051, False, True), (0.045, True, True),
                                                         (0.001, True, False), (0.6, False, False)])
def test_a_p_near_the_threshold_is_borderline_and_one_far_from_it_is_firm(p, significant, borderline):
    c = one_comparison(differences(p))
    assert c.p_holm == pytest.approx(p, rel=1e-9)
    assert (c.significant, c.borderline) == (significant, borderline)
    assert 0.0 <= c.firmness <= 1.0 and (c.firmness < FIRM) == borderline


def test_firmness_is_the_share_of_fresh_runs_that_repeat_the_call():
    """Fresh runs of five seeds drawn with the observed mean and spread repeat the call as often as firmness says."""
    rng = np.random.default_rng(0)
    for p in (0.02, 0.051, 0.15):
        d = differences(p)
        fresh = rng.normal(d.mean(), d.std(ddof=1), size=(20000, len(d)))
        t = fresh.mean(1) / (fresh.std(1, ddof=1) / np.sqrt(len(d)))
        found = 2 * stdtr(len(d) - 1, -np.abs(t)) < 0.05
        c = one_comparison(d)
        repeated = found.mean() if c.significant else 1 - found.mean()
        assert c.firmness == pytest.approx(repeated, abs=0.015)


def test_holm_judges_firmness_at_the_level_it_tested_each_arm():
    """Third of three by p, an arm at raw p=0.051 is judged at 0.05; first of three, at 0.05/3, where missing it
    is likelier."""
    base = {s: 0.8 for s in range(5)}
    arm = lambda p: {s: 0.8 + x for s, x in enumerate(differences(p))}  # noqa: E731
    family = compare_to_baseline({"b": base, "x": arm(1e-5), "y": arm(1e-5), "z": arm(0.051)}, "b", "acc")
    alone = compare_to_baseline({"b": base, "x": arm(0.9), "y": arm(0.9), "z": arm(0.051)}, "b", "acc")
    assert family[2].firmness == pytest.approx(1 - paired_power(family[2].effect_size, 5, 0.05))
    assert alone[2].firmness == pytest.approx(1 - paired_power(alone[2].effect_size, 5, 0.05 / 3))
    assert family[2].firmness < 0.5 < alone[2].firmness


def test_seeds_to_settle_fall_as_the_difference_grows_and_stop_at_the_cap():
    needed = [seeds_to_settle(d, 0.05) for d in (0.01, 0.1, 0.3, 0.6, 1.0, 1.5, 3.0)]
    assert needed == sorted(needed, reverse=True) and needed[0] == MOST_SEEDS and needed[-1] <= 5
    assert 5 < one_comparison(differences(0.051)).seeds_to_settle <= 12  # a little more than the five it had
    assert one_comparison(differences(0.001)).seeds_to_settle <= 5
    assert seeds_to_settle(0.0, 0.05) is None


@pytest.mark.parametrize("p", [0.0005, 0.004, 0.01, 0.02, 0.03, 0.045])
def test_a_significant_call_is_firm_exactly_when_the_seeds_that_settle_it_are_at_hand(p):
    c = one_comparison(differences(p))
    assert c.significant and (not c.borderline) == (c.seeds_to_settle <= 5)


def test_one_seed_tests_nothing_and_seeds_that_all_agree_repeat_exactly():
    one = one_comparison(np.array([0.02]))
    assert np.isnan(one.firmness) and not one.borderline and one.seeds_to_settle is None
    same = one_comparison(np.full(5, 0.02))  # sign-flip p = 1/16: not found with 5, found with 6
    assert (same.significant, same.firmness, same.borderline, same.seeds_to_settle) == (False, 1.0, False, 6)
    assert firmness(float("nan"), 5, 0.05, False) != firmness(float("nan"), 5, 0.05, False)  # NaN


@pytest.fixture(scope="module")
def study() -> StudyResult:
    """Five seeds, three arms: dropout firmly better, l2 better at p_holm=0.045, shrink not found at p_holm=0.051."""
    result = make_result(arms=("baseline", "dropout", "l2", "shrink"), seeds=5)
    moved = {"dropout": differences(1e-5), "l2": differences(0.0225), "shrink": -differences(0.051)}
    base = {r["seed"]: 0.8 + 0.01 * r["seed"] for r in result.records if r["arm"] == "baseline"}
    for r in result.records:
        r["test_accuracy"] = base[r["seed"]] + (moved[r["arm"]][r["seed"]] if r["arm"] in moved else 0.0)
    return StudyResult(result.plan, result.dataset, result.records, result.history)


def test_the_table_marks_borderline_calls_and_explains_the_marker(study):
    t = study.table().set_index("arm")
    assert t.loc[["l2", "shrink"], "p_holm"].tolist() == pytest.approx([0.045, 0.051])
    assert t.loc[["dropout", "l2", "shrink"], "borderline"].tolist() == [False, True, True]
    cells = {c["arm"]: c for c in table_groups(study)[0]["rows"]}
    assert [cells[a]["marker"] for a in ("dropout", "l2", "shrink")] == ["✓", "✓?", "·?"]
    assert "about 8 seeds would settle it" in cells["shrink"]["meaning"]
    assert "firm: a fresh run on 5 seeds would repeat the call about 100% of the time" in cells["dropout"]["meaning"]
    console = Console(file=io.StringIO(), width=100)
    console.print(study_table(study, width=100))
    printed = " ".join(console.file.getvalue().split())
    assert f"{MARKERS['borderline']} borderline: a fresh run on as many seeds would repeat the call less than 80%" in printed


def test_no_legend_for_the_marker_when_every_call_is_firm():
    firm = make_result(effects={"dropout": 0.06}, seeds=5)
    assert not any(c["borderline"] for c in table_groups(firm)[0]["rows"])
    assert "borderline" not in study_table(firm).caption and "Borderline" not in verdict_for(firm)


def test_the_verdict_names_each_borderline_call_and_the_seeds_that_would_settle_it(study):
    said = " ".join(verdict_for(study).split())
    assert ("Borderline, 2 calls: significantly better for l2 (p=0.045); no significant difference for shrink "
            "(p=0.051), after Holm; a fresh run on 5 seeds would repeat each only ") in said
    assert "seeds would settle them all." in said
    assert "The other calls are firm" in said and "dropout (p=" not in said
    one = study.table()
    one = one[one["arm"] != "l2"]  # a single borderline call gets its own sentence
    from goodfit.report.verdict import borderline_sentences
    alone = borderline_sentences(one[~one["arm"].isin(["baseline", "control"])])
    assert alone[0].startswith("Borderline: the call on shrink (no significant difference, p=0.051 after Holm): "
                               "a fresh run on 5 seeds would repeat the call about ")


def test_results_json_and_report_html_carry_each_calls_firmness(study, tmp_path):
    files = write_outputs(study, tmp_path, command="goodfit study")
    arms = {a["arm"]: a for a in json.loads(files["results"].read_text())["arms"]}
    assert arms["baseline"]["firmness"] is None and arms["baseline"]["borderline"] is None
    assert arms["dropout"]["borderline"] is False and arms["dropout"]["firmness"] > FIRM
    assert arms["shrink"]["borderline"] is True and isinstance(arms["shrink"]["seeds_to_settle"], int)
    assert arms["shrink"]["firmness"] == pytest.approx(study.table().set_index("arm").loc["shrink", "firmness"])
    page = files["report"].read_text(encoding="utf-8")
    assert ">✓?</td>" in page and ">·?</td>" in page and "<b>?</b> after a marker, borderline: a fresh run" in page
