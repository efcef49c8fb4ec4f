"""Regression through data, engine and study: task detection, losses, scores in the target's units, the
judged metric and its direction, and the bad targets refused in one line."""
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from goodfit import verdict_of
from goodfit.data import Conditions, load, split
from goodfit.data.files import read_path
from goodfit.engine import Member, TrainConfig, train
from goodfit.errors import GoodfitError
from goodfit.metrics import METRICS, default_metric, metric_for
from goodfit.models import ModelSpec
from goodfit.nn.losses import Loss
from goodfit.remedies import Arm, EarlyStopping
from goodfit.study import Study


def _csv(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_many_whole_numbers_are_regression_and_few_are_classes(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "dose": rng.integers(25, 346, 300),
                          "grade": rng.integers(0, 4, 300)})
    dose = read_path(_csv(tmp_path, frame), "dose")
    assert dose.task == "regression" and dose.y.dtype == np.float32 and "distinct whole numbers from" in dose.why
    grade = read_path(_csv(tmp_path, frame), "grade")
    assert grade.task == "classification" and grade.classes == ("0", "1", "2", "3")


def test_a_regression_target_forced_to_classes_is_refused_without_listing_values(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "dose": rng.integers(25, 346, 300)})
    with pytest.raises(GoodfitError) as err:
        read_path(_csv(tmp_path, frame), "dose", task="classification")
    message = str(err.value)
    assert "too many classes" in message and "--task regression" in message and len(message) < 300


@pytest.mark.parametrize("cells,words", [
    (["1.5", "2.5", "abc", "4.0"] * 10, "not numbers, e.g. 'abc'"),
    (["3.0"] * 40, "nothing to predict"),
])
def test_bad_regression_targets_are_one_line(tmp_path, cells, words):
    frame = pd.DataFrame({"x": np.arange(len(cells)), "y": cells})
    with pytest.raises(GoodfitError, match=words):
        read_path(_csv(tmp_path, frame), "y", task="regression")


def test_regression_splits_stratify_and_standardize_on_the_training_part():
    s = split(load("diabetes"), Conditions(train_size=200), seed=0)
    assert s.regression and s.y_train.dtype == np.float32 and s.num_outputs == 1
    assert abs(float(s.y_train.mean())) < 1e-5 and abs(float(s.y_train.std()) - 1) < 1e-4
    raw = load("diabetes").y
    assert s.target_std == pytest.approx(raw.std(), rel=0.2)  # the units come back through target_std
    with pytest.raises(GoodfitError, match="no classes to imbalance"):
        split(load("diabetes"), Conditions(imbalance=0.5))


def test_label_noise_on_a_number_takes_another_rows_target():
    clean = split(load("friedman"), Conditions(train_size=200), seed=0)
    noisy = split(load("friedman"), Conditions(train_size=200, label_noise=0.2), seed=0)
    assert noisy.noisy.sum() == 40
    assert not np.allclose(noisy.y_train[noisy.noisy], clean.y_train[noisy.noisy])


@pytest.mark.parametrize("model", ["mlp", "cnn1d"])
def test_the_engine_reports_rmse_mae_r2_in_the_targets_units(model):
    data = "friedman" if model == "mlp" else "signal"
    s = split(load(data), Conditions(train_size=200), seed=0)
    r = train(s, [Member(Arm("baseline"), 0)], ModelSpec(model, 32, 1), TrainConfig(epochs=5)).members[0]
    scores = r.scores
    assert {"test_rmse", "test_mae", "test_r2", "val_rmse", "train_rmse"} <= set(scores)
    assert scores["test_loss"] * s.target_std ** 2 == pytest.approx(scores["test_rmse"] ** 2, rel=1e-3)  # MSE loss
    assert {"train_rmse", "val_rmse", "val_mae", "val_r2"} <= set(r.history.columns)
    assert "train_accuracy" not in r.history.columns


