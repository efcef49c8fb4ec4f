"""Members that are calls of the user's own training function: `Study(fit=...)`, `goodfit study --script`,
workers in processes, failures recorded, resumed studies, and everything downstream unchanged."""
import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import goodfit as gf
from goodfit.cli import main
from goodfit.errors import GoodfitError
from goodfit.fit import Settings, fit_member
from goodfit.grammar import parse_arm
from goodfit.study import Study

ARMS = ["baseline", "dropout=0.3", "decay=0.1", "early_stopping=2"]

# A training function as a user writes it, without torch: a noisy curve whose shape the remedies change. Its
# source is a script too (`--script`), so the CLI and the workers run the same function.
SCRIPT = textwrap.dedent('''
    import numpy as np
    import pandas as pd

    def fit(settings, seed):
        rng = np.random.default_rng(seed)
        epochs = np.arange(1, settings.epochs + 1)
        helped = (settings.dropout or 0) + (settings.weight_decay or 0)  # each remedy lowers the late rise
        val = 1 / epochs + (0.03 - 0.1 * helped) * epochs + rng.normal(0, 0.005, len(epochs))
        rows = pd.DataFrame({"epoch": epochs, "loss": 1 / epochs, "val_loss": val,
                             "val_accuracy": 0.9 - 0.1 * val, "accuracy": 1 - 0.5 / epochs})
        patience = settings.early_stopping
        if patience is not None:  # stop `patience` epochs after the best, as the user's loop does
            best = int(np.argmin(val))
            rows = rows.iloc[:min(len(rows), best + 1 + patience)]
        rows.loc[rows.index[-1], "test_accuracy"] = float(rows["val_accuracy"].iloc[-1]) - 0.01
        return rows
''')
namespace: dict = {}
exec(SCRIPT, namespace)
fit = namespace["fit"]


def test_settings_carry_the_arms_remedies_as_plain_values_and_what_was_not_read():
    s = Settings(parse_arm("dropout=0.3+decay=0.1+early_stopping=4+label_smoothing=0.1", "table"), 3, 20)
    assert (s.dropout, s.weight_decay, s.l2, s.early_stopping, s.label_smoothing, s.width) == (0.3, 0.1, None, 4, 0.1, None)
    assert s.unapplied() == [] and (s.seed, s.epochs) == (3, 20)
    fresh = Settings(parse_arm("augment=noise:0.1", "table"), 0, 5)
    assert fresh.augment == {"noise": 0.1} and fresh.unapplied() == []
    with pytest.raises(AttributeError, match="settings has no 'dropuot'"):
        fresh.dropuot
    with pytest.raises(GoodfitError, match="do not change them"):
        fresh.dropout = 0.5


def test_a_study_of_a_function_is_judged_like_any_study():
    result = Study(fit=fit, arms=ARMS, seeds=4, epochs=20).run()
    table = result.table().set_index("arm")
    assert list(table.index) == ARMS and not result.failed
    assert table.loc["dropout=0.3", "test_accuracy"] > table.loc["baseline", "test_accuracy"]
    assert result.scored_on == "test"
    said = gf.verdict_of(result)
    assert said.startswith("On the training function fit, over 4 seeds, against the baseline's") and "dropout=0.3" in said
    stopped = result.members[result.members["arm"] == "early_stopping=2"]
    assert (stopped["epochs_run"] < 20).all() and (stopped["best_epoch"] == stopped["epochs_run"] - 2).all()
    regimes = result.members.set_index("arm")["diagnosis"].map(lambda d: d["regime"])
    assert (regimes["baseline"] == "overfitting").all() and "unknown" not in set(regimes)  # its val loss turns up


def test_a_function_without_test_scores_is_scored_on_validation_and_says_so():
    def no_test(settings, seed):
        rows = fit(settings, seed)
        return rows.drop(columns="test_accuracy")

    result = Study(fit=no_test, arms=["baseline", "dropout=0.3"], seeds=2, epochs=8).run()
    assert result.scored_on == "validation"
    assert "validation accuracy at each member's kept epoch" in gf.verdict_of(result)


