"""goodfit causes: planted noise is found, a clean balanced set gets no label cause, cut classes are named."""
import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from goodfit.causes import NAMES, Causes
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
    assert precision >= 0.85 and recall >= 0.8, (precision, recall)
    assert 0.12 <= labels.share <= 0.18
    hits = labels.flagged[wrong[labels.flagged]]
    assert (labels.likely[hits] == truth[hits]).mean() >= 0.8  # the likely label is mostly the true one
    assert labels.score[labels.flagged].min() >= np.delete(labels.score, labels.flagged).max()


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
