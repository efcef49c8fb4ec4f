"""What every data source hands on: a `Dataset` of features and integer labels.

Sources (built-in sets, files) build one; `splits.py` cuts it into train, validation and test.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from goodfit.errors import GoodfitError

KINDS = ("table", "sequence", "image")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and labels of one data set, before any split.

    Args:
        name: how the user named it (`digits`, `my.csv`).
        X: float32 features, `(N, D)` for tables, `(N, L)` for sequences,
            `(N, C, H, W)` for images.
        y: int64 labels in `0 .. len(classes) - 1`, shape `(N,)`.
        kind: `table`, `sequence` or `image`; it picks the model and the augmentations.
        classes: a name for each label.
        feature_names: a name per column for tables, empty otherwise.
        standardize: whether features are standardized with statistics fit on train only.
        test: an optional fixed test set `(X, y)` that comes with the data (MNIST-1D has one).

    Example:
        >>> ds = Dataset("toy", np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), "table", ("a", "b"))
        >>> ds.num_classes, ds.input_shape
        (2, (2,))
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str
    classes: tuple[str, ...]
    feature_names: tuple[str, ...] = ()
    standardize: bool = True
    test: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise GoodfitError(f"data kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        for X, y in [(self.X, self.y)] + ([self.test] if self.test is not None else []):
            _check_arrays(self.name, X, y, len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def describe(self) -> dict:
        """A JSON-ready summary: name, kind, sizes, classes and class counts."""
        counts = np.bincount(self.y, minlength=self.num_classes)
        return {
            "name": self.name,
            "kind": self.kind,
            "samples": int(len(self.y)) + (len(self.test[1]) if self.test is not None else 0),
            "input_shape": list(self.input_shape),
            "classes": list(self.classes),
            "class_counts": [int(c) for c in counts],
            "fixed_test_set": self.test is not None,
        }


def _check_arrays(name: str, X: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    if X.dtype != np.float32:
        raise GoodfitError(f"{name}: features must be float32, got {X.dtype}")
    if y.dtype != np.int64 or y.ndim != 1:
        raise GoodfitError(f"{name}: labels must be a 1-D int64 array, got {y.dtype} {y.shape}")
    if len(X) != len(y):
        raise GoodfitError(f"{name}: {len(X)} feature rows but {len(y)} labels; give one label per row")
    if len(y) == 0:
        raise GoodfitError(f"{name}: the data set is empty; give it at least a few rows per class")
    if num_classes < 2:
        raise GoodfitError(f"{name}: only one class found; a classifier needs at least two classes")
    if y.min() < 0 or y.max() >= num_classes:
        raise GoodfitError(
            f"{name}: labels must lie in 0..{num_classes - 1}, found {y.min()}..{y.max()}; "
            "renumber the labels or pass the class names"
        )
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise GoodfitError(
            f"{name}: {int(bad.sum())} NaN or infinite feature values (first in row {row}); "
            "drop or fill those rows before training"
        )
