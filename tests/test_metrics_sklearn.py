"""The metrics goodfit judges by, checked against scikit-learn's, member by member.

goodfit scores a whole population at once (`engine.scores.scores`: outputs `(K, N, C)`, targets shared
`(N,)` or each member's own `(K, N)`); scikit-learn scores one member at a time. Both must agree on every
member, including one whose targets lack a class. scikit-learn's rules for that case are the reference:
`balanced_accuracy_score` averages the recall of the classes present in the targets (a class only predicted
has no recall and is left out), and `f1_score(average="macro")` averages over the classes in the targets or
the predictions. A class in neither has no F1 that the data decide: with `labels=` naming it, scikit-learn
scores it by its `zero_division` argument (0 or 1 as asked), so it is left out, as scikit-learn's default
`labels` leaves it out. The causes' per-class recall and the shift check's AUC are checked the same way.
"""
import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from goodfit.causes.imbalance import class_rows
from goodfit.causes.shift import auc
from goodfit.data import Conditions, Dataset, split
from goodfit.engine import Member, TrainConfig, member_settings, train
from goodfit.engine.scores import scores
from goodfit.models import ModelSpec
from goodfit.nn.losses import Loss
from goodfit.remedies import Arm

C = 4


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    with warnings.catch_warnings():  # scikit-learn warns where a class has no recall or no F1; that is the case
        warnings.simplefilter("ignore")
        yield


def _sklearn_class_scores(t: np.ndarray, p: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    probabilities = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), -1).numpy()
    return {"accuracy": skm.accuracy_score(t, p), "balanced_accuracy": skm.balanced_accuracy_score(t, p),
            "macro_f1": skm.f1_score(t, p, average="macro"),
            "loss": skm.log_loss(t, probabilities, labels=np.arange(logits.shape[-1]))}


def _population_with_missing_classes(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits `(6, 50, 4)` and each member's own targets `(6, 50)`; members 1-4 each lack a class somewhere."""
    rng = np.random.default_rng(seed)
    K, N = 6, 50
    out = torch.tensor(rng.normal(size=(K, N, C)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, C, (K, N)))
    y[1][y[1] == 3] = 0  # class 3 absent from the targets, present among the predictions
    y[2][y[2] == 1] = 2  # class 1 absent from the targets and, below, from the predictions
    out[2, :, 1] = -10.0
    out[3, :, 0] += 10.0  # predicts class 0 for every row: three classes with no prediction
    y[4] = torch.tensor(rng.choice([0, 2], N))  # two classes only in the targets
    return out, y


def test_classification_scores_equal_sklearns_on_each_members_own_targets():
    out, y = _population_with_missing_classes()
    got = scores(out, y, Loss())
    pred = out.argmax(-1).numpy()
    assert (pred[1] == 3).any() and not (pred[2] == 1).any()  # the cases the population was made for
    for k in range(out.shape[0]):
        want = _sklearn_class_scores(y[k].numpy(), pred[k], out[k].numpy())
        for name, value in want.items():
            assert got[name][k] == pytest.approx(value, rel=1e-5, abs=1e-6), (k, name)


def test_a_class_missing_from_a_members_targets_is_scored_as_sklearn_scores_it():
    """Member 1 lacks class 3 in its targets but predicts it: no recall to average, an F1 of 0 counted.
    Member 2 lacks class 1 in both: scikit-learn with labels=range(C) scores it by zero_division alone."""
    out, y = _population_with_missing_classes()
    got = scores(out, y, Loss())
    pred = out.argmax(-1).numpy()
    t1, p1 = y[1].numpy(), pred[1]
    every = np.arange(C)
    assert got["balanced_accuracy"][1] == pytest.approx(skm.recall_score(t1, p1, labels=[0, 1, 2], average="macro"))
    assert got["balanced_accuracy"][1] > skm.recall_score(t1, p1, labels=every, average="macro", zero_division=0)
    for zero in (0.0, 1.0):  # class 3 predicted but never true: its F1 is 0 whatever zero_division says
        assert got["macro_f1"][1] == pytest.approx(
            skm.f1_score(t1, p1, labels=every, average="macro", zero_division=zero), rel=1e-5)
    t2, p2 = y[2].numpy(), pred[2]
    by_zero = [skm.f1_score(t2, p2, labels=every, average="macro", zero_division=z) for z in (0.0, 1.0)]
    assert by_zero[0] < by_zero[1]  # the class in neither: scikit-learn's answer is whatever one asks for
    assert got["macro_f1"][2] == pytest.approx(skm.f1_score(t2, p2, labels=[0, 2, 3], average="macro"), rel=1e-5)


def test_shared_targets_score_every_member_as_its_own_copy_would():
    out, y = _population_with_missing_classes(seed=1)
    shared = y[0]
    got, copied = scores(out, shared, Loss()), scores(out, shared.expand(out.shape[0], -1).clone(), Loss())
    pred = out.argmax(-1).numpy()
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "loss"):
        np.testing.assert_array_equal(got[name], copied[name])
    for k in range(out.shape[0]):
        assert got["macro_f1"][k] == pytest.approx(skm.f1_score(shared.numpy(), pred[k], average="macro"), rel=1e-5)


