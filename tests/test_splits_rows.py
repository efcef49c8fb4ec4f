"""Splits come from rows, not from how the labels are spelled (issue 35, item 3): the same rows and seed give
the same train, validation and test parts whether breast cancer's labels read 0/1 or benign/malignant, and
whatever numbers the classes get; a small test set is said in the verdict."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from goodfit.data import Conditions, load, split


@pytest.fixture(scope="module")
def spelled(tmp_path_factory):
    """breast cancer twice: labels 0/1, and the same rows with benign/malignant."""
    d = load_breast_cancer(as_frame=True).frame
    root = tmp_path_factory.mktemp("spelled")
    d.to_csv(root / "numbers.csv", index=False)
    d.assign(target=d["target"].map({0: "malignant", 1: "benign"})).to_csv(root / "words.csv", index=False)
    return load(root / "numbers.csv", "target"), load(root / "words.csv", "target")


@pytest.mark.parametrize("conditions", [Conditions(), Conditions(train_size=120, label_noise=0.2)])
def test_the_same_rows_whatever_the_labels_are_called(spelled, conditions):
    numbers, words = spelled
    assert numbers.classes == ("0", "1") and words.classes == ("benign", "malignant")  # the class numbers swap
    for seed in (0, 1):
        a, b = split(numbers, conditions, seed), split(words, conditions, seed)
        assert len(a.y_test) == 113
        for part in ("X_train", "X_val", "X_test"):
            assert np.array_equal(getattr(a, part), getattr(b, part)), (part, seed)
        assert np.array_equal(a.noisy, b.noisy)
        named_a = np.array(numbers.classes)[a.y_test]
        named_b = np.array(words.classes)[b.y_test]
        assert np.array_equal(np.where(named_a == "1", "benign", "malignant"), named_b)


def test_renumbered_classes_keep_the_split():
    """Wine with its three classes numbered in another order: the same rows in every part."""
    X, y = load_wine(return_X_y=True)
    frame = pd.DataFrame(X).assign(target=y)
    renamed = frame.assign(target=frame["target"].map({0: "c", 1: "a", 2: "b"}))
    from goodfit.data import Dataset
    first = Dataset("wine", X.astype(np.float32), y, "table", ("0", "1", "2"))
    order = ("a", "b", "c")
    second = Dataset("wine", X.astype(np.float32), np.array([order.index(v) for v in renamed["target"]]), "table", order)
    for conditions in (Conditions(), Conditions(train_size=40)):  # (imbalance keeps a share by class rank)
        a, b = split(first, conditions, 3), split(second, conditions, 3)
        for part in ("X_train", "X_val", "X_test"):
            assert np.array_equal(getattr(a, part), getattr(b, part)), (part, conditions)


def test_a_small_test_set_is_said(tmp_path):
    from goodfit import Study, verdict_of
    r = Study("wine", arms=["dropout"], seeds=[0, 1], epochs=2).run(tmp_path / "s")
    assert r.dataset["test_rows"] == 36
    said = verdict_of(r)
    assert "The test set has 36 rows: one row is 2.8 points of accuracy" in said
    assert said.startswith("No arm overfit in 2 epochs: every one was still improving or underfitting at the end")
