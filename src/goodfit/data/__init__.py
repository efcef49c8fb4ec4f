"""Data in: built-in sets, files and data in memory become a `Dataset`; conditions and `split` make the splits.

Knows nothing of models or training.
"""
from __future__ import annotations

from pathlib import Path

from goodfit.data.builtin import BUILTIN, BUILTIN_TASKS
from goodfit.data.dataset import TASKS, Dataset
from goodfit.data.splits import Conditions, Splits, split
from goodfit.errors import GoodfitError

__all__ = ["BUILTIN", "Conditions", "Dataset", "Splits", "load", "split"]


def load(source, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a built-in data set by name, a file or image folder by path, or data in memory.

    Args:
        source: a built-in name (see `goodfit datasets`), a `.csv`, `.parquet` or `.npz` file,
            a folder with one sub-folder of images per class, the token of in-memory data registered
            in this process (`memory:...`, see `memory.register`), or data in memory: `(X, y)` of
            arrays, tensors or lists, a DataFrame, `{"train": (X, y), "test": (X, y)}` or a map-style
            torch dataset (see `memory.from_memory`).
        target: the label column of a CSV or Parquet file or a DataFrame. Default None (required for those).
        task: `classification` or `regression`, or None to decide from the target (a built-in
            set has its own task). Default None.

    Returns:
        The `Dataset`.

    Example:
        >>> load("wine").num_classes
        3
        >>> import numpy as np
        >>> load((np.random.default_rng(0).normal(size=(30, 4)), [0, 1, 2] * 10)).kind
        'table'
    """
    from goodfit.data.memory import PREFIX, from_memory, registered  # pandas and the file readers, on first use

    if not isinstance(source, (str, Path)):
        return from_memory(source, target, task)
    name = str(source)
    if task is not None and task not in TASKS:
        raise GoodfitError(f"task {task!r} is unknown; use --task classification or --task regression")
    if name.startswith(PREFIX):
        return registered(name, task)
    if name in BUILTIN:
        if task is not None and task != BUILTIN_TASKS[name]:
            raise GoodfitError(f"{name} is a {BUILTIN_TASKS[name]} data set; leave out --task {task}, or use a {task} "
                               f"set: {', '.join(n for n, t in BUILTIN_TASKS.items() if t == task)}")
        return BUILTIN[name][0]()
    path = Path(name)
    if not path.exists():
        raise GoodfitError(
            f"data {name!r} is neither a built-in data set nor an existing path; "
            f"use one of {', '.join(BUILTIN)} or a path to a .csv, .parquet, .npz file or an image folder"
        )
    from goodfit.data.files import read_path

    return read_path(path, target, task)
