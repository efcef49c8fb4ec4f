"""goodfit causes: planted noise is found, a clean balanced set gets no label cause, cut classes are named."""
import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from goodfit.causes import NAMES, NOISE_SHARE, Causes
from goodfit.causes.labels import noise_share
from goodfit.cli import app, main
from goodfit.data import Dataset, load

QUICK = {"folds": 4, "seeds": 2, "epochs": 15}


def _digits(rows: int, seed: int = 0) -> Dataset:
    ds = load("digits")
    keep = np.sort(np.random.default_rng(seed).permutation(len(ds.y))[:rows])
    return Dataset("digits-part", ds.X[keep], ds.y[keep], ds.kind, ds.classes, standardize=False)


def _csv(ds: Dataset, path) -> str:
    frame = pd.DataFrame(ds.X.reshape(len(ds.X), -1), columns=[f"p{i}" for i in range(64)])
    frame["label"] = ds.y
    frame.to_csv(path, index=False)
    return str(path)


def test_planted_noise_is_found_with_its_likely_labels():
    ds = _digits(600)
    rng = np.random.default_rng(1)
    wrong = np.zeros(len(ds.y), bool)
    wrong[rng.permutation(len(ds.y))[:90]] = True  # 15% of the labels changed at known rows
    truth = ds.y
    noisy = np.where(wrong, (truth + rng.integers(1, 10, len(truth))) % 10, truth)
    labels = Causes(Dataset("noisy", ds.X, noisy, ds.kind, ds.classes, standardize=False), **QUICK).label_scores()
    flagged = np.zeros(len(truth), bool)
    flagged[labels.flagged] = True
    precision, recall = (flagged & wrong).sum() / flagged.sum(), (flagged & wrong).sum() / wrong.sum()
    assert precision >= 0.85 and 2 * precision * recall / (precision + recall) >= 0.8, (precision, recall)
    assert 0.15 / 1.5 <= labels.share <= 0.15 * 1.5 and labels.share_interval[0] > NOISE_SHARE
    hits = labels.flagged[wrong[labels.flagged]]
    assert (labels.likely[hits] == truth[hits]).mean() >= 0.8  # the likely label is mostly the true one
    assert labels.score[labels.flagged].min() >= np.delete(labels.score, labels.flagged).max()


