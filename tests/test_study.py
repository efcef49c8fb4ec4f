"""The study end to end: files, resume, refusal of a changed plan, learning and validation curves."""
import json

import pytest
from conftest import goodfit_here

from goodfit import Arm, Conditions, Dropout, TrainConfig, plot, show, verdict_of
from goodfit.errors import GoodfitError
from goodfit.executors import LocalExecutor
from goodfit.report.verdict import summary, verdict_for
from goodfit.study import Study, StudyResult

FAST = TrainConfig(epochs=3, batch_size=16)


def small_study(**kw):
    args = dict(data="wine", arms=[Arm("baseline"), Arm("dropout", (Dropout(0.5),))], seeds=2, epochs=3,
                conditions=[Conditions(train_size=40), Conditions(train_size=80)], train=FAST)
    args.update(kw)
    return Study(**args)


class Interrupted(Exception):
    pass


class DiesAfterFirstUnit(LocalExecutor):
    def run(self, tasks, work, on_result, on_epoch=None):
        for i, task in enumerate(tasks):
            if i == 1:
                raise Interrupted
            on_result(task, work(task, on_epoch))


def test_study_cli_writes_results_report_and_store(tmp_path, monkeypatch):
    out = tmp_path / "s"
    code, stdout, stderr = goodfit_here(["study", "--data", "wine", "--seeds", "2", "--epochs", "2",
                                         "--arms", "baseline,dropout,augment", "--out", out], monkeypatch)
    assert code == 0, stderr
    assert "verdict" in stdout
    assert {p.name for p in out.iterdir()} >= {"results.json", "report.html", "study.db"}
    results = json.loads((out / "results.json").read_text())
    assert [a["arm"] for a in results["arms"]] == ["baseline", "dropout", "augment"]
    assert len(results["members"]) == 6 and all("diagnosis" in m for m in results["members"])


def test_resume_trains_only_missing_units_and_gives_identical_results(tmp_path):
    whole = small_study().run(tmp_path / "whole")
    with pytest.raises(Interrupted):
        small_study().run(tmp_path / "cut", executor=DiesAfterFirstUnit())
    resumed = small_study().run(tmp_path / "cut")
    assert whole.units_trained == 2 and resumed.units_trained == 1
    strip = lambda r: sorted((json.dumps(m, sort_keys=True) for m in r.to_dict()["members"]))  # noqa: E731
    assert strip(resumed) == strip(whole)
    again = small_study().run(tmp_path / "cut")
    assert again.units_trained == 0


def test_a_changed_plan_in_the_same_folder_is_refused(tmp_path):
    small_study().run(tmp_path / "s")
    with pytest.raises(GoodfitError, match="another plan .*seeds"):
        small_study(seeds=3).run(tmp_path / "s")


def test_learning_curve_has_one_row_per_train_size_and_arm(tmp_path):
    table = small_study().run().table()
    assert list(zip(table["train_size"], table["arm"])) == [(40, "baseline"), (40, "dropout"),
                                                            (80, "baseline"), (80, "dropout")]


def test_strength_sweep_makes_one_arm_per_strength():
    from goodfit.grammar import parse_arms
    from goodfit.study import sweep_arms

    arms = parse_arms("baseline", "table") + sweep_arms(dropout=[0.1, 0.5], l2=[1e-4])
    result = small_study(arms=arms, conditions=[Conditions()]).run()
    assert list(result.table()["arm"]) == ["baseline", "dropout=0.1", "dropout=0.5", "l2=0.0001"]


def test_report_rebuilds_from_the_store_alone(tmp_path):
    first = small_study().run(tmp_path / "s")
    rebuilt = StudyResult.from_store(tmp_path / "s")
    assert verdict_of(rebuilt) == verdict_of(first)
    assert rebuilt.table().equals(first.table())


def test_verdict_says_nothing_differed_when_arms_are_identical():
    same = [Arm("baseline"), Arm("twin", (Dropout(0.0),))]
    result = small_study(arms=same, conditions=[Conditions()], seeds=3).run()
    assert "no remedy made a significant difference" in verdict_of(result)


def test_baseline_must_come_first():
    with pytest.raises(GoodfitError, match="first arm must be the baseline"):
        small_study(arms=[Arm("dropout", (Dropout(0.5),))])


def test_a_result_is_plotted_and_shown_in_a_notebook():
    result = small_study(conditions=[Conditions()]).run()
    figures = plot(result)
    assert figures and all(hasattr(f, "savefig") for f in figures.values())
    html = show(result)._repr_html_()
    assert verdict_of(result).split(",")[0] in html and "<table" in html