def test_r2_of_targets_all_alike_is_sklearns_one_or_zero():
    y = torch.tensor([[2.0, 2.0, 2.0], [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    out = torch.tensor([[2.0, 2.0, 2.0], [2.5, 1.0, 2.0], [1.0, 2.0, 3.0]])[..., None]
    got = scores(out, y, Loss("mse"))["r2"]
    assert got.tolist() == [skm.r2_score(t, p) for t, p in zip(y.numpy(), out[..., 0].numpy())] == [1.0, 0.0, 1.0]


def test_regression_scores_equal_sklearns_in_each_members_own_units():
    """Each member's targets standardized by its own mean and spread, as members' own splits are; the
    errors come back in the target's units through each member's `target_std`."""
    rng = np.random.default_rng(2)
    K, N = 5, 60
    raw_y = rng.normal(size=(K, N)) * rng.uniform(0.5, 80, (K, 1)) + rng.uniform(-100, 100, (K, 1))
    raw_pred = raw_y + rng.normal(size=(K, N)) * raw_y.std(1, keepdims=True) * rng.uniform(0.2, 1.5, (K, 1))
    raw_pred[3] = raw_y[3].mean() + 0.5 * raw_y[3].std()  # a constant guess: R² below zero
    mean, std = raw_y.mean(1, keepdims=True) + 3.0, raw_y.std(1, keepdims=True) * 1.7  # a training part's, not these
    y = torch.tensor((raw_y - mean) / std, dtype=torch.float32)
    out = torch.tensor((raw_pred - mean) / std, dtype=torch.float32)[..., None]
    got = scores(out, y, Loss("mse"), target_std=torch.tensor(std[:, 0], dtype=torch.float32))
    assert got["r2"][3] < 0
    for k in range(K):
        t, p = raw_y[k], raw_pred[k]
        assert got["rmse"][k] == pytest.approx(skm.root_mean_squared_error(t, p), rel=1e-4)
        assert got["mae"][k] == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-4)
        assert got["r2"][k] == pytest.approx(skm.r2_score(t, p), rel=1e-4, abs=1e-5)
        assert got["loss"][k] == pytest.approx(skm.mean_squared_error(y[k].numpy(), out[k, :, 0].numpy()), rel=1e-4)
    mae = scores(out, y, Loss("mae"))["loss"]
    for k in range(K):
        assert mae[k] == pytest.approx(skm.mean_absolute_error(y[k].numpy(), out[k, :, 0].numpy()), rel=1e-4)


def _four_blobs(n: int = 400, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % C
    X = (rng.normal(size=(n, 5)) + 1.2 * np.eye(C, 5)[y]).astype(np.float32)
    return Dataset("blobs", X, y.astype(np.int64), "table", tuple("abcd"), standardize=False)


def _without_class(s, drop: int, seed: int):
    """`s` with its test rows of class `drop` swapped for validation rows of other classes (same length)."""
    rng = np.random.default_rng(seed)
    keep = s.y_test != drop
    spare = rng.choice(np.flatnonzero(s.y_val != drop), int((~keep).sum()), replace=False)
    X_test = np.concatenate([s.X_test[keep], s.X_val[spare]])
    y_test = np.concatenate([s.y_test[keep], s.y_val[spare]])
    return type(s)(**{**s.__dict__, "X_test": X_test, "y_test": y_test})


def _predicted(result, X: np.ndarray) -> np.ndarray:
    """The member's outputs on `X` from a plain torch module of its architecture holding its kept weights."""
    module = result.architecture.make_net([member_settings(result.member)], "cpu").to_module(0)
    module.load_state_dict(result.state_dict)
    with torch.no_grad():
        return module.eval()(torch.as_tensor(X)).numpy()


def test_trained_members_on_their_own_splits_report_sklearns_scores_of_their_own_predictions():
    """Through the engine: four members, each on its own split, two of them tested without a class."""
    ds = _four_blobs()
    own = [split(ds, Conditions(train_size=120), seed=s) for s in range(4)]
    own[1], own[3] = _without_class(own[1], 2, seed=1), _without_class(own[3], 0, seed=3)
    members = [Member(Arm("baseline"), seed) for seed in range(4)]
    trained = train(own, members, ModelSpec("mlp", 16, 1), TrainConfig(epochs=4)).members
    for k, (r, s) in enumerate(zip(trained, own)):
        for part, X, t in (("test", s.X_test, s.y_test), ("val", s.X_val, s.y_val)):
            logits = _predicted(r, X)
            want = _sklearn_class_scores(t, logits.argmax(1), logits)
            for name, value in want.items():
                assert r.scores[f"{part}_{name}"] == pytest.approx(value, rel=1e-4, abs=1e-5), (k, part, name)
    assert 2 not in own[1].y_test and 0 not in own[3].y_test


def test_trained_regression_members_report_sklearns_errors_in_their_own_units():
    """Each member's split standardizes the target by its own training part: errors in the raw units."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    target = (40 * X[:, 0] - 25 * X[:, 1] ** 2 + 150 + 10 * rng.normal(size=300)).astype(np.float32)
    ds = Dataset("made", X, target, "table", (), standardize=False, task="regression")
    own = [split(ds, Conditions(train_size=100 + 40 * s), seed=s) for s in range(3)]
    assert len({round(s.target_std, 3) for s in own}) == 3
    trained = train(own, [Member(Arm("baseline"), s) for s in range(3)], ModelSpec("mlp", 16, 1),
                    TrainConfig(epochs=6, loss="mse")).members
    for r, s in zip(trained, own):
        raw_pred = s.target_mean + s.target_std * _predicted(r, s.X_test)[:, 0]
        raw_true = s.target_mean + s.target_std * s.y_test
        assert r.scores["test_rmse"] == pytest.approx(skm.root_mean_squared_error(raw_true, raw_pred), rel=1e-4)
        assert r.scores["test_mae"] == pytest.approx(skm.mean_absolute_error(raw_true, raw_pred), rel=1e-4)
        assert r.scores["test_r2"] == pytest.approx(skm.r2_score(raw_true, raw_pred), rel=1e-4, abs=1e-5)


def test_the_causes_per_class_recall_and_shift_auc_equal_sklearns():
    rng = np.random.default_rng(5)
    y = rng.choice(C, 200, p=[0.5, 0.3, 0.15, 0.05])
    predicted = np.where(rng.random(200) < 0.6, y, rng.integers(0, C, 200))
    predicted[predicted == 3] = 0  # class 3 never predicted
    rows = class_rows(y, predicted, tuple("abcd"))
    recall = skm.recall_score(y, predicted, labels=np.arange(C), average=None)
    np.testing.assert_allclose([r.recall for r in rows], recall)
    assert rows[3].recall == 0 and rows[3].cut and not rows[0].cut
    is_test = rng.integers(0, 2, 300)
    p_test = np.round(rng.random(300) * 0.5 + 0.3 * is_test, 1)  # rounded: many ties, each counted half
    assert auc(is_test, p_test) == pytest.approx(skm.roc_auc_score(is_test, p_test), rel=1e-12)
