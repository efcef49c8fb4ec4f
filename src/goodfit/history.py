"""The history table: one row per member and epoch, the common language of engine and diagnosis.

Here are its columns, its CSV form and its readers; it knows nothing of training.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError

METRICS = (
    "train_loss",      # cross-entropy on a fixed training subset, eval mode (no dropout, no augmentation)
    "train_accuracy",  # accuracy on that subset, eval mode, as a fraction
    "val_loss",
    "val_accuracy",
    "running_loss",    # mean minibatch loss while training, with dropout and augmentation active
    "test_loss",       # filled once, on the last epoch row, after best weights were restored
    "test_accuracy",
)
COLUMNS = ("member", "epoch") + METRICS


@dataclass
class History:
    """Per-epoch metrics of one or more members.

    Args:
        frame: a DataFrame with `member` and 1-based `epoch` columns and any of `METRICS`;
            a metric a source did not log is absent or NaN.
        num_classes: number of classes, for chance level; None when unknown.
        source: where it came from (a path, or `goodfit`).

    Example:
        >>> h = History(pd.DataFrame({"member": [0, 0], "epoch": [1, 2], "val_loss": [0.9, 0.7]}))
        >>> h.epochs, h.has("val_loss"), h.has("train_loss")
        (2, True, False)
    """

    frame: pd.DataFrame
    num_classes: int | None = None
    source: str = "goodfit"

    def __post_init__(self):
        missing = {"member", "epoch"} - set(self.frame.columns)
        if missing:
            raise GoodfitError(f"history from {self.source} lacks column(s) {', '.join(sorted(missing))}")
        metrics = [c for c in METRICS if c in self.frame.columns]
        if not metrics:
            raise GoodfitError(f"history from {self.source} has no metric columns; expected some of {', '.join(METRICS)}")
        self.frame = self.frame[["member", "epoch"] + metrics].sort_values(["member", "epoch"]).reset_index(drop=True)

    @property
    def members(self) -> list[int]:
        return sorted(int(m) for m in self.frame["member"].unique())

    @property
    def epochs(self) -> int:
        return int(self.frame["epoch"].max()) if len(self.frame) else 0

    def has(self, metric: str) -> bool:
        return metric in self.frame.columns and bool(self.frame[metric].notna().any())

    def member(self, m: int) -> "History":
        """The history of one member."""
        return History(self.frame[self.frame["member"] == m].copy(), self.num_classes, self.source)

    def curve(self, metric: str, member: int | None = None) -> np.ndarray:
        """The metric over epochs for one member (the first if None), NaN where not logged."""
        m = self.members[0] if member is None else member
        rows = self.frame[self.frame["member"] == m]
        return rows[metric].to_numpy(dtype=float) if metric in rows else np.full(len(rows), np.nan)

    def to_csv(self, path: str | Path) -> None:
        """Write the canonical CSV: one row per member and epoch, columns in `COLUMNS` order."""
        self.frame.to_csv(path, index=False, float_format="%.6g")


def read_goodfit_csv(path: str | Path, num_classes: int | None = None) -> History:
    """Read a history CSV written by `History.to_csv`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "h.csv")
        >>> History(pd.DataFrame({"member": [0], "epoch": [1], "val_loss": [0.5]})).to_csv(p)
        >>> read_goodfit_csv(p).curve("val_loss").tolist()
        [0.5]
    """
    frame = pd.read_csv(path)
    return History(frame, num_classes, str(path))


# ---- importers: goodfit's own runs, Keras CSVLogger, Lightning CSVLogger, any CSV ----------------
# Other frameworks log "the training loss" as the mean minibatch loss of the epoch; it goes to
# `train_loss`, which for them is the running loss. Epoch columns that start at 0 are shifted to 1.

FORMATS = ("goodfit", "keras", "lightning", "csv")
OVERRIDES = {"train_loss": "--train-loss", "val_loss": "--val-loss", "train_accuracy": "--train-acc",
             "val_accuracy": "--val-acc", "epoch": "--epoch"}

_SPLIT_WORDS = {"train": "train", "training": "train", "trn": "train", "tr": "train",
                "val": "val", "valid": "val", "validation": "val", "dev": "val", "eval": "val",
                "test": "test", "tst": "test", "running": "running"}
_KIND_WORDS = {"loss": "loss", "nll": "loss", "xent": "loss", "crossentropy": "loss",
               "acc": "accuracy", "accuracy": "accuracy", "acc1": "accuracy", "top1": "accuracy"}
_NEUTRAL_WORDS = {"sparse", "categorical", "binary", "cross", "entropy", "mean", "avg", "average", "set", "data",
                  "total", "overall", "ce", "epoch", "step", "top", "1", "batch"}
_SLOTS = {("train", "loss"): "train_loss", ("train", "accuracy"): "train_accuracy",
          ("val", "loss"): "val_loss", ("val", "accuracy"): "val_accuracy",
          ("running", "loss"): "running_loss", ("test", "loss"): "test_loss", ("test", "accuracy"): "test_accuracy"}
_EPOCH_NAMES = ("epoch", "epochs", "ep")


def _tokens(column: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(column))  # valLoss -> val Loss
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _split_and_kind(column: str) -> tuple[str | None, str] | None:
    """(split or None when the name has none, loss or accuracy) for a metric column, else None."""
    if re.search(r"top_?([2-9]|1\d)", str(column).lower()):  # top-5 accuracy is another metric
        return None
    tokens = _tokens(column)
    splits = {_SPLIT_WORDS[t] for t in tokens if t in _SPLIT_WORDS}
    kinds = {_KIND_WORDS[t] for t in tokens if t in _KIND_WORDS}
    if len(splits) > 1 or len(kinds) != 1:
        return None
    return (splits.pop() if splits else None), kinds.pop()


def _slot_of(column: str, bare: str = "train") -> tuple[str, tuple[int, int, int]] | None:
    """The metric a column most likely holds, and a rank (lower is a safer guess), or None.

    `bare` is the split of a name without one: training for Keras (`loss` beside `val_loss`),
    validation for fastai (`accuracy` beside `train_loss` and `valid_loss`).
    """
    found = _split_and_kind(column)
    if found is None:
        return None
    slot = _SLOTS.get((found[0] or bare, found[1]))
    if slot is None:
        return None
    tokens = _tokens(column)
    extra = sum(t not in _SPLIT_WORDS and t not in _KIND_WORDS and t not in _NEUTRAL_WORDS for t in tokens)
    aggregation = 0 if "epoch" in tokens else 2 if "step" in tokens else 1  # Lightning's _epoch beats _step
    return slot, (extra, aggregation, 0 if found[0] else 1)


def _guess_columns(columns: list[str], source: str) -> dict[str, str]:
    """Map metric slots to columns by their names; an ambiguous training or validation slot is an error."""
    parsed = [_split_and_kind(c) for c in columns]
    bare_loss = any(p and p[0] is None and p[1] == "loss" for p in parsed)
    train_named = any(p and p[0] == "train" for p in parsed)
    bare = "val" if train_named and not bare_loss else "train"
    candidates: dict[str, list[tuple[tuple[int, int, int], str]]] = {}
    for col in columns:
        found = _slot_of(col, bare)
        if found:
            candidates.setdefault(found[0], []).append((found[1], col))
    mapping = {}
    for slot, ranked in candidates.items():
        ranked.sort()
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            if slot.startswith("test"):
                continue
            option = OVERRIDES.get(slot, "")
            raise GoodfitError(f"{source}: columns {ranked[0][1]!r} and {ranked[1][1]!r} could both be {slot}; "
                               f"name the right one with {option or slot + '='}")
        mapping[slot] = ranked[0][1]
    return mapping


def _epoch_column(columns: list[str]) -> str | None:
    return next((c for c in columns if "".join(_tokens(c)) in _EPOCH_NAMES), None)


def _read_table(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise GoodfitError(f"no file at {str(p)!r}; pass the path of a history CSV (goodfit, Keras, Lightning or plain)")
    if p.is_dir():
        raise GoodfitError(f"{str(p)!r} is a folder; pass the CSV inside it (history.csv or metrics.csv)")
    try:
        if p.stat().st_size == 0:
            raise pd.errors.EmptyDataError
        with open(p, newline="", encoding="utf-8") as f:
            head = f.read(4096)
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:  # one column, nothing to sniff
            sep = ","
        frame = pd.read_csv(p, sep=sep)
    except pd.errors.EmptyDataError:
        raise GoodfitError(f"{str(p)!r} is empty; expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise GoodfitError(f"cannot read {str(p)!r} as CSV ({str(err).splitlines()[0]}); "
                           "expected a header row and one row per epoch") from None
    if frame.empty:
        raise GoodfitError(f"{str(p)!r} has a header ({', '.join(map(str, frame.columns))}) but no rows")
    return frame


def _numeric(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.notna().sum() == 0:
        raise GoodfitError(f"{source}: column {column!r} holds no numbers (first value {frame[column].iloc[0]!r})")
    return values


def _as_fraction(values: pd.Series, column: str, source: str) -> pd.Series:
    top = values.max()
    if top > 100:
        raise GoodfitError(f"{source}: accuracy column {column!r} reaches {top:g}; expected a fraction or a percentage")
    return values / 100 if top > 1 else values


def detect_format(frame: pd.DataFrame) -> str:
    """Which program most likely wrote a history table: one of `FORMATS`.

    Args:
        frame: the table as read from the CSV.

    Returns:
        `goodfit` (member, epoch and goodfit's metric names), `lightning` (epoch and step columns,
        as Lightning's CSVLogger writes), `keras` (epoch first and a bare `loss`, as Keras' CSVLogger
        writes) or `csv` for anything else.

    Example:
        >>> detect_format(pd.DataFrame(columns=["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]))
        'keras'
    """
    columns = [str(c) for c in frame.columns]
    if {"member", "epoch"} <= set(columns) and set(columns) & set(METRICS):
        return "goodfit"
    if {"epoch", "step"} <= set(columns):
        return "lightning"
    if columns and columns[0] == "epoch" and "loss" in columns:
        return "keras"
    return "csv"


def history_from_frame(frame: pd.DataFrame, source: str = "csv", num_classes: int | None = None,
                       **columns: str | None) -> History:
    """Turn a table that some framework logged into a `History`, guessing which column is which.

    Column names are read the way a person would: `Train Loss`, `valid_acc`, `val/loss`,
    `train_loss_epoch`, Keras' bare `loss` and `accuracy` (training) beside `val_loss`, fastai's
    bare `accuracy` (validation) beside `train_loss` and `valid_loss`. Rows that
    share an epoch (Lightning writes training and validation rows apart) are merged, averaging
    what was logged more than once. Epochs starting at 0 are shifted to start at 1, accuracies in
    percent become fractions, and with no epoch column each row is one epoch.

    Args:
        frame: the table, one or more rows per epoch.
        source: where it came from, for messages. Default `csv`.
        num_classes: number of classes, for chance level. Default None (unknown).
        **columns: column names for `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy` or
            `epoch` where the guess is wrong or ambiguous; None keeps the guess.

    Returns:
        A one-member `History`.

    Example:
        >>> t = pd.DataFrame({"Epoch": [1, 2], "Train Loss": [0.9, 0.5], "Valid Loss": [1.0, 0.8]})
        >>> history_from_frame(t).frame[["epoch", "train_loss", "val_loss"]].values.tolist()
        [[1.0, 0.9, 1.0], [2.0, 0.5, 0.8]]
    """
    names = [str(c) for c in frame.columns]
    frame = frame.set_axis(names, axis=1)
    unknown = set(columns) - set(OVERRIDES)
    if unknown:
        raise GoodfitError(f"unknown column role(s) {', '.join(sorted(unknown))}; use {', '.join(OVERRIDES)}")
    for role, col in columns.items():
        if col is not None and col not in names:
            raise GoodfitError(f"{source}: column {col!r} (given for {OVERRIDES[role]}) not found; "
                               f"columns: {', '.join(names)}")
    given = {role: col for role, col in columns.items() if col is not None and role != "epoch"}
    rest = [c for c in names if c not in given.values()]
    mapping = {**{s: c for s, c in _guess_columns(rest, source).items() if s not in given}, **given}
    if not {"train_loss", "val_loss", "train_accuracy", "val_accuracy"} & set(mapping):
        raise GoodfitError(f"{source}: found no loss or accuracy columns among {', '.join(names)}; name them with "
                           "--train-loss, --val-loss, --train-acc and --val-acc")
    out = pd.DataFrame({slot: _numeric(frame, col, source) for slot, col in mapping.items()})
    for slot in ("train_accuracy", "val_accuracy", "test_accuracy"):
        if slot in out:
            out[slot] = _as_fraction(out[slot], mapping[slot], source)
    epoch_col = columns.get("epoch") or _epoch_column(names)
    if epoch_col is None:
        out["epoch"] = np.arange(1, len(out) + 1)
    else:
        epoch = _numeric(frame, epoch_col, source)
        out["epoch"] = epoch
        out = out[epoch.notna()]
        out["epoch"] = (out["epoch"] - out["epoch"].min() + 1 if out["epoch"].min() == 0 else out["epoch"]).round()
        out = out.groupby("epoch", as_index=False).mean()
    metrics = [c for c in METRICS if c in out]
    out = out.dropna(how="all", subset=metrics)
    if out.empty:
        raise GoodfitError(f"{source}: no row holds a number in {', '.join(mapping.values())}")
    out.insert(0, "member", 0)
    return History(out[["member", "epoch"] + metrics].astype({"epoch": int}).reset_index(drop=True),
                   num_classes, source)


def read_run_config(path: str | Path) -> dict:
    """The `config.json` that goodfit writes beside a run's `history.csv`, or {} when there is none.

    Args:
        path: the history file (or any file of the run folder).

    Returns:
        The parsed JSON object, or an empty dict.

    Example:
        >>> read_run_config("/nonexistent/history.csv")
        {}
    """
    config = Path(path).with_name("config.json")
    if not config.is_file():
        return {}
    try:
        loaded = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError):
        raise GoodfitError(f"{str(config)!r} is not valid JSON; fix or remove it") from None
    return loaded if isinstance(loaded, dict) else {}


def read_keras_csv(path: str | Path, num_classes: int | None = None) -> History:
    """Read the file Keras' `CSVLogger` writes: 0-based `epoch`, then `loss`, `accuracy`, `val_*`, sorted.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> _ = open(p, "w").write("epoch,accuracy,loss,val_accuracy,val_loss\\n0,0.5,0.9,0.4,1.0\\n1,0.7,0.6,0.6,0.8\\n")
        >>> read_keras_csv(p).frame[["epoch", "train_accuracy", "val_loss"]].values.tolist()
        [[1.0, 0.5, 1.0], [2.0, 0.7, 0.8]]
    """
    frame = _read_table(path)
    if "epoch" not in frame.columns or "loss" not in frame.columns:
        raise GoodfitError(f"{str(path)!r} does not look like a Keras CSVLogger file (expected columns epoch and loss; "
                           f"found {', '.join(map(str, frame.columns))})")
    return history_from_frame(frame, str(path), num_classes)


def read_lightning_csv(path: str | Path, num_classes: int | None = None) -> History:
    """Read Lightning's `CSVLogger` `metrics.csv`: training and validation rows interleaved, blanks between.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "metrics.csv")
        >>> _ = open(p, "w").write("train_loss,epoch,step,val_loss\\n0.9,0,9,\\n,0,9,1.0\\n0.6,1,19,\\n,1,19,0.8\\n")
        >>> read_lightning_csv(p).frame[["epoch", "train_loss", "val_loss"]].values.tolist()
        [[1.0, 0.9, 1.0], [2.0, 0.6, 0.8]]
    """
    frame = _read_table(path)
    if not {"epoch", "step"} <= set(map(str, frame.columns)):
        raise GoodfitError(f"{str(path)!r} does not look like a Lightning metrics.csv (expected columns epoch and step; "
                           f"found {', '.join(map(str, frame.columns))})")
    return history_from_frame(frame, str(path), num_classes)


def read_history(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read a training log, whoever wrote it: goodfit, Keras' or Lightning's CSVLogger, or a plain CSV.

    The format is detected from the columns (see `detect_format`); naming any column switches to
    the plain-CSV reader, which takes the names given and guesses the rest. For a goodfit run,
    `num_classes` comes from the `config.json` beside the file.

    Args:
        path: the CSV file.
        num_classes: number of classes, for chance level. Default None (from `config.json`, else unknown).
        **columns: `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy` or `epoch` set to
            a column name, where guessing by name is not safe. Default: guess all.

    Returns:
        The `History`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "any.csv")
        >>> _ = open(p, "w").write("ep,Train Loss,Valid Loss\\n1,0.9,1.0\\n2,0.6,0.8\\n")
        >>> read_history(p, epoch="ep").curve("val_loss").tolist()
        [1.0, 0.8]
    """
    frame = _read_table(path)
    fmt = detect_format(frame)
    if num_classes is None:
        num_classes = read_run_config(path).get("num_classes")
    if fmt == "goodfit" and not any(columns.values()):
        return History(frame, num_classes, str(path))
    return history_from_frame(frame, str(path), num_classes, **columns)
