"""goodfit study --causes: the causes of the study's training set in results.json and report.html, rebuilt
by goodfit report without training; the shift check; the learning curve's interval holds a measurement."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import goodfit.causes.members
import goodfit.study.units
from goodfit.causes import Causes
from goodfit.causes.curve import expect, fitted_curve
from goodfit.cli import app
from goodfit.data import Dataset, load
from goodfit.study import Study
from goodfit.study.units import splits_for


@pytest.fixture(scope="module")
def noisy_study(tmp_path_factory):
    """A small study of wine with 20% of its training labels replaced, run with --causes."""
    out = tmp_path_factory.mktemp("study") / "noisy"
    got = CliRunner().invoke(app, ["study", "--data", "wine", "--model", "mlp", "--arms", "baseline,early_stopping",
                                   "--seeds", "2", "--epochs", "10", "--label-noise", "0.2", "--causes",
                                   "--out", str(out), "--json"])
    assert got.exit_code == 0, got.output
    return json.loads((out / "results.json").read_text()), out


def test_study_causes_finds_the_planted_noise_and_names_its_rows(noisy_study):
    results, _ = noisy_study
    found = results["causes"]
    assert "noisy_labels" in [c["name"] for c in found["causes"]], found["causes"]
    assert {"causes", "label_issues", "classes", "learning_curve", "checked"} <= set(found)
    assert "shift" in found["checked"]  # the study's test part is the shift check's test rows
    assert found["rows"] == sum(results["dataset"]["train_class_counts"])  # the training set, not all of wine
    planted = found["planted_noise"]
    assert planted["replaced"] == round(0.2 * found["rows"])
    assert planted["precision"] >= 0.7 and planted["recall"] >= 0.5, planted


def test_the_report_has_a_causes_section_with_the_arms_measured_gain(noisy_study):
    results, out = noisy_study
    page = (out / "report.html").read_text(encoding="utf-8")
    order = [page.index(f'id="{s}"') for s in ("results", "causes", "figures")]
    assert order == sorted(order)
    section = page[page.index('id="causes"'):page.index('id="figures"')]
    assert "noisy labels" in section and "Rows most likely mislabeled" in section and "Classes" in section
    row = next(r for r in results["arms"] if r["arm"] == "early_stopping")
    assert f"arm <code>early_stopping</code>" in section and f"{row['diff'] * 100:+.1f} points" in section
    assert "not an arm of this study (<code>--arms baseline,label_smoothing</code>)" in section
    assert section.count("data:image/png;base64,") == 1  # the learning curve
    first = results["causes"]["label_issues"][0]
    assert f'<td class="num">{first["row"]}</td><td>{first["given"]}</td><td>{first["likely"]}</td>' in section


def test_goodfit_report_rebuilds_the_causes_section_without_training(noisy_study, monkeypatch):
    results, out = noisy_study

    def no_training(*args, **kwargs):
        raise AssertionError("goodfit report trained")

    monkeypatch.setattr(goodfit.causes.members, "train", no_training)
    monkeypatch.setattr(goodfit.study.units, "train", no_training)
    before = (out / "report.html").read_text(encoding="utf-8")
    (out / "report.html").unlink()
    (out / "results.json").unlink()
    got = CliRunner().invoke(app, ["report", str(out)])
    assert got.exit_code == 0, got.output
    rebuilt = json.loads((out / "results.json").read_text())
    assert rebuilt["causes"] == results["causes"]
    page = (out / "report.html").read_text(encoding="utf-8")
    cut = lambda text: text[text.index('id="causes"'):text.index('id="figures"')]  # noqa: E731
    assert cut(page) == cut(before)


def _wine_with_test_rows(shift: float) -> Dataset:
    """120 rows of wine for training and the other 58 as test rows, moved by `shift` standard deviations."""
    ds = load("wine")
    order = np.random.default_rng(0).permutation(len(ds.y))
    train, test = np.sort(order[:120]), np.sort(order[120:])
    X = ds.X.astype(np.float32)
    moved = X[test] + shift * X[train].std(0)
    return Dataset("wine-part", X[train], ds.y[train], ds.kind, ds.classes, test=(moved, ds.y[test]))


@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_test_rows_from_a_shifted_distribution_are_the_shift_cause_and_iid_ones_are_not(shift):
    found = Causes(_wine_with_test_rows(shift), folds=3, seeds=1, epochs=10).run()
    names = [c.name for c in found.causes]
    if shift:
        assert found.shift.auc > 0.8 and found.shift.interval[0] > 0.7 and "shift" in names, found.shift
    else:
        assert 0.3 < found.shift.auc < 0.65 and "shift" not in names, found.shift


def _shared_held_out_curve(rng, held_out: int, sizes=(50, 100, 200, 400), seeds: int = 3):
    """A learning curve whose points all score the same `held_out` rows: row i is wrong at size n when its
    difficulty (shared by every point) plus a seed's own jitter falls under the true error `0.6 * n ** -0.5`."""
    difficulty = rng.random(held_out)
    points = []
    for n in sizes:
        for _ in range(seeds):
            wrong = difficulty + rng.normal(0, 0.01, held_out) < 0.6 * n ** -0.5
            points.append((n, 1 - wrong.mean()))
    return points


