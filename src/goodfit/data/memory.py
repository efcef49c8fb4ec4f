"""Data in memory: arrays, tensors, DataFrames and map-style torch datasets become a `Dataset`, and a token names it.

A plan is JSON, so in-memory data is named by a token (`memory:<name>:<hash>`) registered in this process.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd

from goodfit.data.dataset import KINDS, TASKS, Dataset
from goodfit.data.files import _feature_block, _listed, _shaped_features, _target, _target_column
from goodfit.errors import GoodfitError

PREFIX = "memory:"
_FORMS = ("(X, y) of arrays, tensors or lists, a DataFrame with target=COLUMN, (DataFrame, Series), "
          "{'train': (X, y), 'test': (X, y)} or a map-style torch Dataset of (x, y) items")
_REGISTRY: dict[str, Dataset] = {}  # token -> Dataset, for this process


def available_host_memory() -> int:
    """Bytes the host can still give: MemAvailable from /proc/meminfo, else the free pages."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _size(nbytes: float) -> str:
    """Bytes as a person reads them: `512 B`, `3.1 MB`, `2.0 GB`."""
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def _numpy(values, what: str) -> np.ndarray:
    """An array from a numpy array, a torch tensor (any device), a pandas object or a (nested) list."""
    if hasattr(values, "detach"):  # a torch tensor: numpy reads neither the GPU nor bfloat16
        values = values.detach().cpu()
        return (values.float() if values.is_floating_point() else values).numpy()
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy()
    try:
        return np.asarray(values)
    except ValueError as e:  # ragged lists
        raise GoodfitError(f"{what} cannot become an array ({e}); give rows of one length") from None


def _labels(values, what: str) -> np.ndarray:
    """Targets as one value per row; a single column `(N, 1)` is read as `(N,)`."""
    y = _numpy(values, what)
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim != 1:
        raise GoodfitError(f"{what} has shape {y.shape}; give one label per row, e.g. y.ravel() "
                           "(or y.argmax(1) for one-hot labels)")
    return y