def test_the_store_report_and_results_json_of_a_function_study(tmp_path):
    out = tmp_path / "fit"
    result = Study(fit=fit, arms=ARMS[:2], seeds=2, epochs=6, control=True).run(out)
    files = gf.write_outputs(result, out)
    payload = json.loads(files["results"].read_text())
    assert payload["plan"]["fit"] == "fit" and payload["plan"]["model"]["arch"] == "function"
    assert "<html" in files["report"].read_text()[:200].lower()
    again = Study(fit=fit, arms=ARMS[:2], seeds=2, epochs=6, control=True).run(out)
    assert again.units_trained == 0  # resumed: every member is stored
    assert gf.StudyResult.from_store(out).table()["test_accuracy"].tolist() == result.table()["test_accuracy"].tolist()


def test_a_remedy_the_function_ignores_fails_that_arm_and_the_study_goes_on(tmp_path):
    def no_stopping(settings, seed):  # reads dropout and epochs, never early_stopping
        arm = parse_arm("dropout=0.3", "table") if settings.dropout else gf.Arm("baseline")
        return fit(Settings(arm, seed, settings.epochs), seed)

    out = tmp_path / "ignored"
    result = Study(fit=no_stopping, arms=["baseline", "dropout=0.3", "early_stopping=2"], seeds=2, epochs=6).run(out)
    assert set(result.failed) == {"c0-fit-early_stopping=2-0", "c0-fit-early_stopping=2-1"}
    assert "never read settings.early_stopping" in result.failed["c0-fit-early_stopping=2-0"]
    assert set(result.members["arm"]) == {"baseline", "dropout=0.3"}