def test_the_interval_at_twice_the_data_holds_the_true_metric_though_every_point_shares_its_held_out_rows():
    rng = np.random.default_rng(0)
    truth = 1 - 0.6 * 800 ** -0.5  # 97.9%
    covered, line_only, widths = [], [], []
    for _ in range(300):
        points = _shared_held_out_curve(rng, held_out=100)
        curve = fitted_curve(points, held_out=100)
        covered.append(curve.interval_2x[0] <= truth <= curve.interval_2x[1])
        widths.append(curve.interval_2x[1] - curve.interval_2x[0])
        _, low, high = expect(points, 800)
        line_only.append(low <= truth <= high)
    assert np.mean(covered) >= 0.85, np.mean(covered)  # a 90% interval, on new rows
    assert np.median(widths) < 0.05, np.median(widths)  # and not one that holds anything
    assert np.mean(line_only) < 0.6, np.mean(line_only)  # the seeds' scatter alone does not see the shared rows


def test_study_causes_on_a_numeric_target_names_corrupted_targets_by_the_rows_of_the_file(tmp_path):
    out = tmp_path / "diabetes"
    got = CliRunner().invoke(app, ["study", "--data", "diabetes", "--arms", "baseline", "--seeds", "1", "--epochs", "4",
                                   "--causes", "--out", str(out), "--json"])
    assert got.exit_code == 0, got.output
    found = json.loads((out / "results.json").read_text())["causes"]
    assert found["task"] == "regression" and found["learning_curve"]["metric_name"] == "rmse"
    assert "corrupted_targets" in found["checked"] and "label_issues" not in found
    rows = splits_for(json.loads((out / "results.json").read_text())["plan"], 0).train_rows
    y = load("diabetes").y
    for issue in found["target_issues"]:  # named by the file's row: its target there is the one given
        assert issue["row"] in rows and issue["given"] == pytest.approx(float(y[issue["row"]]), rel=1e-5)
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="causes"'):page.index('id="figures"')]
    assert "Rows whose target looks corrupted" in section and "corrupted targets" in section
    assert not any(word in section for word in ("mislabeled", "Classes", "noisy labels", "imbalance", "points"))


def test_the_rows_a_study_names_as_mislabeled_are_rows_of_the_file(noisy_study):
    results, _ = noisy_study
    splits = splits_for(results["plan"], 0)
    labels = load("wine")
    issues = results["causes"]["label_issues"]
    position = {int(r): i for i, r in enumerate(splits.train_rows)}
    for issue in issues:
        i = position[issue["row"]]  # a row of the file that the training set holds
        assert splits.classes[splits.y_train[i]] == issue["given"]
        assert splits.noisy[i] or labels.classes[labels.y[issue["row"]]] == issue["given"]
    unplanted = [i for i in issues if not splits.noisy[position[i["row"]]]]
    assert len(unplanted) < len(issues) / 2  # most named rows are the planted ones, found at their file rows


def _own_mlp(**_):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(13, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def test_study_causes_train_as_the_study_does_its_optimizer_and_a_factory_of_the_users():
    study = Study("wine", model=_own_mlp, arms=["early_stopping"], seeds=1, epochs=3, optimizer="sgd", clip_grad=1.0,
                  causes=True)
    assert study.causes.config.optimizer == "sgd" and study.causes.config.clip_grad == 1.0
    assert study.causes.spec is _own_mlp and study.causes.rows is not None
    scores = Causes(study.causes.dataset, model=_own_mlp, folds=2, seeds=1, epochs=2, train=study.causes.config
                    ).label_scores()
    assert scores.probabilities.shape == (len(study.causes.dataset.y), 3)  # the user's module trained as members