def _items(data, budget: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A map-style torch dataset read once into `(X, y)`, after checking that it fits `budget` bytes."""
    what = type(data).__name__
    n = len(data)
    if n == 0:
        raise GoodfitError(f"the {what} is empty; give it at least a few items per class")
    first = data[0]
    if not (isinstance(first, (tuple, list)) and len(first) == 2):
        raise GoodfitError(f"item 0 of the {what} is a {type(first).__name__}, not a pair (x, y); "
                           "make __getitem__ return (features, label)")
    item = _numpy(first[0], f"x of item 0 of the {what}").size * 4 + 8  # float32 features and one label
    budget = available_host_memory() // 2 if budget is None else budget
    if n * item > budget:
        raise GoodfitError(f"the {what} would take about {_size(n * item)} in memory ({n} items of {_size(item)}), "
                           f"more than the budget of {_size(budget)}; pass a torch.utils.data.Subset of it, "
                           "or a larger memory_budget")
    xs, ys = zip(*(data[i] for i in range(n)))
    X = np.stack([_numpy(x, f"x of the {what}'s items") for x in xs])
    return X, _labels(np.stack([_numpy(v, f"y of the {what}'s items") for v in ys]), f"y of the {what}'s items")


def _parts(obj, target: str | None, budget: int | None) -> tuple[pd.DataFrame | np.ndarray, np.ndarray, str, str]:
    """Features (a DataFrame of columns, or an array), raw targets, the target's name and what was given."""
    if isinstance(obj, pd.DataFrame):
        frame = obj.rename(columns=str)
        label = _target_column(frame, target, "the DataFrame")
        return frame.drop(columns=label), frame[label].to_numpy(), label, "DataFrame"
    if target is not None:
        raise GoodfitError(f"target names a column of a DataFrame, but {type(obj).__name__} data carries its own "
                           "labels; leave out target")
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        X, y = obj
        name = str(y.name) if isinstance(y, pd.Series) and y.name is not None else "y"
        if isinstance(X, pd.DataFrame):
            return X.rename(columns=str), _labels(y, "y of (DataFrame, y)"), name, "DataFrame"
        return _numpy(X, "X of (X, y)"), _labels(y, "y of (X, y)"), name, "arrays"
    if hasattr(obj, "__len__") and hasattr(obj, "__getitem__") and not isinstance(obj, (str, bytes, tuple, list,
                                                                                         np.ndarray)):
        X, y = _items(obj, budget)
        return X, y, "y", type(obj).__name__
    raise GoodfitError(f"data of type {type(obj).__name__} is not one goodfit reads; give a built-in name, a path, "
                       f"or {_FORMS}")


def _joined(train: tuple, test: tuple) -> tuple[pd.DataFrame | np.ndarray, np.ndarray]:
    """Train and test rows as one set of features and targets, so that both are encoded alike."""
    (X, y, *_), (X_test, y_test, *_) = train, test
    if isinstance(X, pd.DataFrame) != isinstance(X_test, pd.DataFrame):
        raise GoodfitError("'train' and 'test' differ in form (one a DataFrame, one arrays); give both alike")
    if isinstance(X, pd.DataFrame):
        if list(X.columns) != list(X_test.columns):
            raise GoodfitError(f"'test' has the columns {_listed(X_test.columns)}, 'train' {_listed(X.columns)}; "
                               "give both the same columns")
        return pd.concat([X, X_test], ignore_index=True), np.concatenate([y, y_test])
    if X.shape[1:] != X_test.shape[1:]:
        raise GoodfitError(f"'test' features have shape {X_test.shape}, 'train' {X.shape}; give both the same "
                           "shape past the first axis")
    return np.concatenate([X, X_test]), np.concatenate([y, y_test])


def _features(X: pd.DataFrame | np.ndarray, where: str) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """Float32 features in their kind's layout, the kind, and a name per column of a table."""
    if isinstance(X, pd.DataFrame):
        if X.shape[1] == 0:
            raise GoodfitError(f"{where} has no feature columns; add them next to the target")
        blocks = [_feature_block(X[c], where) for c in X.columns]
        X = np.concatenate([b for _, b in blocks], axis=1).astype(np.float32)  # (N, D)
        return X, "table", tuple(n for names, _ in blocks for n in names)
    X, kind = _shaped_features(X, where)
    return X, kind, tuple(f"x{i + 1}" for i in range(X.shape[1])) if kind == "table" else ()


def _as_kind(X: np.ndarray, found: str, kind: str | None) -> str:
    """The kind asked for, where the features' shape allows it: a 2-D table may be read as sequences."""
    if kind is None or kind == found or (kind == "sequence" and found == "table"):
        return kind or found
    shapes = {"table": "(N, D)", "sequence": "(N, L) or (N, 1, L)", "image": "(N, H, W) or (N, C, H, W)"}
    raise GoodfitError(f"kind {kind!r} needs features of shape {shapes[kind]}, but these read as {found} "
                       f"{X.shape}; reshape them, or leave out kind")


def _fingerprint(ds: Dataset) -> str:
    """The first 16 hex digits of a sha256 over the data set's arrays and what they mean."""
    h = hashlib.sha256(repr((ds.kind, ds.task, ds.classes, ds.X.shape, ds.feature_names, ds.standardize,
                             ds.target)).encode())
    for a in (ds.X, ds.y) + (ds.test or ()):
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


def register(ds: Dataset) -> str:
    """Register an in-memory data set in this process and return its token, which `goodfit.load` resolves.

    The token is `memory:<name>:<hash of the arrays>`: the same data gives the same token, so a plan
    naming it keeps its fingerprint and a resumed study on the same arrays resumes.

    Example:
        >>> ds = Dataset("toy", np.eye(4, dtype=np.float32), np.array([0, 1, 0, 1]), "table", ("a", "b"))
        >>> token = register(ds)
        >>> token.startswith("memory:toy:"), registered(token) is ds
        (True, True)
    """
    token = f"{PREFIX}{ds.name}:{_fingerprint(ds)}"
    _REGISTRY.setdefault(token, ds)
    return token


def registered(token: str, task: str | None = None) -> Dataset:
    """The data set registered under `token`; `task`, when given, must be its task."""
    if token not in _REGISTRY:
        raise GoodfitError(f"in-memory data {token!r} is not known in this process; pass the data itself "
                           "(e.g. Study(data=(X, y))), and the study's units carry it to their workers")
    ds = _REGISTRY[token]
    if task is not None and task != ds.task:
        raise GoodfitError(f"{ds.name} is a {ds.task} data set; leave out task={task!r}, or build it with "
                           f"from_memory(..., task={task!r})")
    return ds


def in_memory(source: str) -> Dataset | None:
    """The registered data set a plan's `data` names; None for a built-in name or a path."""
    return registered(source) if source.startswith(PREFIX) else None


def from_memory(obj, target: str | None = None, task: str | None = None, kind: str | None = None,
                name: str | None = None, memory_budget: int | None = None) -> Dataset:
    """Build a `Dataset` from data in memory, read as the files of the same shape are.

    Features become float32. A 2-D `X` is a table (standardized on the training part); `(N, 1, L)`
    sequences; `(N, H, W)` or `(N, C, H, W)` images (0..255 pixels scaled to [0, 1]), as an NPZ
    file's `X`. DataFrame columns are read as a CSV's: numbers as they are, text one-hot encoded.
    Targets decide the task as a file's do: text and few whole numbers are classes (coded
    `0 .. C-1` in sorted order of their values), fractional numbers a quantity.

    Args:
        obj: `(X, y)` of numpy arrays, torch tensors or lists; a pandas DataFrame with `target`;
            `(DataFrame, Series)`; `{"train": (X, y), "test": (X, y)}` (`test` optional: a fixed test
            set); a map-style `torch.utils.data.Dataset` whose items are `(x, y)`, read once; or a
            `Dataset`, as it is.
        target: the label column of a DataFrame. Default None (required for a DataFrame).
        task: `classification` or `regression`, or None to decide from the targets. Default None.
        kind: `table`, `sequence` or `image`, or None to decide from the features' shape (a 2-D
            table may be read as sequences). Default None.
        name: how reports name the data. Default what was given and its size (`arrays(200x13)`).
        memory_budget: bytes a torch dataset may take once read; it is refused, before reading,
            when its first item times its length exceeds this. Default None: half the available memory.

    Returns:
        The `Dataset`.

    Raises:
        GoodfitError: for data of another form, mismatched lengths, NaN or infinite values, no rows,
            a kind the shape does not allow, or a torch dataset over the budget; the message says what to change.

    Example:
        >>> X, y = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2
        >>> ds = from_memory((X, y))
        >>> ds.name, ds.kind, ds.task, ds.classes
        ('arrays(20x2)', 'table', 'classification', ('0', '1'))
        >>> pets = pd.DataFrame({"weight": [4.1, 30.5, 3.8], "kind": ["cat", "dog", "cat"]})
        >>> from_memory(pets, target="kind").classes
        ('cat', 'dog')
    """
    if task is not None and task not in TASKS:
        raise GoodfitError(f"task {task!r} is unknown; use task='classification' or task='regression'")
    if kind is not None and kind not in KINDS:
        raise GoodfitError(f"kind {kind!r} is unknown; use one of {', '.join(KINDS)}, or leave out kind")
    if isinstance(obj, Dataset):
        for what, asked, has in (("kind", kind, obj.kind), ("task", task, obj.task)):
            if asked not in (None, has):
                raise GoodfitError(f"{obj.name} is a {has} Dataset already; leave out {what}={asked!r}")
        return obj
    if isinstance(obj, dict):
        stray = sorted(set(map(str, obj)) - {"train", "test"})
        if stray or "train" not in obj:
            raise GoodfitError(f"data as a dict takes the keys 'train' and 'test', got {_listed(map(repr, obj))}; "
                               "give {'train': (X, y)} and optionally 'test': (X_test, y_test)")
        parts = [_parts(obj[key], target, memory_budget) for key in ("train", "test") if key in obj]
    else:
        parts = [_parts(obj, target, memory_budget)]
    train_rows = len(parts[0][1])
    shape = "x".join(map(str, parts[0][0].shape))
    name = name or f"{parts[0][3]}({shape}" + (f", test {len(parts[1][1])}" if len(parts) > 1 else "") + ")"
    for X, y, *_ in parts:
        if len(X) != len(y):
            raise GoodfitError(f"{name}: {len(X)} feature rows but {len(y)} targets; give one target per row")
        if len(y) == 0:
            raise GoodfitError(f"{name}: the data set is empty; give it at least a few rows per class")
    X, labels = _joined(*parts) if len(parts) > 1 else parts[0][:2]
    label = parts[0][2]
    y, classes, task, why = _target(labels, f"the targets of {name}", task)
    X, found, feature_names = _features(X, name)
    kind = _as_kind(X, found, kind)
    test = (X[train_rows:], y[train_rows:]) if len(parts) > 1 else None
    return Dataset(name, X[:train_rows], y[:train_rows], kind, classes, feature_names=feature_names,
                   standardize=kind == "table", test=test, task=task, target=label,
                   why=f"task={task!r}" if why.startswith("--") else f"{label!r} holds {why}")


def source_of(data, target: str | None = None, task: str | None = None) -> str:
    """How a plan names data: a built-in name or path as it is, data in memory by its registered token.

    Example:
        >>> source_of("wine")
        'wine'
        >>> source_of((np.eye(6, dtype=np.float32), [0, 1] * 3)).startswith("memory:arrays(6x6):")
        True
    """
    if isinstance(data, (str, os.PathLike)):
        return str(data)
    return register(from_memory(data, target, task))
