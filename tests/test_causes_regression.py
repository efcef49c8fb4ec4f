"""goodfit causes on a numeric target: corrupted targets found with their likely values and counted with an
interval, the learning curve of an error that falls, the command's words and files, rows of the user's file."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import goodfit_here

from goodfit.causes import Causes
from goodfit.causes.curve import expect, fitted_curve
from goodfit.causes.targets import corrupted_count, count_interval
from goodfit.data import Dataset
from goodfit.engine import TrainConfig
from goodfit.errors import GoodfitError

QUICK = {"folds": 3, "seeds": 1, "epochs": 12}


def linear_rows(rows: int, moved: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear target with a little noise (standard deviation 0.5 of about 3.8), and `moved` rows' targets
    moved by 8 (about two of the target's standard deviations), at random rows: inputs, targets, moved rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5)).astype(np.float32)
    y = X @ np.array([3.0, -2.0, 1.0, 0.5, 0.0]) + rng.normal(0, 0.5, rows)
    wrong = np.zeros(rows, bool)
    wrong[rng.permutation(rows)[:moved]] = True
    return X, np.where(wrong, y + 8.0 * rng.choice([-1, 1], rows), y).astype(np.float32), wrong


def test_moved_targets_are_found_with_the_value_the_other_rows_suggest():
    X, y, wrong = linear_rows(300, 15)
    s = Causes(Dataset("moved", X, y, "table", (), task="regression"), **QUICK).target_scores()
    flagged = np.zeros(len(y), bool)
    flagged[s.flagged] = True
    assert (flagged & wrong).sum() >= 13 and (flagged & ~wrong).sum() <= 3, (flagged & wrong).sum()
    assert np.all(np.abs(s.likely[wrong & flagged] - (y[wrong & flagged] - np.sign(s.given - s.likely)[wrong & flagged]
                                                    * 8.0)) < 2.5)  # near the target before it moved
    assert s.interval[0] <= 15 <= s.interval[1] and 10 <= s.count <= 20, (s.count, s.interval)


def test_the_count_is_near_zero_on_normal_errors_and_near_the_planted_on_moved_ones():
    rng = np.random.default_rng(1)
    clean = rng.normal(0, 2.0, 3000)
    assert corrupted_count(clean) < 15 and count_interval(clean)[0] < 5  # chance's exceedances are taken off
    moved = clean.copy()
    moved[:150] += rng.choice([-1, 1], 150) * rng.uniform(10, 20, 150)  # 5 to 10 standard deviations
    low, high = count_interval(moved)
    assert low <= 150 <= high and high - low < 50, (low, high)  # about a sixth either side


def test_an_error_curve_falls_and_what_twice_the_data_adds_is_a_fall():
    rng = np.random.default_rng(0)
    points = [(n, 20 * n ** -0.5 * (1 + rng.normal(0, 0.02))) for n in (50, 100, 200, 400) for _ in range(3)]
    curve = fitted_curve(points, held_out=100, metric="rmse")
    truth = 20 * 800 ** -0.5
    assert curve.interval_2x[0] <= truth <= curve.interval_2x[1] and curve.at_2x < curve.metric[-1]
    mid, low, high = curve.gain_2x
    assert low <= mid <= high < 0  # RMSE falls, surely
    r2 = expect([(n, 1 - 2 * n ** -0.5) for n in (100, 200, 400)], 800, metric="r2")
    assert r2[0] == pytest.approx(1 - 2 * 800 ** -0.5)  # R² is read as a share: its error is 1 - R²


@pytest.fixture(scope="module")
def command(tmp_path_factory):
    """`goodfit causes` on a CSV of 300 rows whose first 15 targets are moved, written to --out."""
    folder = tmp_path_factory.mktemp("regression")
    X, y, wrong = linear_rows(300, 15, seed=2)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    frame.to_csv(folder / "houses.csv", index=False)
    return folder, frame, wrong


def test_goodfit_causes_on_a_numeric_target_speaks_of_targets_and_file_rows(command, monkeypatch):
    folder, frame, wrong = command
    code, out, err = goodfit_here(["causes", "--data", str(folder / "houses.csv"), "--target", "y", "--folds", "3",
                                   "--seeds", "1", "--epochs", "12", "--out", str(folder / "out")], monkeypatch)
    text = " ".join(out.split())
    assert code == 0, err
    assert "a numeric target" in text and "corrupted_targets: about" in text and "file row" in text, text
    assert "label" not in text.lower() and "accuracy" not in text.lower(), text  # no words of classes
    assert "learning curve (rmse, lower is better)" in text
    table = pd.read_csv(folder / "out" / "target_scores.csv")
    assert sorted(table["row"]) == list(range(300)) and list(table["score"]) == sorted(table["score"], reverse=True)
    assert np.allclose(table["given"], frame["y"].to_numpy()[table["row"]], atol=1e-4)  # `row` is the file's row
    assert wrong[table["row"][table["flagged"]]].mean() > 0.8
    found = json.loads((folder / "out" / "causes.json").read_text())
    assert found["task"] == "regression" and "label_issues" not in found and found["learning_curve"]["metric_name"] == "rmse"
    assert found["corrupted_count_interval"][0] <= found["corrupted_count"] <= found["corrupted_count_interval"][1]


def test_bad_input_on_a_numeric_target_is_one_line_and_exit_code_2(command, monkeypatch):
    folder, _, _ = command
    code, _, err = goodfit_here(["causes", "--data", str(folder / "houses.csv"), "--target", "y", "--metric", "accuracy"],
                                monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "metric 'accuracy' is not one causes can use on a numeric target; use one of rmse, mae, r2" in err
    X, y, _ = linear_rows(40, 0)
    with pytest.raises(GoodfitError, match="40 rows, too few for 5 folds of a numeric target"):
        Causes(Dataset("few", X, y, "table", (), task="regression"))
    with pytest.raises(GoodfitError, match="loss 'cross_entropy' does not fit a regression target"):
        Causes(Dataset("few", X, y, "table", (), task="regression"), folds=2, train=TrainConfig(loss="cross_entropy"))


def test_test_rows_moved_away_are_the_shift_cause_named_by_their_file_rows():
    X, y, _ = linear_rows(300, 0, seed=3)
    moved = X[200:] + 1.5  # the last 100 rows as test rows, moved 1.5 standard deviations along every feature
    ds = Dataset("part", X[:200], y[:200], "table", (), task="regression", test=(moved, y[200:]))
    found = Causes(ds, rows=np.arange(200) + 1000, test_rows=np.arange(100) + 5000, **QUICK).run()
    assert "shift" in [c.name for c in found.causes] and found.shift.auc > 0.9, found.shift
    shown = found.to_dict()["shift"]["unlike_training"]
    assert all(5000 <= r["test_row"] < 5100 for r in shown)  # the test file's rows, not positions in the check
    assert "least like training: test rows 50" in next(c.evidence for c in found.causes if c.name == "shift")
