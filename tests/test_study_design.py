"""The study's design and honesty: strengths, seed ranges, the A/A control, resampled splits,
intervals within their scale that agree with Holm's decision, and power."""
import json

import numpy as np
import pytest
import scipy.stats
from conftest import goodfit_here

from goodfit import Conditions, TrainConfig
from goodfit.errors import GoodfitError
from goodfit.report.verdict import power_warning, verdict
from goodfit.stats import compare_to_baseline, detectable_effect, mean_ci, paired_power, seeds_for
from goodfit.study import CONTROL_SEEDS, Study, StudyResult

FAST = TrainConfig(epochs=12, batch_size=16)


# --- statistics -------------------------------------------------------------------------------------------

def test_holm_adjusted_intervals_exclude_zero_exactly_when_significant():
    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(300):
        seeds, arms = int(rng.integers(3, 9)), int(rng.integers(1, 7))
        base = rng.normal(0.8, 0.02, seeds)
        by_arm = {"baseline": dict(enumerate(base))}
        for a in range(arms):
            shift = rng.choice([0.0, 0.01, 0.03])
            by_arm[f"a{a}"] = dict(enumerate(base + shift + rng.normal(0, 0.015, seeds)))
        for c in compare_to_baseline(by_arm, "baseline", "acc"):
            excludes = c.adjusted.low > 0 or c.adjusted.high < 0
            assert excludes == c.significant, (trial, c)
            assert c.adjusted.low <= c.difference.low and c.adjusted.high >= c.difference.high  # wider, never narrower
            checked += 1
    assert checked > 600


def test_arm_intervals_stay_within_the_scale():
    acc = mean_ci([1.0, 1.0, 0.9], scale=(0.0, 1.0))
    loss = mean_ci([0.001, 0.002, 0.2], scale=(0.0, None))
    assert acc.high == 1.0 and acc.low > 0.7 and loss.low == 0.0 and loss.high > 0.2
    assert mean_ci([0.97, 0.97, 0.97], scale=(0.0, 1.0)).all_equal


def test_power_agrees_with_simulated_t_tests():
    from scipy import stats

    rng = np.random.default_rng(1)
    n, effect, alpha = 6, 1.2, 0.05
    d = rng.normal(effect, 1.0, size=(20000, n))
    simulated = (stats.ttest_1samp(d, 0.0, axis=1).pvalue < alpha).mean()
    assert paired_power(effect, n, alpha) == pytest.approx(simulated, abs=0.015)
    assert paired_power(detectable_effect(n, alpha), n, alpha) == pytest.approx(0.8, abs=1e-3)
    need = seeds_for(1.0, alpha)
    assert paired_power(1.0, need, alpha) >= 0.8 > paired_power(1.0, need - 1, alpha)


def test_too_few_seeds_are_named_before_training_with_the_number_that_would_do():
    warning = power_warning(3, 7)
    assert "practically no difference can be called significant" in warning and "--seeds 17" in warning
    assert "no difference can be tested" in power_warning(1, 2)
    assert power_warning(10, 2) is None and power_warning(3, 0) is None


# --- a fabricated study: what the verdict and table say ---------------------------------------------------

def fabricated(control_shift: float, seeds=(0, 1, 2, 3, 4, 5)) -> StudyResult:
    rng = np.random.default_rng(3)
    plan = {"arms": [{"name": n, "remedies": []} for n in ("baseline", "good", "tied", "control")],
            "seeds": list(seeds), "control_seeds": [CONTROL_SEEDS + s for s in seeds],
            "conditions": [Conditions(train_size=100).to_dict()], "train": {"epochs": 10}}
    base = 0.8 + rng.normal(0, 0.01, len(seeds))
    accs = {"baseline": base, "good": base + 0.05 + rng.normal(0, 0.005, len(seeds)), "tied": base + 0.02,
            "control": base + control_shift + rng.normal(0, 0.01, len(seeds))}
    records = []
    for arm, values in accs.items():
        for i, s in enumerate(seeds):
            seed = CONTROL_SEEDS + s if arm == "control" else s
            records.append({"member": f"0/{arm}/{seed}", "condition": 0, "arm": arm, "seed": seed,
                            "test_accuracy": float(min(1.0, values[i])), "test_loss": 0.5, "train_accuracy": 1.0,
                            "val_accuracy": 0.8, "gap": 0.2, "best_epoch": 5, "stopped_epoch": None,
                            "diverged": False, "diagnosis": {"regime": "overfitting"}})
    return StudyResult(plan, {"name": "fake"}, records, None)


