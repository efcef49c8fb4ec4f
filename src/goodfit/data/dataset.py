"""What every data source hands on: a `Dataset` of features and targets: integer labels of classes, or numbers.

Sources (built-in sets, files) build one; `splits.py` cuts it into train, validation and test.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goodfit.errors import GoodfitError

KINDS = ("table", "sequence", "image")
TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and labels of one data set, before any split.

    Args:
        name: how the user named it (`digits`, `my.csv`).
        X: float32 features, `(N, D)` for tables, `(N, L)` for sequences,
            `(N, C, H, W)` for images.
        y: for classification int64 labels in `0 .. len(classes) - 1`, for regression float32
            targets in their own units; shape `(N,)`.
        kind: `table`, `sequence` or `image`; it picks the model and the augmentations.
        classes: a name for each label; empty for regression.
        feature_names: a name per column for tables, empty otherwise.
        standardize: whether features are standardized with statistics fit on train only.
        test: an optional fixed test set `(X, y)` that comes with the data (MNIST-1D has one).
        task: `classification` or `regression`. Default `classification`.
        target: the target's name (a column, say), for regression's words. Default "".
        why: how the task was chosen, in a few words ("412 distinct whole numbers"). Default "".
        notes: what reading the data did that a person should know (a text column one-hot encoded). Default ().

    Example:
        >>> ds = Dataset("toy", np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), "table", ("a", "b"))
        >>> ds.num_classes, ds.input_shape
        (2, (2,))
        >>> r = Dataset("r", np.zeros((3, 2), np.float32), np.array([1.5, 2.0, 0.1], np.float32), "table", (),
        ...             task="regression")
        >>> r.num_classes, r.num_outputs
        (0, 1)
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str
    classes: tuple[str, ...]
    feature_names: tuple[str, ...] = ()
    standardize: bool = True
    test: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    task: str = "classification"
    target: str = ""
    why: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise GoodfitError(f"data kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        if self.task not in TASKS:
            raise GoodfitError(f"task {self.task!r} is unknown; use one of {', '.join(TASKS)}")
        for X, y in [(self.X, self.y)] + ([self.test] if self.test is not None else []):
            _check_features(self.name, X, y)
            if self.task == "regression":
                _check_targets(self.name, y)
            else:
                _check_labels(self.name, y, len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_outputs(self) -> int:
        """What a model predicts per sample: one score per class, or one number."""
        return 1 if self.task == "regression" else self.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def describe(self) -> dict:
        """A JSON-ready summary: name, kind, task, sizes, and the classes and their counts (or the target's range)."""
        info = {
            "name": self.name,
            "kind": self.kind,
            "task": self.task,
            "samples": int(len(self.y)) + (len(self.test[1]) if self.test is not None else 0),
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "fixed_test_set": self.test is not None,
        }
        if self.why:
            info["task_reason"] = self.why
        if self.notes:
            info["notes"] = list(self.notes)
        if self.task == "regression":
            y = self.y.astype(float)
            return {**info, "target": self.target,
                    "target_stats": {"mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
                                     "max": float(y.max())}}
        return {**info, "class_counts": [int(c) for c in np.bincount(self.y, minlength=self.num_classes)]}


def _check_features(name: str, X: np.ndarray, y: np.ndarray) -> None:
    if X.dtype != np.float32:
        raise GoodfitError(f"{name}: features must be float32, got {X.dtype}")
    if y.ndim != 1:
        raise GoodfitError(f"{name}: targets must be a 1-D array, got shape {y.shape}")
    if len(X) != len(y):
        raise GoodfitError(f"{name}: {len(X)} feature rows but {len(y)} targets; give one target per row")
    if len(y) == 0:
        raise GoodfitError(f"{name}: the data set is empty; give it at least a few rows per class")
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise GoodfitError(
            f"{name}: {int(bad.sum())} NaN or infinite feature values (first in row {row}); "
            "drop or fill those rows before training"
        )


def _check_targets(name: str, y: np.ndarray) -> None:
    if y.dtype != np.float32:
        raise GoodfitError(f"{name}: regression targets must be float32, got {y.dtype}")
    bad = ~np.isfinite(y)
    if bad.any():
        raise GoodfitError(f"{name}: {int(bad.sum())} targets are NaN or infinite (first in row "
                           f"{int(np.flatnonzero(bad)[0])}); fill or drop those rows")
    if len(y) > 1 and float(y.max()) == float(y.min()):
        raise GoodfitError(f"{name}: the target is {float(y[0]):g} in every row, so there is nothing to predict; "
                           "choose another target")


def _check_labels(name: str, y: np.ndarray, num_classes: int) -> None:
    if y.dtype != np.int64:
        raise GoodfitError(f"{name}: labels must be a 1-D int64 array, got {y.dtype} {y.shape}")
    if num_classes < 2:
        raise GoodfitError(f"{name}: only one class found; a classifier needs at least two classes")
    if y.min() < 0 or y.max() >= num_classes:
        raise GoodfitError(
            f"{name}: labels must lie in 0..{num_classes - 1}, found {y.min()}..{y.max()}; "
            "renumber the labels or pass the class names"
        )
