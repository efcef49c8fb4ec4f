"""Regression from the command line: `goodfit train --task regression --loss mae|huber` and what it writes,
and `goodfit study` and `goodfit recipe` judged by `--metric mae`, `r2` and `loss`, each in its own direction.

Every figure is recomputed from what the command wrote: the saved model's predictions scored by scikit-learn,
the members' own scores averaged and paired by hand, each rung's survivors against the rows it dropped.
"""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import goodfit_here
from sklearn import metrics as skm

from goodfit.data import Conditions, load, split
from goodfit.metrics import METRICS
from goodfit.nn.population import Architecture, build_module

LOWER_IS_BETTER = {"mae": True, "loss": True, "r2": False}
WORDS = {"mae": "test MAE", "r2": "test R²", "loss": "test loss"}


@pytest.fixture(scope="module")
def scores_csv(tmp_path_factory):
    """300 rows whose target `score` holds 11 whole numbers: classes unless --task regression says otherwise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    score = np.clip(np.round(5 + 2 * X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=300)), 0, 10).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(score=score)
    path = tmp_path_factory.mktemp("regression") / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def _huber(error: np.ndarray) -> float:
    """Huber with delta 1, written out: half the square inside 1, the absolute value less a half outside."""
    a = np.abs(error)
    return float(np.mean(np.where(a < 1, 0.5 * a ** 2, a - 0.5)))


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_train_with_task_regression_and_a_robust_loss_writes_what_its_model_scores(scores_csv, tmp_path, loss,
                                                                                    monkeypatch):
    out = tmp_path / loss
    code, printed, err = goodfit_here(["train", "--data", scores_csv, "--target", "score", "--task", "regression",
                                       "--loss", loss, "--model", "mlp", "--hidden", "32", "--layers", "1",
                                       "--epochs", "6", "--out", out], monkeypatch)
    assert code == 0, err
    assert printed.startswith("task: regression (--task regression)\n")
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["loss"] == loss and config["dataset"]["task"] == "regression"
    assert config["architecture"]["num_classes"] == 1  # one number out, not 11 classes
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert {"train_rmse", "val_rmse", "val_mae", "val_r2", "test_rmse", "test_mae", "test_r2"} <= set(history)
    assert not any("accuracy" in column for column in history)
    assert history["test_rmse"].notna().tolist() == [False] * 5 + [True]
    last = history.iloc[-1]

    s = split(load(str(scores_csv), "score", "regression"), Conditions(), seed=0)  # the run's split (--seed 0)
    assert s.target_std == pytest.approx(config["splits"]["target_std"])
    module = build_module(Architecture("mlp", 32, 1, (4,), 1))
    module.load_state_dict(torch.load(out / "model.pt", weights_only=True))
    with torch.no_grad():
        standardized = module.eval()(torch.as_tensor(s.X_test))[:, 0].numpy()
    predicted, truth = s.target_mean + s.target_std * standardized, s.target_mean + s.target_std * s.y_test
    assert last["test_rmse"] == pytest.approx(skm.root_mean_squared_error(truth, predicted), rel=1e-4)
    assert last["test_mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted), rel=1e-4)
    assert last["test_r2"] == pytest.approx(skm.r2_score(truth, predicted), rel=1e-4)
    error = standardized - s.y_test  # the loss is on standardized targets
    want = skm.mean_absolute_error(s.y_test, standardized) if loss == "mae" else _huber(error)
    assert last["test_loss"] == pytest.approx(want, rel=1e-4)
    other = _huber(error) if loss == "mae" else skm.mean_absolute_error(s.y_test, standardized)
    assert abs(last["test_loss"] - other) > 1e-3  # the figure tells the two losses apart
    row = [line for line in printed.splitlines() if line.startswith("│")]
    assert len(row) == 1, printed  # one member: seed, params, epochs, best epoch, RMSEs, test R², test loss
    cells = [cell.strip() for cell in row[0].strip("│").split("│")]
    assert cells[2] == "6" and cells[4:] == [f"{last['train_rmse']:.3g}", f"{last['val_rmse']:.3g}",
                                             f"{last['test_rmse']:.3g}", f"{last['test_r2']:.3f}",
                                             f"{last['test_loss']:.3f}"], printed


@pytest.fixture(scope="module", params=["mae", "r2", "loss"])
def study(request, tmp_path_factory):
    """diabetes, 3 seeds, 8 epochs: the baseline against an L2 penalty of 0.5, worse by every metric."""
    metric = request.param
    out = tmp_path_factory.mktemp("study") / metric
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, printed, err = goodfit_here(["study", "--data", "diabetes", "--model", "mlp", "--arms", "baseline,l2=0.5",
                                           "--seeds", "3", "--epochs", "8", "--metric", metric, "--json", "--out", out],
                                          monkeypatch)
    assert code == 0, err
    return metric, json.loads((out / "results.json").read_text())


def test_a_study_judges_by_the_metric_asked_in_its_direction(study):
    metric, results = study
    assert results["plan"]["metric"] == metric
    members = pd.DataFrame(results["members"])
    base, l2 = (results["arms"][0], results["arms"][1])
    assert (base["arm"], l2["arm"]) == ("baseline", "l2=0.5") and base["metric"] == l2["metric"] == metric
    mine = members.pivot(index="seed", columns="arm", values=f"test_{metric}")
    assert base["score"] == pytest.approx(mine["baseline"].mean(), rel=1e-6)
    assert l2["score"] == pytest.approx(mine["l2=0.5"].mean(), rel=1e-6)
    paired = (mine["l2=0.5"] - mine["baseline"]).mean()  # paired by seed
    assert l2["diff"] == pytest.approx(paired, rel=1e-6)
    assert l2["gain"] == pytest.approx(-paired if LOWER_IS_BETTER[metric] else paired, rel=1e-6)
    assert (mine["l2=0.5"] > mine["baseline"]).all() == LOWER_IS_BETTER[metric]  # worse, every seed
    assert l2["gain"] < 0 and l2["significant"], l2
    comparison = results["comparisons"][0][0]
    assert comparison["metric"] == f"test_{metric}" and comparison["significant"]
    assert f"against the baseline's {METRICS[metric].value(base['score'])} {WORDS[metric]}:" in results["verdict"]
    assert "significantly worse: l2=0.5" in results["verdict"] and "helped" not in results["verdict"]


@pytest.fixture(scope="module", params=["mae", "r2", "loss"])
def recipe(request, tmp_path_factory):
    """A tiny search on diabetes: 4 candidates, halved twice, the survivor confirmed on 2 fresh seeds."""
    metric = request.param
    out = tmp_path_factory.mktemp("recipe") / metric
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, printed, err = goodfit_here(["recipe", "--data", "diabetes", "--model", "mlp", "--space",
                                           "dropout=0:0.5,l2=1e-5:0.5", "--candidates", "4", "--eta", "2", "--top", "1",
                                           "--seeds", "2", "--epochs", "4", "--metric", metric, "--json", "--out", out],
                                          monkeypatch)
    assert code == 0, err
    return metric, json.loads((out / "results.json").read_text()), out


def test_a_recipe_keeps_the_best_by_the_metric_asked_in_its_direction(recipe):
    metric, results, out = recipe
    assert results["metric"] == metric and results["plan"]["metric"] == metric
    selection = pd.DataFrame(results["selection"])
    assert set(selection["metric"]) == {metric}
    best_first = not LOWER_IS_BETTER[metric]
    rungs = sorted(selection["rung"].unique())
    assert rungs == [0, 1, 2]
    survivor = selection[(selection["rung"] == 1) & (selection["recipe"] == "recipe-1")]["arm"].item()
    spread = False
    for rung in rungs:
        rows = selection[selection["rung"] == rung]
        trained = pd.DataFrame(json.loads((out / "search" / f"rung-{rung}" / "results.json").read_text())["members"])
        own = trained.groupby("arm")[f"val_{metric}"].mean()  # each candidate's score, from its members
        searched = rows[~rows["single"]]
        for name, score in zip(rows["arm"], rows["val_score"]):
            name = survivor if name == "recipe-1" else name  # the last rung names its survivor as confirmed
            assert score == pytest.approx(own[name], rel=1e-6), (rung, name)
        kept, dropped = searched[searched["continued"]], searched[~searched["continued"]]
        assert len(kept) == (2 if rung == 0 else 1)
        if len(dropped):
            spread |= set(kept["val_score"]).isdisjoint(dropped["val_score"])
            if best_first:
                assert kept["val_score"].min() >= dropped["val_score"].max(), rows
            else:
                assert kept["val_score"].max() <= dropped["val_score"].min(), rows
    assert spread, "the survivors scored as the dropped: the direction was not put to the test"
    last = selection[selection["rung"] == 2]
    singles = last[last["single"]].set_index("arm")["val_score"]
    best_single = singles.idxmax() if best_first else singles.idxmin()
    assert results["single"] == best_single
    confirmed = pd.DataFrame(results["confirmation"]["arms"])
    assert set(confirmed["metric"]) == {metric}
    assert [c["metric"] for c in results["against_baseline"]] == [f"test_{metric}"] * 2
    assert WORDS[metric] in " ".join(results["verdict"].split())