def test_the_control_is_the_noise_floor_and_not_one_of_the_comparisons():
    r = fabricated(control_shift=0.0)
    assert [c.arm for c in r.comparisons()] == ["good", "tied"]  # Holm over the remedies only
    table = r.table().set_index("arm")
    assert table.loc["control", "role"] == "control" and not table.loc["control", "significant"]
    assert table.loc["tied", "all_equal"] and table.loc["tied", "diff_low"] == table.loc["tied", "diff_high"]
    said = verdict(r)
    assert "Noise floor: the A/A control" in said and "WARNING" not in said
    assert "good (+5.0 points, Holm-adjusted 95% CI" in said
    assert "also better: tied" in said  # six seeds all +2.0: the exact sign-flip test, p = 1/32
    assert table.loc["tied", "p_holm"] == pytest.approx(2 ** -5)
    assert "points or more are found 80% of the time" in said
    power = r.to_dict()["power"][0]
    assert power["seeds"] == 6 and power["comparisons"] == 2 and 0 < power["detectable_difference"] < 0.05


def test_a_significant_control_says_loudly_that_the_study_cannot_be_trusted():
    r = fabricated(control_shift=0.04)
    assert r.table().set_index("arm").loc["control", "significant"]
    assert "WARNING: the A/A control" in verdict(r) and "cannot be trusted" in verdict(r)


# --- real studies ----------------------------------------------------------------------------------------

def test_disjoint_seed_ranges_reach_the_same_verdict_on_a_clear_cut_workload():
    def significant(seeds, expected):
        r = Study("digits", "mlp", ["shrink=0.004", "l2=1e-6"], seeds=seeds, epochs=6,
                  conditions=[Conditions(train_size=150)], train=FAST).run()
        assert sorted(set(r.members["seed"])) == expected
        return {(c.arm, c.difference.mean > 0) for c in r.comparisons() if c.significant}

    first, second = significant("0-2", [0, 1, 2]), significant("10-12", [10, 11, 12])
    assert ("shrink=0.004", False) in first  # one hidden unit cannot tell ten digits apart: clearly worse
    assert first == second


def test_the_control_trains_on_seeds_of_its_own_beside_the_baseline():
    r = Study("wine", "mlp", ["dropout=0.5"], seeds="3-5", epochs=4, conditions=[Conditions(train_size=60)],
              train=FAST, control=True).run()
    seeds = r.members.groupby("arm")["seed"].apply(list).to_dict()
    assert seeds["baseline"] == seeds["dropout=0.5"] == [3, 4, 5]
    assert seeds["control"] == [CONTROL_SEEDS + 3, CONTROL_SEEDS + 4, CONTROL_SEEDS + 5]
    base = r.members[r.members["arm"] == "baseline"]["test_loss"].to_numpy()
    control = r.members[r.members["arm"] == "control"]["test_loss"].to_numpy()
    assert not np.allclose(base, control)  # other seeds, other results
    assert r.control() is not None and len(r.comparisons()) == 1
    with pytest.raises(GoodfitError, match="arms is empty"):
        Study("wine", "mlp", [], seeds=2)
    with pytest.raises(GoodfitError, match="the name of the A/A control"):
        Study("wine", "mlp", [__import__("goodfit").Arm("baseline"), __import__("goodfit").Arm("control")],
              seeds=2, control=True)


def test_resampled_splits_give_each_seed_its_own_training_data_and_one_test_set():
    study = Study("wine", "mlp", ["dropout=0.5"], seeds=3, epochs=3, conditions=[Conditions(train_size=60)],
                  train=FAST, resample_splits=True)
    tasks = study.tasks()
    assert len(tasks) == 1 and len(tasks[0].members) == 6  # every seed in one population, each on its own data
    from goodfit.engine import Member, train
    from goodfit.study import splits_for

    a, b = (splits_for(study.plan, 0, s) for s in (0, 1))
    assert (a.y_test == b.y_test).all() and not np.array_equal(a.X_val, b.X_val)
    r = study.run()
    assert r.to_dict()["splits"] == "resampled per seed" and len(r.members) == 6
    alone = train(b, [Member(__import__("goodfit").Arm("baseline"), 1)], config=TrainConfig(**study.plan["train"]))
    row = r.members[(r.members["arm"] == "baseline") & (r.members["seed"] == 1)].iloc[0]
    assert row["test_loss"] == pytest.approx(alone.members[0].test_loss, rel=1e-4)
    same = Study("wine", "mlp", ["dropout=0.5"], seeds=3, epochs=3, conditions=[Conditions(train_size=60)],
                 train=FAST)
    assert len(same.tasks()) == 1 and "resample_splits" not in same.plan  # earlier plans keep their fingerprint