def test_a_loss_of_the_other_task_is_refused():
    s = split(load("friedman"), Conditions(train_size=100), seed=0)
    with pytest.raises(GoodfitError, match="does not fit a regression target"):
        train(s, [Member(Arm("baseline"), 0)], config=TrainConfig(epochs=1, loss="cross_entropy"))
    with pytest.raises(GoodfitError, match="validation accuracy"):
        train(s, [Member(Arm("es", (EarlyStopping(monitor="val_accuracy"),)), 0)], config=TrainConfig(epochs=1))


def test_metrics_know_their_direction_range_and_words():
    rmse, r2, acc = METRICS["rmse"], METRICS["r2"], METRICS["accuracy"]
    assert rmse.gain(-2.0) == 2.0 and acc.gain(0.01) == 0.01 and r2.scale == (None, 1.0)
    assert acc.change(-0.0001) == "+0.0 points"  # never −0.0
    with pytest.raises(GoodfitError, match="use --metric rmse, mae, r2 or loss"):
        metric_for("balanced_accuracy", "regression")
    assert default_metric("classification", [50, 10])[0] == "balanced_accuracy"


def test_a_regression_study_judges_by_rmse_where_lower_is_better():
    study = Study("friedman", model="mlp", arms=["dropout=0.3"], seeds=2, epochs=8,
                  conditions=[Conditions(train_size=150)])
    result = study.run()
    table = result.table()
    assert result.metric.name == "rmse" and set(table["metric"]) == {"rmse"}
    dropout = table[table["arm"] == "dropout=0.3"].iloc[0]
    assert dropout["gain"] == pytest.approx(-dropout["diff"])
    members = result.members
    assert "test RMSE" in verdict_of(result) and "%" not in verdict_of(result).split(":")[0]
    for _, row in table.iterrows():  # each arm's mean RMSE and its t interval, cut at zero where it reaches below
        rmse = members.loc[members["arm"] == row["arm"], "test_rmse"].to_numpy()
        low, high = scipy.stats.t.interval(0.95, len(rmse) - 1, rmse.mean(), scipy.stats.sem(rmse))
        assert row["score"] == pytest.approx(rmse.mean(), rel=1e-6)
        assert (row["score_low"], row["score_high"]) == pytest.approx((max(low, 0.0), high), rel=1e-6)


def test_balanced_accuracy_is_the_default_on_imbalanced_classes_and_can_be_asked_for():
    conditions = [Conditions(imbalance=0.1)]
    study = Study("wine", model="mlp", arms=["dropout=0.3"], seeds=2, epochs=3, conditions=conditions)
    result = study.run()
    assert result.metric.name == "balanced_accuracy" and "balanced accuracy" in verdict_of(result)
    asked = Study("wine", model="mlp", arms=["dropout=0.3"], seeds=2, epochs=3, metric="macro_f1").run()
    assert asked.metric.name == "macro_f1"
    by_arm = asked.members.groupby("arm")["test_macro_f1"].mean()  # the table's score is the members' macro F1
    assert asked.table().set_index("arm")["score"].to_dict() == pytest.approx(by_arm.to_dict(), rel=1e-6)
    assert not np.allclose(by_arm, asked.members.groupby("arm")["test_accuracy"].mean())  # and not their accuracy
    with pytest.raises(GoodfitError, match="does not apply to classification"):
        Study("wine", arms=["dropout=0.3"], seeds=2, epochs=1, metric="rmse")


def test_the_members_of_a_regression_study_are_diagnosed_from_their_curves():
    """Each member's diagnosis reads its validation loss (no classes, no error in the evidence)."""
    from goodfit.study import Study

    result = Study("diabetes", "mlp", arms=["baseline"], seeds=2, epochs=40).run()
    for d in result.members["diagnosis"]:
        assert d["regime"] == "overfitting" and d["evidence"][0].startswith("validation loss was lowest at epoch")
