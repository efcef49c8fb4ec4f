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


def _diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    return Dataset("diabetes", d.data.astype(np.float32), d.target.astype(np.float32), "table", (),
                   feature_names=tuple(d.feature_names), task="regression", target="progression",
                   why="disease progression after one year, a number")


def _friedman() -> Dataset:
    """Friedman's function #1 of 5 inputs (and 5 that do not matter), with noise of standard deviation 1."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=800, n_features=10, noise=1.0, random_state=0)
    return Dataset("friedman", X.astype(np.float32), y.astype(np.float32), "table", (),
                   feature_names=tuple(f"x{i + 1}" for i in range(10)), task="regression", target="y",
                   why="a smooth function of the inputs plus noise, a number")


def _signal() -> Dataset:
    """Noisy sine waves of 64 steps, each with its own phase, amplitude and trend; the target is the frequency."""
    rng = np.random.default_rng(0)
    n, steps = 1000, 64
    t = np.linspace(0.0, 1.0, steps)
    freq = rng.uniform(1.0, 6.0, n)
    phase, amp = rng.uniform(0, 2 * np.pi, n), rng.uniform(0.5, 1.5, n)
    trend = rng.normal(0.0, 0.5, n)
    X = amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None]) + trend[:, None] * t
    X += rng.normal(0.0, 0.4, X.shape)
    return Dataset("signal", X.astype(np.float32), freq.astype(np.float32), "sequence", (), standardize=False,
                   task="regression", target="frequency", why="the frequency of each wave, a number")


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
    "diabetes": (_diabetes, "diabetes progression, 442 rows, 10 features, a number (regression)"),
    "friedman": (_friedman, "Friedman #1 function plus noise, 800 rows, 10 features, a number (regression)"),
    "signal": (_signal, "noisy sine waves, 1000 sequences of 64 steps, their frequency (regression)"),
}
BUILTIN_TASKS = {name: "regression" if "(regression)" in summary else "classification"
                 for name, (_, summary) in BUILTIN.items()}
