"""Conditions that make networks overfit, and the seeded, stratified train/validation/test split.

`split(dataset, conditions, seed)` is the only way data reaches training; the test part is used once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from goodfit.data.dataset import Dataset
from goodfit.errors import GoodfitError


@dataclass(frozen=True)
class Conditions:
    """How the training set is made harder, and how much data goes to validation and test.

    Args:
        train_size: training samples to keep (an int), or None for all that remain after the
            validation and test parts are taken. Default None.
        label_noise: fraction of training labels replaced by another class; validation and
            test stay clean. Default 0.
        imbalance: geometric class-size ratio of the training set: the last class keeps this
            fraction of the first class's size, classes between fall on a geometric series.
            1 means balanced. Default 1.
        val_fraction: share of the data held out for validation. Default 0.2.
        test_fraction: share held out for the final test, unless the data set brings its own
            test set. Default 0.2.

    Example:
        >>> Conditions(train_size=300, label_noise=0.2).label_noise
        0.2
    """

    train_size: int | None = None
    label_noise: float = 0.0
    imbalance: float = 1.0
    val_fraction: float = 0.2
    test_fraction: float = 0.2

    def __post_init__(self):
        if self.train_size is not None and (isinstance(self.train_size, bool) or int(self.train_size) != self.train_size
                                            or self.train_size < 2):
            raise GoodfitError(f"train size must be a whole number of at least 2, got {self.train_size}")
        if not 0.0 <= self.label_noise < 1.0:
            raise GoodfitError(f"label noise must be in [0, 1), got {self.label_noise}; e.g. --label-noise 0.2")
        if not 0.0 < self.imbalance <= 1.0:
            raise GoodfitError(f"imbalance must be in (0, 1] (1 = balanced), got {self.imbalance}; e.g. --imbalance 0.1")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise GoodfitError(f"{name.replace('_', ' ')} must be in (0, 0.5), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


def condition_label(condition: dict, short: bool = False, keys: tuple[str, ...] | None = None) -> str:
    """A condition in words: the one wording of its settings, for tables, figures and verdicts alike.

    Args:
        condition: a plan's condition (`Conditions.to_dict()`).
        short: the words of a narrow column (`n=300, noise 20%`). Default False.
        keys: the settings to word, among `train_size`, `label_noise` and `imbalance`, their defaults
            included (`clean labels`, `balanced classes`). Default: the training-set size, and label noise
            and imbalance where set.

    Example:
        >>> c = {"train_size": 300, "label_noise": 0.2, "imbalance": 1.0}
        >>> condition_label(c), condition_label(c, short=True), condition_label(c, keys=("imbalance",))
        ('300 training samples, 20% wrong labels', 'n=300, noise 20%', 'balanced classes')
    """
    n, noise, imbalance = condition.get("train_size"), condition.get("label_noise") or 0.0, condition.get("imbalance", 1.0)
    is_set = {"train_size": bool(n), "label_noise": bool(noise), "imbalance": imbalance != 1.0}
    words = {  # (long, short) where set, then where left at the default
        "train_size": ((f"{n} training samples", f"n={n}"), ("all training data", "all data")),
        "label_noise": ((f"{noise:.0%} wrong labels", f"noise {noise:.0%}"), ("clean labels", "clean")),
        "imbalance": ((f"class imbalance {imbalance:g}", f"imbalance {imbalance:g}"), ("balanced classes", "balanced")),
    }
    keys = keys or tuple(k for k in is_set if k == "train_size" or is_set[k])
    return ", ".join(words[k][not is_set[k]][short] for k in keys)


@dataclass(frozen=True, eq=False)
class Splits:
    """Train, validation and test arrays, ready for the engine.

    `noisy` marks the training rows whose label was replaced by the label-noise condition, and
    `y_train_clean` holds their labels before it (None when no label was replaced), so that a
    member's training accuracy can also be scored against the truth.
    For regression the targets are float32 and standardized with the training part's mean and
    standard deviation, `target_mean` and `target_std`: `target_mean + target_std * y` is in the
    target's own units (for classification they are 0 and 1).
    `train_rows` and `test_rows` are the rows of the data set (0-based, in its order) that the training and
    test parts hold, so that a row named in them can be found in the user's file (`test_rows` counts in the
    data set's own test part where it has one); None where the parts were built by hand.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str
    classes: tuple[str, ...]
    noisy: np.ndarray
    task: str = "classification"
    target_mean: float = 0.0
    target_std: float = 1.0
    y_train_clean: np.ndarray | None = None
    train_rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_outputs(self) -> int:
        """What a model predicts per sample: one score per class, or one number."""
        return 1 if self.task == "regression" else self.num_classes

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X_train.shape[1:])

    @property
    def input_bytes(self) -> int:
        """Bytes of the inputs of all three parts: what a member with splits of its own holds."""
        return self.X_train.nbytes + self.X_val.nbytes + self.X_test.nbytes

    def describe(self) -> dict:
        sizes = {"train": int(len(self.y_train)), "validation": int(len(self.y_val)), "test": int(len(self.y_test))}
        if self.regression:
            return {**sizes, "target_mean": self.target_mean, "target_std": self.target_std,
                    "noisy_targets": int(self.noisy.sum())}
        return {**sizes, "train_class_counts": [int(c) for c in np.bincount(self.y_train, minlength=self.num_classes)],
                "noisy_labels": int(self.noisy.sum())}