def test_cli_study_with_strengths_a_seed_range_and_a_control(tmp_path, monkeypatch):
    out = tmp_path / "s"
    code, stdout, stderr = goodfit_here(["study", "--data", "wine", "--arms",
                                         "baseline,dropout=0.5,augment=noise:0.1+mixup,early_stopping=patience:3",
                                         "--seeds", "10-12", "--control", "--epochs", "4", "--train-size", "60",
                                         "--out", out], monkeypatch)
    assert code == 0, stderr
    assert "practically no difference can be called significant" in " ".join(stderr.split())  # 3 seeds, 3 comparisons
    assert "Noise floor" in stdout or "WARNING: the A/A control" in stdout
    results = json.loads((out / "results.json").read_text())
    assert [a["arm"] for a in results["arms"]] == ["baseline", "dropout=0.5", "augment=noise:0.1+mixup",
                                                     "early_stopping=patience:3", "control"]
    assert sorted({m["seed"] for m in results["members"]}) == [10, 11, 12] + [CONTROL_SEEDS + s for s in (10, 11, 12)]
    for arm in results["arms"]:  # each arm's t interval over its seeds, cut to what the quantity can take
        for name, cut in (("test_accuracy", (0.0, 1.0)), ("test_loss", (0.0, np.inf))):
            values = np.array([m[name] for m in results["members"] if m["arm"] == arm["arm"]])
            low = high = values.mean()  # every seed alike: the interval is the value
            if np.ptp(values) > 0:
                low, high = scipy.stats.t.interval(0.95, len(values) - 1, values.mean(), scipy.stats.sem(values))
            want = (max(low, cut[0]), min(high, cut[1]))
            assert (arm[f"{name}_low"], arm[f"{name}_high"]) == pytest.approx(want, rel=1e-6), (arm["arm"], name)
    assert results["power"][0]["seeds"] == 3 and results["controls"][0]["arm"] == "control"
    html = (out / "report.html").read_text()
    assert "Holm-adjusted 95% CI" in html and "A/A" in html


def test_cli_bad_arms_are_one_line_and_exit_code_2(tmp_path, monkeypatch):
    code, _, stderr = goodfit_here(["study", "--data", "wine", "--arms", "baseline,dropout=lots",
                                    "--out", tmp_path / "x"], monkeypatch)
    assert code == 2 and "'lots' is not a number" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_a_store_holding_members_under_other_units_names_resumes_without_training_them_again(tmp_path):
    """A store written when each seed of a resampled study was its own unit (`c0-s1-...`) holds the
    same members under other unit names: they are kept, only the missing ones train."""
    import sqlite3

    study = Study("wine", "mlp", ["dropout=0.5"], seeds=2, epochs=2, conditions=[Conditions(train_size=60)],
                  train=TrainConfig(epochs=2), resample_splits=True)
    first = study.run(tmp_path)
    with sqlite3.connect(tmp_path / "study.db") as db:
        db.execute("UPDATE units SET unit = 'c0-s0-mlp-w256-d2'")
        db.execute("UPDATE members SET unit = 'c0-s0-mlp-w256-d2'")
        db.execute("DELETE FROM members WHERE member = '0/dropout=0.5/1'")
        db.execute("DELETE FROM history WHERE member = '0/dropout=0.5/1'")
    trained = []
    again = study.run(tmp_path, on_event=lambda e: trained.append(e["arms"]) if e["type"] == "unit" else None)
    assert trained == [["dropout=0.5"]]  # only the missing member
    assert len(again.members) == 4
    a, b = (r.members.sort_values(["arm", "seed"]) for r in (again, first))
    assert a["arm"].tolist() == b["arm"].tolist() and a["seed"].tolist() == b["seed"].tolist()
    np.testing.assert_allclose(a["test_loss"], b["test_loss"], rtol=1e-4)  # alone, within a few ulps