def _hard_probabilities(rows: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold probabilities as a model that gets half the rows right gives them (the true class a little
    ahead on average, often behind), labels with `noise` of them changed at random rows, and which rows."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, rows)
    logits = rng.normal(0, 1, (rows, 10))
    logits[np.arange(rows), truth] += 1.2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    wrong = np.zeros(rows, bool)
    wrong[rng.permutation(rows)[:int(noise * rows)]] = True
    return p, np.where(wrong, (truth + rng.integers(1, 10, rows)) % 10, truth), wrong


def test_hard_rows_are_not_counted_as_wrong_labels():
    from cleanlab.filter import find_label_issues
    p, y, _ = _hard_probabilities(4000, 0.0)
    assert (p.argmax(1) != y).mean() > 0.4  # hard: the model is wrong on many rows, though every label is right
    assert find_label_issues(y, p, filter_by="prune_by_noise_rate").mean() > 0.1  # the count goodfit used to take
    share, (low, high) = noise_share(p, y)
    assert share < 0.02 and low < NOISE_SHARE, (share, low, high)


@pytest.mark.parametrize("noise", [0.05, 0.2])
def test_the_share_of_planted_wrong_labels_is_estimated_with_an_interval_around_it(noise):
    p, y, wrong = _hard_probabilities(4000, noise, seed=1)
    share, (low, high) = noise_share(p, y)
    assert noise / 1.5 <= share <= noise * 1.5 and 0 < low <= share <= high, (share, low, high)
    assert noise_share(p, y) == (share, (low, high))  # a seed fixes the interval


def test_the_curve_reuses_the_label_checks_first_fold_as_its_full_size(monkeypatch):
    import goodfit.causes as causes
    sizes, side_by_side = [], causes.train_side_by_side
    monkeypatch.setattr(causes, "train_side_by_side", lambda X, y, ds, jobs, model: (
        sizes.append(len(jobs)), side_by_side(X, y, ds, jobs, model))[1])
    from goodfit.engine.memory import torch_threads
    with torch_threads(1):  # one after another: quick on a busy machine
        run = Causes("wine", folds=5, seeds=1, epochs=3).run().curve
        alone = Causes("wine", folds=5, seeds=1, epochs=3).learning_curve()  # every size trained by the curve itself
    assert sizes == [3, 4] and run.points == alone.points


def test_calls_trained_side_by_side_get_the_results_each_gets_alone():
    from goodfit.causes.members import features, fold_parts, train_parts, train_side_by_side
    from goodfit.engine import TrainConfig
    from goodfit.engine.memory import torch_threads
    from goodfit.models import ModelSpec
    from goodfit.remedies import Arm
    ds = load("wine")
    X, folds = features(ds), fold_parts(ds.y, 3, seed=0)
    jobs = [([(folds[0], 0), (folds[1], 1)], TrainConfig(epochs=2), Arm("baseline")),
            ([(folds[2], 2)], TrainConfig(epochs=3), Arm("baseline"))]
    with torch_threads(2):
        together = train_side_by_side(X, ds.y, ds, jobs, ModelSpec("mlp"))
    for (parts, config, arm), got in zip(jobs, together):
        with torch_threads(1):  # what a worker runs on: the same arithmetic, to the last digit
            alone = train_parts(X, ds.y, ds, parts, ModelSpec("mlp"), config, arm)
        assert [len(r.history) for r in got.result.members] == [config.epochs] * len(parts)
        assert [r.scores["val_loss"] for r in got.result.members] == [r.scores["val_loss"] for r in alone.result.members]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("causes")
    path = _csv(_digits(700), folder / "digits.csv")
    got = CliRunner().invoke(app, ["causes", "--data", path, "--target", "label", "--folds", "4", "--seeds", "2",
                                   "--epochs", "15", "--json", "--out", str(folder / "out")])
    assert got.exit_code == 0, got.output
    return json.loads(got.output), folder / "out"


def test_a_clean_balanced_set_gets_no_label_or_imbalance_cause(clean_run):
    found, _ = clean_run
    names = [c["name"] for c in found["causes"]]
    assert "noisy_labels" not in names and "imbalance" not in names, found["causes"]
    assert len(found["label_issues"]) < 0.02 * found["rows"]
    low, high = found["noise_share_interval"]
    assert low <= found["estimated_noise_share"] <= high and low <= NOISE_SHARE


def test_the_json_has_the_issues_shape_and_the_csv_every_row(clean_run):
    found, out = clean_run
    assert {"causes", "label_issues", "classes", "learning_curve"} <= set(found)
    assert all(set(c) >= {"name", "evidence", "remedies"} and c["name"] in NAMES for c in found["causes"])
    assert all(set(i) == {"row", "given", "likely", "score"} for i in found["label_issues"])
    scores = [i["score"] for i in found["label_issues"]]
    assert scores == sorted(scores, reverse=True)
    assert [c["class"] for c in found["classes"]] == [str(c) for c in range(10)]
    assert abs(sum(c["share"] for c in found["classes"]) - 1) < 1e-3
    curve = found["learning_curve"]
    assert len(curve["sizes"]) == len(curve["metric"]) == 4 and curve["sizes"] == sorted(curve["sizes"])
    table = pd.read_csv(out / "label_scores.csv")
    assert len(table) == found["rows"] == 700 and sorted(table["row"]) == list(range(700))
    assert table["flagged"].sum() == len(found["label_issues"])


def test_classes_cut_to_a_small_share_are_named_as_imbalance():
    ds = load("digits")
    rng = np.random.default_rng(0)
    keep = np.concatenate([np.flatnonzero(ds.y == c)[:60] if c < 7 else np.flatnonzero(ds.y == c)[:6]
                           for c in range(10)])  # classes 7, 8, 9 at a tenth of the others
    keep = np.sort(keep[rng.permutation(len(keep))])
    cut = Dataset("cut", ds.X[keep], ds.y[keep], ds.kind, ds.classes, standardize=False)
    found = Causes(cut, folds=3, seeds=2, epochs=15).run().to_dict()
    imbalance = [c for c in found["causes"] if c["name"] == "imbalance"]
    assert imbalance, found["causes"]
    for name in ("7", "8", "9"):
        assert f"{name} (" in imbalance[0]["evidence"]
    assert "6 (" not in imbalance[0]["evidence"]
    assert imbalance[0]["remedies"][0] == "class_weights"


def _exit(args, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["goodfit", "causes", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return done.value.code, capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["--data", "no_such.csv"], "neither a built-in"),
    (["--data", "digits", "--folds", "1"], "folds"),
    (["--data", "digits", "--metric", "rmse"], "metric"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, says, capsys, monkeypatch):
    code, err = _exit(args, capsys, monkeypatch)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_a_wrong_column_is_named_with_the_fix(tmp_path, capsys, monkeypatch):
    path = _csv(_digits(50), tmp_path / "d.csv")
    code, err = _exit(["--data", path, "--target", "lable"], capsys, monkeypatch)
    assert code == 2 and "--target label" in err
