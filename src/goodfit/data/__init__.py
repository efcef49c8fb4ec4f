"""Data in: built-in sets and files become a `Dataset`; conditions and `split` make the splits.

Knows nothing of models or training.
"""
from __future__ import annotations

from pathlib import Path

from goodfit.data.builtin import BUILTIN
from goodfit.data.dataset import Dataset
from goodfit.data.splits import Conditions, Splits, split
from goodfit.errors import GoodfitError

__all__ = ["BUILTIN", "Conditions", "Dataset", "Splits", "load", "split"]


def load(source: str | Path, target: str | None = None) -> Dataset:
    """Load a built-in data set by name, or a file or image folder by path.

    Args:
        source: a built-in name (see `goodfit datasets`), a `.csv`, `.parquet` or `.npz` file,
            or a folder with one sub-folder of images per class.
        target: the label column of a CSV or Parquet file. Default None (required for those).

    Returns:
        The `Dataset`.

    Example:
        >>> load("wine").num_classes
        3
    """
    name = str(source)
    if name in BUILTIN:
        return BUILTIN[name][0]()
    path = Path(name)
    if not path.exists():
        raise GoodfitError(
            f"data {name!r} is neither a built-in data set nor an existing path; "
            f"use one of {', '.join(BUILTIN)} or a path to a .csv, .parquet, .npz file or an image folder"
        )
    from goodfit.data.files import read_path

    return read_path(path, target)