BINS = 10  # a regression target is stratified on this many quantile bins (fewer for small sets)


def strata(y: np.ndarray, task: str) -> np.ndarray:
    """What a split stratifies on: the labels, or for regression the target's quantile bin (about 10 rows
    a bin at least).

    Example:
        >>> strata(np.arange(40, dtype=np.float32), "regression").tolist()[::10]
        [0, 1, 2, 3]
    """
    if task != "regression":
        return y
    bins = int(np.clip(len(y) // 10, 1, BINS))
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, y, side="right").astype(np.int64)


def _row_order(y: np.ndarray, c, keys: np.ndarray) -> np.ndarray:
    """The rows of class (or stratum) `c`, in the order of their random keys: one key per row, so which rows a
    cut takes depends on the rows and the seed, never on how the classes are spelled or numbered."""
    idx = np.flatnonzero(y == c)
    return idx[np.argsort(keys[idx], kind="stable")]


def _stratified_cut(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, taken): `fraction` of each class (or stratum) taken, at least one per class.

    Example: the same rows are taken whatever the labels are called.
        >>> y = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 1])
        >>> a = _stratified_cut(y, 0.4, np.random.default_rng(3))[1]
        >>> b = _stratified_cut(1 - y, 0.4, np.random.default_rng(3))[1]
        >>> a.tolist() == b.tolist()
        True
    """
    keys = rng.random(len(y))
    taken = []
    for c in np.unique(y):
        idx = _row_order(y, c, keys)
        taken.append(idx[:max(1, int(round(fraction * len(idx))))])
    taken = np.sort(np.concatenate(taken))
    return np.setdiff1d(np.arange(len(y)), taken), taken


def _check_class_sizes(dataset: Dataset) -> None:
    need = 2 if dataset.test is not None else 3
    if dataset.task == "regression":
        if len(dataset.y) < 10 * need:
            raise GoodfitError(f"{dataset.name}: {len(dataset.y)} rows are too few to split into training, validation "
                               f"and test; give it at least {10 * need} rows")
        return
    counts = np.bincount(dataset.y, minlength=dataset.num_classes)
    small = [dataset.classes[c] for c in np.flatnonzero(counts < need)]
    if small:
        shown = ", ".join(map(repr, small[:5])) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        raise GoodfitError(
            f"{dataset.name}: {'class' if len(small) == 1 else f'{len(small)} classes,'} {shown} "
            f"{'has' if len(small) == 1 else 'have'} fewer than {need} samples, too few for a "
            "stratified train/validation/test split; add samples or drop those classes"
        )


def _imbalanced(y: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping `ratio ** (c / (C - 1))` of class c: a geometric series from 1 down to ratio."""
    classes = np.unique(y)
    keys = rng.random(len(y))
    keep = []
    for rank, c in enumerate(classes):
        idx = _row_order(y, c, keys)
        share = ratio ** (rank / max(1, len(classes) - 1))
        keep.append(idx[: max(1, int(round(share * len(idx))))])
    return np.sort(np.concatenate(keep))


