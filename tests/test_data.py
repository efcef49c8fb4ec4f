"""Built-in data sets and the conditions that make networks overfit."""
import numpy as np
import pytest

from goodfit.data import BUILTIN, Conditions, load, split
from goodfit.errors import GoodfitError


@pytest.mark.parametrize("name,kind,shape,classes", [
    ("digits", "image", (1, 8, 8), 10), ("mnist1d", "sequence", (40,), 10), ("moons", "table", (2,), 2),
    ("breast_cancer", "table", (30,), 2), ("wine", "table", (13,), 3)])
def test_builtin_data_sets_load_offline_with_their_shapes(name, kind, shape, classes):
    ds = load(name)
    assert (ds.kind, ds.input_shape, ds.num_classes) == (kind, shape, classes)
    assert name in BUILTIN



def test_digits_read_from_its_file_are_sklearns_load_digits():
    from sklearn.datasets import load_digits

    d, ds = load_digits(), load("digits")
    assert np.array_equal(ds.X, (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8))
    assert np.array_equal(ds.y, d.target) and ds.X.dtype == np.float32 and ds.y.dtype == np.int64


def test_digits_come_from_sklearns_loader_where_its_file_is_elsewhere(monkeypatch):
    import importlib.util
    from types import SimpleNamespace

    from goodfit.data import builtin

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: SimpleNamespace(origin="/nowhere/__init__.py"))
    ds = builtin._digits()
    assert ds.X.shape == (1797, 1, 8, 8) and ds.y[:3].tolist() == [0, 1, 2]


def test_mnist1d_is_the_published_4000_1000_split():
    s = split(load("mnist1d"), Conditions(), seed=0)
    assert len(s.y_test) == 1000 and len(s.y_train) + len(s.y_val) == 4000


def test_splits_are_stratified_disjoint_and_seeded():
    ds = load("wine")
    a, b, c = split(ds, seed=1), split(ds, seed=1), split(ds, seed=2)
    assert np.array_equal(a.X_train, b.X_train) and not np.array_equal(a.X_train, c.X_train)
    rows = lambda X: {r.tobytes() for r in X}  # noqa: E731
    assert not rows(a.X_train) & rows(a.X_test) and not rows(a.X_val) & rows(a.X_test)
    for part in (a.y_train, a.y_val, a.y_test):
        share = np.bincount(part, minlength=3) / len(part)
        assert np.allclose(share, np.bincount(ds.y) / len(ds.y), atol=0.07)


def test_tables_are_standardized_with_training_statistics_only():
    s = split(load("breast_cancer"), seed=0)
    assert np.allclose(s.X_train.mean(0), 0, atol=1e-4) and np.allclose(s.X_train.std(0), 1, atol=1e-3)
    assert not np.allclose(s.X_test.mean(0), 0, atol=1e-3)


def test_label_noise_replaces_the_given_fraction_of_training_labels_only():
    clean = split(load("digits"), Conditions(train_size=500), seed=3)
    noisy = split(load("digits"), Conditions(train_size=500, label_noise=0.3), seed=3)
    changed = noisy.y_train != clean.y_train
    assert changed.mean() == pytest.approx(0.3, abs=0.001) and np.array_equal(changed, noisy.noisy)
    assert np.array_equal(noisy.y_val, clean.y_val) and np.array_equal(noisy.y_test, clean.y_test)


def test_imbalance_makes_class_sizes_geometric():
    s = split(load("digits"), Conditions(imbalance=0.1), seed=0)
    counts = np.bincount(s.y_train)
    assert counts[-1] / counts[0] == pytest.approx(0.1, abs=0.02)
    assert np.all(np.diff(counts) <= 2)


def test_train_size_keeps_that_many_samples_stratified():
    s = split(load("digits"), Conditions(train_size=100), seed=0)
    assert len(s.y_train) == 100 and np.bincount(s.y_train).min() >= 9


@pytest.mark.parametrize("conditions,message", [
    (dict(train_size=5000), "larger than"), (dict(train_size=0), "at least 2"), (dict(label_noise=1.0), "label noise"),
    (dict(imbalance=0), "imbalance"), (dict(train_size=5), "smaller than the 10 classes")])
def test_impossible_conditions_are_refused(conditions, message):
    with pytest.raises(GoodfitError, match=message):
        split(load("digits"), Conditions(**conditions), seed=0)


def test_unknown_data_set_names_the_choices():
    with pytest.raises(GoodfitError, match="digits, mnist1d"):
        load("digitz")