@pytest.mark.parametrize("returned,words", [
    (lambda s, seed: {"loss": [1.0]}, "returned a dict"),
    (lambda s, seed: pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}), "returned no validation curve"),
])
def test_what_a_function_returns_wrongly_is_named_in_one_line(returned, words):
    with pytest.raises(GoodfitError) as err:
        fit_member(returned, gf.Member(gf.Arm("baseline"), 0), 2)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_workers_run_members_in_processes_with_the_same_results(tmp_path):
    one = Study(fit=fit, arms=ARMS, seeds=2, epochs=10).run()
    two = Study(fit=fit, arms=ARMS, seeds=2, epochs=10).run(tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(one.table(), two.table())


def test_a_function_that_cannot_travel_to_workers_is_refused_before_anything_runs():
    import threading

    lock = threading.Lock()

    def holds_a_lock(settings, seed):
        with lock:
            return fit(settings, seed)

    with pytest.raises(GoodfitError, match="cannot be sent to worker processes"):
        Study(fit=holds_a_lock, arms=ARMS[:2], seeds=1, epochs=3).run(workers=2)


def test_the_cli_runs_a_script_with_workers_and_refuses_a_script_without_fit(tmp_path, capsys, monkeypatch):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["goodfit", "study", "--script", str(script), "--arms", "baseline,dropout=0.3",
                                      "--seeds", "2", "--epochs", "8", "--workers", "2", "--out", str(out)])
    try:
        main()
    except SystemExit as done:
        assert not done.code
    printed = " ".join(capsys.readouterr().out.split())  # wrapped to the terminal's width
    assert "verdict: On the training function train.py:fit, over 2 seeds" in printed and (out / "report.html").is_file()
    (tmp_path / "empty.py").write_text("def train(settings, seed):\n    pass\n")
    monkeypatch.setattr(sys, "argv", ["goodfit", "study", "--script", str(tmp_path / "empty.py"), "--out", str(out)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    assert "defines no function fit(settings, seed); it defines train" in capsys.readouterr().err


def test_a_recipe_searches_over_a_function_with_the_rung_as_its_epochs():
    from goodfit.recipe import Recipe

    seen = set()

    def counted(settings, seed):
        seen.add(settings.epochs)
        return fit(settings, seed)

    result = Recipe(fit=counted, space="dropout=0.1:0.5", candidates=3, eta=3, top=1, seeds=2, epochs=9).run()
    assert result.chosen and seen >= {3, 9}


def test_readme_function_example_runs(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "Study(fit=fit" in b]
    exec(compile(block.replace("epochs=20", "epochs=4"), "README:fit", "exec"), {"__name__": "__main__"})
    assert "On the training function fit, over 3 seeds" in capsys.readouterr().out


def test_spawned_workers_run_a_function_defined_here_by_value(tmp_path, monkeypatch):
    from goodfit.executors import processes

    monkeypatch.setattr(processes, "_start_method", lambda: "spawn")  # as once CUDA is in use
    one = Study(fit=fit, arms=ARMS[:2], seeds=2, epochs=6).run()
    two = Study(fit=fit, arms=ARMS[:2], seeds=2, epochs=6).run(workers=2)
    pd.testing.assert_frame_equal(one.table(), two.table())


def test_a_worker_that_dies_is_replaced_and_its_unit_tried_again(tmp_path):
    import os

    died = tmp_path / "died"

    def dies_once(settings, seed):
        if seed == 1 and settings.dropout and not died.exists():
            died.touch()
            os._exit(1)  # the process ends as a killed one would, mid-member
        return fit(settings, seed)

    out = tmp_path / "s"
    result = Study(fit=dies_once, arms=ARMS[:2], seeds=2, epochs=6).run(out, workers=2)
    assert died.exists() and not result.failed and len(result.members) == 4
    pd.testing.assert_frame_equal(result.table(), Study(fit=fit, arms=ARMS[:2], seeds=2, epochs=6).run().table())


def test_a_history_without_the_judged_metric_fails_with_the_fix():
    def losses_only(settings, seed):
        return fit(settings, seed)[["epoch", "loss", "val_loss"]]

    result = Study(fit=losses_only, arms=ARMS[:2], seeds=2, epochs=5).run()
    assert "has no accuracy (it logged train_loss, val_loss)" in next(iter(result.failed.values()))
    judged_on_loss = Study(fit=losses_only, arms=ARMS[:2], seeds=2, epochs=5, metric="loss").run()
    assert not judged_on_loss.failed and judged_on_loss.scored_on == "validation"


def test_how_training_ran_is_kept_with_the_study_and_in_results_json(tmp_path):
    def no_test(settings, seed):
        return fit(settings, seed).drop(columns="test_accuracy")

    out = tmp_path / "notes"
    result = Study(fit=no_test, arms=ARMS[:2], seeds=2, epochs=5).run(out)
    said = "no_test logged no test score: members are scored on validation at their kept epoch"
    assert [n for n in result.notes if n.endswith(said)] and result.to_dict()["notes"] == result.notes
    assert gf.StudyResult.from_store(out).notes == result.notes


def test_arms_that_trained_exactly_as_the_baseline_are_named():
    """A function that ignores what it is given (here through a remedy it reads and drops) trains every arm as the
    baseline: the verdict says the remedy never reached the model, not only that the seeds show no spread."""
    def ignores(settings, seed):
        settings.dropout  # noqa: B018 - read, and dropped
        return fit(Settings(gf.Arm("baseline"), seed, settings.epochs), seed)

    said = gf.verdict_of(Study(fit=ignores, arms=["baseline", "dropout=0.3"], seeds=2, epochs=5).run())
    assert "dropout=0.3 trained exactly as the baseline on every seed" in said
    honest = gf.verdict_of(Study(fit=fit, arms=["baseline", "dropout=0.3", "early_stopping=50"], seeds=2,
                                 epochs=5).run())
    assert "trained exactly as the baseline" not in honest  # early stopping that never stopped is no such arm