def _subsample(y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified indices of `size` samples, every class keeping at least one; the remainder goes to the
    classes with the largest rest, ties to the class whose first row comes first (not to its name)."""
    classes, first, counts = np.unique(y, return_index=True, return_counts=True)
    want = np.maximum(1, np.floor(counts * size / len(y)).astype(int))
    order = np.lexsort((first, -(counts * size / len(y) - want)))
    for c in order[: max(0, size - want.sum())]:
        want[c] += 1
    keys = rng.random(len(y))
    keep = [_row_order(y, c, keys)[:n] for c, n in zip(classes, want)]
    return np.sort(np.concatenate(keep))


def _noisy_labels(y: np.ndarray, fraction: float, num_classes: int, rng: np.random.Generator):
    """`fraction` of the labels replaced by another class; for regression (`num_classes` 0) by another row's target."""
    noisy = np.zeros(len(y), dtype=bool)
    noisy[rng.permutation(len(y))[: int(round(fraction * len(y)))]] = True
    if num_classes == 0:
        other = rng.integers(0, len(y) - 1, size=len(y))
        other += other >= np.arange(len(y))  # any row but its own
        return np.where(noisy, y[other], y), noisy
    shift = rng.integers(1, num_classes, size=len(y))  # another class, never the true one
    return np.where(noisy, (y + shift) % num_classes, y), noisy


def split(dataset: Dataset, conditions: Conditions = Conditions(), seed: int = 0, resample: int | None = None) -> Splits:
    """Cut a data set into train, validation and test under the given conditions.

    Validation and test are stratified and stay clean; imbalance, train size and label noise
    act on the training part only, in that order. Tables are standardized with the training
    part's mean and standard deviation.

    Args:
        dataset: what a source loaded.
        conditions: the conditions to apply. Default: none.
        seed: fixes every random choice of the split. Default 0.
        resample: when given, the test part still follows `seed` but the training and validation
            parts (and the training conditions) are drawn anew from the rest with this number, so
            each training seed can see its own split of the same pool (tables are standardized
            with each draw's own training part). Default None.

    Returns:
        The `Splits`.

    Example:
        >>> from goodfit.data import load
        >>> s = split(load("wine"), Conditions(train_size=50), seed=1)
        >>> len(s.y_train), s.num_classes
        (50, 3)
        >>> a, b = (split(load("digits"), Conditions(train_size=50), seed=1, resample=r) for r in (0, 1))
        >>> bool((a.X_test == b.X_test).all()), bool((a.X_val == b.X_val).all())
        (True, False)
    """
    _check_class_sizes(dataset)
    task = dataset.task
    if task == "regression" and conditions.imbalance < 1.0:
        raise GoodfitError(f"{dataset.name} is a regression data set, which has no classes to imbalance; "
                           "leave out --imbalance")
    rng = np.random.default_rng(seed)
    X, y = dataset.X, dataset.y
    rows = np.arange(len(y))  # which of the data set's rows each training row is, through every cut below
    if dataset.test is not None:
        X_test, y_test = dataset.test
        test_rows = np.arange(len(y_test))
    else:
        rest, test = _stratified_cut(strata(y, task), conditions.test_fraction, rng)
        X_test, y_test, X, y = X[test], y[test], X[rest], y[rest]
        test_rows, rows = rows[test], rows[rest]
    if resample is not None:
        rng = np.random.default_rng([seed, resample])  # this draw's own train/validation split; the test part is fixed
    val_share = conditions.val_fraction if dataset.test is not None else conditions.val_fraction / (1 - conditions.test_fraction)
    rest, val = _stratified_cut(strata(y, task), val_share, rng)
    X_val, y_val, X, y, rows = X[val], y[val], X[rest], y[rest], rows[rest]
    if conditions.imbalance < 1.0:
        keep = _imbalanced(y, conditions.imbalance, rng)
        X, y, rows = X[keep], y[keep], rows[keep]
    if conditions.train_size is not None:
        if conditions.train_size > len(y):
            raise GoodfitError(
                f"train size {conditions.train_size} is larger than the {len(y)} training samples {dataset.name} "
                f"has after validation, test and imbalance; pass --train-size {len(y)} or less"
            )
        if conditions.train_size < dataset.num_classes:
            raise GoodfitError(f"train size {conditions.train_size} is smaller than the {dataset.num_classes} "
                               f"classes; pass --train-size {dataset.num_classes * 10} or more")
        keep = _subsample(strata(y, task), int(conditions.train_size), rng)
        X, y, rows = X[keep], y[keep], rows[keep]
    clean = y
    y, noisy = _noisy_labels(y, conditions.label_noise, dataset.num_classes, rng)
    if dataset.standardize and dataset.kind == "table":
        mean, std = X.mean(0), X.std(0)
        std = np.where(std > 0, std, 1.0).astype(np.float32)
        X, X_val, X_test = ((a - mean) / std for a in (X, X_val, X_test))
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    if task != "regression":
        return Splits(f32(X), y, f32(X_val), y_val, f32(X_test), y_test, dataset.kind, dataset.classes, noisy,
                      y_train_clean=clean if noisy.any() else None, train_rows=rows, test_rows=test_rows)
    center, scale = float(y.mean()), float(y.std()) or 1.0  # the training part's, as for the features
    y, y_val, y_test = (f32((a - center) / scale) for a in (y, y_val, y_test))
    return Splits(f32(X), y, f32(X_val), y_val, f32(X_test), y_test, dataset.kind, (), noisy, task, center, scale,
                  train_rows=rows, test_rows=test_rows)