def test_the_default_study_compares_clean_with_wrong_labels_and_sums_it_up_in_one_sentence(tmp_path, monkeypatch):
    """The default study (make demo) is digits at 300 samples, clean and with 20% wrong labels."""
    code, _, stderr = goodfit_here(["study", "--epochs", "2", "--seeds", "2", "--arms", "baseline,early_stopping",
                                    "--out", tmp_path / "d", "--json"], monkeypatch)
    assert code == 0, stderr
    plan = json.loads((tmp_path / "d" / "results.json").read_text())["plan"]
    assert [(c["train_size"], c["label_noise"]) for c in plan["conditions"]] == [(300, 0.0), (300, 0.2)]


def test_a_study_over_clean_and_noisy_labels_says_what_mattered_in_each_first():
    result = Study("wine", "mlp", arms=["baseline", "early_stopping", "dropout=0.01"], seeds=6, epochs=60,
                   conditions=[Conditions(train_size=80), Conditions(train_size=80, label_noise=0.4)],
                   train=TrainConfig(batch_size=16)).run()
    head = summary(result)
    assert head.startswith("In short: with clean labels") and "; with 40% wrong labels" in head
    said = verdict_of(result)
    first = said[:said.index(head)]  # what a condition's verdict says first (the reference, nothing overfit) leads
    assert first == "" or (first.startswith("With clean labels, ") and "On wine" not in first)
    assert said.count("On wine") == 2
    t = result.table()
    for c, part in enumerate(head[len("In short: "):head.rindex(" (")].split("; ")):
        better = t[(t["condition"] == c) & t["significant"].fillna(False).astype(bool) & (t["gain"] > 0)]
        assert ("no remedy beat" in part) == better.empty
        assert all(f"{arm} (" in part for arm in better["arm"])
    one = Study("wine", "mlp", arms=["baseline", "dropout"], seeds=2, epochs=2).run()
    assert summary(one) is None and not verdict_of(one).startswith("In short")


def test_under_goodfits_own_label_noise_training_accuracy_is_also_scored_against_the_true_labels():
    from goodfit.data import load, split

    s = split(load("digits"), Conditions(train_size=300, label_noise=0.3), seed=0)
    assert (s.y_train_clean != s.y_train).tolist() == s.noisy.tolist() and s.noisy.mean() == 0.3
    assert split(load("digits"), Conditions(train_size=300), seed=0).y_train_clean is None
    result = Study("digits", "mlp", arms=["baseline", "early_stopping"], seeds=2, epochs=100,
                   conditions=[Conditions(train_size=300, label_noise=0.3)]).run()
    m = result.members.set_index("arm")
    base, stopped = m.loc["baseline"], m.loc["early_stopping"]
    assert (base["train_accuracy"] > 0.95).all()  # it memorized the wrong labels too ...
    assert (base["train_clean_accuracy"] < base["train_accuracy"] - 0.2).all()  # ... so the truth scores lower
    assert (stopped["train_clean_accuracy"] > stopped["train_accuracy"]).all()  # stopped before memorizing
    assert ((m["train_clean_accuracy"] - m["train_accuracy"]).abs() <= 0.3 + 1e-6).all()  # only noisy rows differ
    from rich.console import Console

    from goodfit.report.tables import study_table

    console = Console(width=200, record=True)
    console.print(study_table(result, width=200))
    said = " ".join(console.export_text().split())
    assert f"score {base['train_clean_accuracy'].mean():.1%} for the baseline" in said
    clean = Study("wine", "mlp", arms=["baseline"], seeds=2, epochs=2).run()
    assert "train_clean_accuracy" not in clean.members or clean.members["train_clean_accuracy"].isna().all()


def test_with_nothing_significant_the_summary_claims_no_significance_and_names_the_largest_change():
    result = Study("wine", "mlp", arms=["baseline", "dropout=0.01", "l2=1e-8"], seeds=2, epochs=3,
                   conditions=[Conditions(train_size=60), Conditions(train_size=60, label_noise=0.3)]).run()
    t = result.table()
    assert not t["significant"].fillna(False).astype(bool).any()
    head = summary(result)
    assert head.endswith("(details per condition below).") and "significant after Holm" not in head
    rows = t[(t["condition"] == 0) & (t["arm"] != "baseline")]
    largest = rows.loc[rows["gain"].abs().idxmax(), "arm"]
    assert f"the largest change was {largest} (" in verdict_for(result, 0)
