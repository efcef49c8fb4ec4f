"""The built-in data sets: small, offline, and big enough for a network to overfit.

Each loader returns a `Dataset`; `BUILTIN` maps a name to its loader and a one-line summary.
"""
from __future__ import annotations

import importlib.util
import random
from functools import lru_cache
from pathlib import Path

import numpy as np

from goodfit.data.dataset import Dataset


def _digits() -> Dataset:
    """scikit-learn's digits, read from the file `load_digits` reads (pixels 0-16, then the label);
    importing sklearn.datasets for it would take about 0.6 s, reading the file 0.02 s."""
    sklearn = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(sklearn.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.exists():
        data = np.loadtxt(path, delimiter=",")
        pixels, labels = data[:, :-1], data[:, -1]
    else:  # a scikit-learn that keeps the file elsewhere: its own loader
        from sklearn.datasets import load_digits

        pixels, labels = load_digits(return_X_y=True)
    X = (pixels / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # (N, 1, 8, 8) in [0, 1]
    return Dataset("digits", X, labels.astype(np.int64), "image", tuple(str(c) for c in range(10)),
                   standardize=False)


@lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()  # make_dataset seeds the globals
    try:
        d = make_dataset(get_dataset_args())  # the published set: 4000 train, 1000 test, seed 42
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return (d["x"].astype(np.float32), d["y"].astype(np.int64),
            d["x_test"].astype(np.float32), d["y_test"].astype(np.int64))


def _mnist1d() -> Dataset:
    X, y, X_test, y_test = _mnist1d_arrays()
    return Dataset("mnist1d", X, y, "sequence", tuple(str(c) for c in range(10)),
                   standardize=False, test=(X_test, y_test))


def _moons() -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=1000, noise=0.3, random_state=0)
    return Dataset("moons", X.astype(np.float32), y.astype(np.int64), "table", ("0", "1"),
                   feature_names=("x1", "x2"))


def _sklearn_table(name: str, loader) -> Dataset:
    d = loader()
    return Dataset(name, d.data.astype(np.float32), d.target.astype(np.int64), "table",
                   tuple(str(c) for c in d.target_names), feature_names=tuple(d.feature_names))


def _breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_table("breast_cancer", load_breast_cancer)


def _wine() -> Dataset:
    from sklearn.datasets import load_wine

    return _sklearn_table("wine", load_wine)


BUILTIN = {
    "digits": (_digits, "8x8 handwritten digits, 1797 images, 10 classes (scikit-learn)"),
    "mnist1d": (_mnist1d, "MNIST-1D, 40-step sequences, 4000 train + 1000 test, 10 classes"),
    "moons": (_moons, "two interleaving half-circles, 1000 points, noise 0.3, 2 classes"),
    "breast_cancer": (_breast_cancer, "Wisconsin breast cancer, 569 rows, 30 features, 2 classes"),
    "wine": (_wine, "wine cultivars, 178 rows, 13 features, 3 classes"),
}
