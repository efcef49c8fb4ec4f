"""The history table: one row per member and epoch, the common language of engine and diagnosis.

Here are its columns, its CSV form and its readers (goodfit, Keras, Lightning, fastai, Weights &
Biases and plain CSVs; TensorBoard event files; Hugging Face `trainer_state.json`; Keras history
JSON; MLflow run folders); it knows nothing of training.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError

METRICS = (
    "train_loss",      # the training loss (cross-entropy, or the regression loss on standardized targets) on a
                       # fixed training subset, eval mode (no dropout, no augmentation)
    "train_accuracy",  # accuracy on that subset, eval mode, as a fraction
    "val_loss",
    "val_accuracy",
    "running_loss",    # mean minibatch loss while training, with dropout and augmentation active
    "test_loss",       # filled once, on the last epoch row, after best weights were restored
    "test_accuracy",
    # regression: errors in the target's own units, and R² (1 - squared error / variance of the targets)
    "train_rmse", "val_rmse", "test_rmse",
    "train_mae", "val_mae", "test_mae",
    "train_r2", "val_r2", "test_r2",
)
SCORES = {"accuracy": True, "r2": True, "rmse": False, "mae": False}  # the secondary signals; True: higher is better
SCORE_WORDS = {"accuracy": "accuracy", "r2": "R²", "rmse": "RMSE", "mae": "MAE"}  # as a sentence or a chart names them
COLUMNS = ("member", "epoch") + METRICS


@dataclass
class History:
    """Per-epoch metrics of one or more members.

    Args:
        frame: a DataFrame with `member` and 1-based `epoch` columns and any of `METRICS`;
            a metric a source did not log is absent or NaN.
        num_classes: number of classes, for chance level; None when unknown.
        source: where it came from (a path, or `goodfit`).
        format: which program wrote it, one of `FORMATS`. Default `goodfit`.
        read: the name each metric was read from in the source, e.g. `{"val_loss": "eval/loss"}`.
            Default: the metric names themselves.
        notes: what the reader did that the diagnosis should say (steps grouped into epochs).
        warnings: what the reader found wrong but could read past (a cell that is not a number).

    Example:
        >>> h = History(pd.DataFrame({"member": [0, 0], "epoch": [1, 2], "val_loss": [0.9, 0.7]}))
        >>> h.epochs, h.has("val_loss"), h.has("train_loss")
        (2, True, False)
    """

    frame: pd.DataFrame
    num_classes: int | None = None
    source: str = "goodfit"
    format: str = "goodfit"
    read: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

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

    @property
    def score(self) -> str | None:
        """The secondary signal beside the loss, a key of `SCORES`: accuracy when logged, else the first of
        R², RMSE and MAE logged, on validation before training; None when only losses were logged.

        Example:
            >>> History(pd.DataFrame({"member": 0, "epoch": [1, 2], "val_loss": [0.9, 0.7], "val_mae": [0.5, 0.4]})).score
            'mae'
        """
        return next((kind for split in ("val", "train") for kind in SCORES if self.has(f"{split}_{kind}")), None)

    def member(self, m: int) -> "History":
        """The history of one member."""
        return History(self.frame[self.frame["member"] == m].copy(), self.num_classes, self.source, self.format,
                       self.read, self.notes, self.warnings)

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

FORMATS = ("goodfit", "keras", "lightning", "fastai", "wandb", "csv", "tensorboard", "hf-trainer", "keras-json",
           "mlflow", "json")
FORMAT_NAMES = {"goodfit": "goodfit history", "keras": "Keras CSVLogger log", "lightning": "Lightning CSVLogger log",
                "fastai": "fastai CSVLogger log", "wandb": "Weights & Biases CSV export", "csv": "CSV",
                "tensorboard": "TensorBoard event files", "hf-trainer": "Hugging Face trainer_state.json",
                "keras-json": "Keras history JSON", "mlflow": "MLflow run", "json": "JSON history"}
OVERRIDES = {"train_loss": "--train-loss", "val_loss": "--val-loss", "train_accuracy": "--train-acc",
             "val_accuracy": "--val-acc", "epoch": "--epoch"}
SLOT_NAMES = {"train_loss": "training loss", "val_loss": "validation loss", "train_accuracy": "training accuracy",
              "val_accuracy": "validation accuracy",
              **{f"{split}_{kind}": f"{word} {SCORE_WORDS[kind]}" for kind in ("rmse", "mae", "r2")
                 for split, word in (("train", "training"), ("val", "validation"))}}
JUDGED = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_rmse", "val_rmse", "train_mae", "val_mae",
          "train_r2", "val_r2")  # a log needs one of these to be read
VALIDATION = tuple(s for s in JUDGED if s.startswith("val_"))

_SPLIT_WORDS = {"train": "train", "training": "train", "trn": "train", "tr": "train",
                "val": "val", "valid": "val", "validation": "val", "dev": "val", "eval": "val",
                "test": "test", "tst": "test", "running": "running"}
_KIND_WORDS = {"loss": "loss", "nll": "loss", "xent": "loss", "crossentropy": "loss",
               "acc": "accuracy", "accuracy": "accuracy", "acc1": "accuracy", "top1": "accuracy",
               "mae": "mae", "rmse": "rmse", "r2": "r2", "mse": "mse"}  # mse: the loss where no loss is logged
_PHRASES = ((("root", "mean", "squared", "error"), "rmse"), (("mean", "squared", "error"), "mse"),
            (("mean", "absolute", "error"), "mae"), (("r2", "score"), "r2"), (("r2score",), "r2"),
            (("r", "squared"), "r2"), (("rsquared",), "r2"))  # Keras', torchmetrics' and sklearn's long names
_NEUTRAL_WORDS = {"sparse", "categorical", "binary", "cross", "entropy", "mean", "avg", "average", "set", "data",
                  "total", "overall", "ce", "epoch", "step", "top", "1", "batch"}
_SLOTS = {("train", "loss"): "train_loss", ("train", "accuracy"): "train_accuracy",
          ("val", "loss"): "val_loss", ("val", "accuracy"): "val_accuracy",
          ("running", "loss"): "running_loss", ("test", "loss"): "test_loss", ("test", "accuracy"): "test_accuracy",
          **{(split, kind): f"{split}_{kind}" for split in ("train", "val", "test") for kind in ("rmse", "mae", "r2")}}
_EPOCH_NAMES = ("epoch", "epochs", "ep")
_STEP_NAMES = ("step", "steps", "globalstep", "iteration", "iter", "it", "batch")
ZERO_BASED = "the log's {name!r} counts from 0; epochs here count from 1, so its epoch 0 is epoch 1 here."
_NA_WORDS = {"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a"}


def _tokens(column: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(column))  # valLoss -> val Loss
    tokens = [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]
    for phrase, word in _PHRASES:  # val_mean_absolute_error -> val mae
        for i in range(len(tokens) - len(phrase), -1, -1):
            if tuple(tokens[i:i + len(phrase)]) == phrase:
                tokens[i:i + len(phrase)] = [word]
    return tokens


def _split_and_kind(column: str) -> tuple[str | None, str] | None:
    """(split or None when the name has none, kind: loss, accuracy, mse, rmse, mae or r2) for a metric column, else None."""
    if re.search(r"top_?([2-9]|1\d)", str(column).lower()):  # top-5 accuracy is another metric
        return None
    tokens = _tokens(column)
    splits = {_SPLIT_WORDS[t] for t in tokens if t in _SPLIT_WORDS}
    kinds = {_KIND_WORDS[t] for t in tokens if t in _KIND_WORDS}
    if len(splits) > 1 or len(kinds) != 1:
        return None
    return (splits.pop() if splits else None), kinds.pop()


def _slot_of(column: str, bare: str = "train") -> tuple[str, tuple[int, int, int, int]] | None:
    """The metric a column most likely holds, and a rank (lower is a safer guess), or None.

    `bare` is the split of a name without one: training for Keras (`loss` beside `val_loss`),
    validation for fastai (`accuracy` beside `train_loss` and `valid_loss`). A mean squared error
    is the loss where no column is named loss (Keras logs `mse` beside `loss` when both are MSE).
    """
    found = _split_and_kind(column)
    if found is None:
        return None
    slot = _SLOTS.get((found[0] or bare, "loss" if found[1] == "mse" else found[1]))
    if slot is None:
        return None
    tokens = _tokens(column)
    extra = sum(t not in _SPLIT_WORDS and t not in _KIND_WORDS and t not in _NEUTRAL_WORDS for t in tokens)
    aggregation = 0 if "epoch" in tokens else 2 if "step" in tokens else 1  # Lightning's _epoch beats _step
    return slot, (int(found[1] == "mse"), extra, aggregation, 0 if found[0] else 1)


def _guess_columns(columns: list[str], source: str, what: str = "columns",
                   every: list[str] | None = None) -> dict[str, str]:
    """Map metric slots to columns by their names; an ambiguous training or validation slot is an error.

    `every` is all the log's names, the ones the user named included (default `columns`): whether a
    bare `Acc` is training or validation depends on the names beside it, so naming a column with a
    flag must not change the guess for another.
    """
    parsed = [_split_and_kind(c) for c in (columns if every is None else every)]
    bare_loss = any(p and p[0] is None and p[1] == "loss" for p in parsed)
    train_named = any(p and p[0] == "train" for p in parsed)
    bare = "val" if train_named and not bare_loss else "train"
    candidates: dict[str, list[tuple[tuple[int, int, int, int], str]]] = {}
    for col in columns:
        found = _slot_of(col, bare)
        if found:
            candidates.setdefault(found[0], []).append((found[1], col))
    mapping = {}
    for slot, ranked in candidates.items():
        ranked.sort()
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            if slot.startswith("test") or slot.endswith(("_rmse", "_mae", "_r2")):  # left out rather than guessed
                continue
            option = OVERRIDES.get(slot, "")
            raise GoodfitError(f"{source}: {what} {ranked[0][1]!r} and {ranked[1][1]!r} could both be {slot}; "
                               f"name the right one with {option or slot + '='}")
        mapping[slot] = ranked[0][1]
    return mapping


def _named(columns: list[str], names: tuple[str, ...]) -> str | None:
    return next((c for c in columns if "".join(_tokens(c)) in names), None)


def _epoch_column(columns: list[str]) -> str | None:
    return _named(columns, _EPOCH_NAMES)


def _data_lines(text: str, sep: str) -> tuple[list[int], list[str]]:
    """The file line of each data row (as pandas numbers them, blank lines skipped) and a warning per short row."""
    lines, warnings, header = [], [], None
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = row
            continue
        lines.append(reader.line_num)
        if len(row) < len(header):
            missing = ", ".join(header[len(row):])
            warnings.append(f"line {reader.line_num} has {len(row)} of {len(header)} fields; {missing} read as "
                            "not logged there")
    return lines, warnings


def _read_table(path: str | Path) -> pd.DataFrame:
    """A CSV as a DataFrame; `attrs` hold each row's line in the file and warnings about short rows."""
    p = Path(path)
    if not p.exists():
        raise GoodfitError(f"no file at {str(p)!r}; pass the path of a training log (CSV, JSON, TensorBoard events "
                           "or a run folder)")
    if p.is_dir():
        raise GoodfitError(f"{str(p)!r} is a folder; pass the CSV inside it (history.csv or metrics.csv)")
    try:
        if p.stat().st_size == 0:
            raise pd.errors.EmptyDataError
        with open(p, newline="", encoding="utf-8") as f:
            text = f.read()
        head = text[:4096]
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:  # one column, nothing to sniff
            sep = ","
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except pd.errors.EmptyDataError:
        raise GoodfitError(f"{str(p)!r} is empty; expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise GoodfitError(f"cannot read {str(p)!r} as CSV ({str(err).splitlines()[0]}); "
                           "expected a header row and one row per epoch") from None
    if frame.empty:
        raise GoodfitError(f"{str(p)!r} has a header ({', '.join(map(str, frame.columns))}) but no rows")
    lines, warnings = _data_lines(text, sep)
    frame.attrs["lines"] = lines if len(lines) == len(frame) else [i + 2 for i in range(len(frame))]
    frame.attrs["warnings"] = warnings
    return frame


def _numeric(frame: pd.DataFrame, column: str, source: str, warnings: list[str] | None = None) -> pd.Series:
    """A column as numbers. A cell that is not one (`abc`) is a warning naming its line and read as not
    logged; a column that is mostly such cells is an error."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    if raw.dtype == object or str(raw.dtype).startswith("str"):
        text = raw.astype(str).str.strip().str.lower()
        junk = np.flatnonzero((raw.notna() & values.isna() & ~text.isin(_NA_WORDS)).to_numpy())
        filled = int((raw.notna() & ~text.isin(_NA_WORDS)).sum())
        if len(junk):
            lines = frame.attrs.get("lines") or [i + 2 for i in range(len(frame))]
            where = ", ".join(f"line {lines[i]} ({raw.iloc[i]!r})" for i in junk[:3]) + (
                f" and {len(junk) - 3} more" if len(junk) > 3 else "")
            if 2 * len(junk) > filled:
                raise GoodfitError(f"{source}: column {column!r} is mostly not numbers ({len(junk)} of {filled} cells, "
                                   f"e.g. {where}); name the right column with --train-loss, --val-loss, --train-acc "
                                   "or --val-acc")
            if warnings is not None:
                warnings.append(f"column {column!r}: {where} {'is' if len(junk) == 1 else 'are'} not a number; "
                                "read as not logged")
    if values.notna().sum() == 0:
        raise GoodfitError(f"{source}: column {column!r} holds no numbers (first value {raw.iloc[0]!r})")
    return values


def _as_fraction(values: pd.Series, column: str, source: str) -> pd.Series:
    top = values[np.isfinite(values)].max() if np.isfinite(values).any() else values.max()
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
        writes), `fastai` (epoch, train_loss, valid_loss and time), `wandb` (W&B's `_step` column, or
        `Step` beside `<run> - <key>` columns) or `csv` for anything else.

    Example:
        >>> detect_format(pd.DataFrame(columns=["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]))
        'keras'
    """
    columns = [str(c) for c in frame.columns]
    if {"member", "epoch"} <= set(columns) and set(columns) & set(METRICS):
        return "goodfit"
    if "_step" in columns or ("Step" in columns and any(" - " in c for c in columns)):
        return "wandb"
    if {"epoch", "step"} <= set(columns):
        return "lightning"
    if columns and columns[0] == "epoch" and "loss" in columns:
        return "keras"
    if {"epoch", "train_loss", "valid_loss", "time"} <= set(columns):
        return "fastai"
    return "csv"


def _check_overrides(columns: dict, names: list[str], source: str, what: str = "column") -> None:
    unknown = set(columns) - set(OVERRIDES)
    if unknown:
        raise GoodfitError(f"unknown column role(s) {', '.join(sorted(unknown))}; use {', '.join(OVERRIDES)}")
    for role, col in columns.items():
        if col is not None and col not in names:
            raise GoodfitError(f"{source}: {what} {col!r} (given for {OVERRIDES[role]}) not found; "
                               f"{what}{'' if what.endswith('s') else 's'}: {', '.join(names)}")


def _no_metrics(source: str, names: list[str], what: str = "columns") -> GoodfitError:
    return GoodfitError(f"{source}: found no loss, accuracy or error metric (mae, rmse, r2) {what} among "
                        f"{', '.join(names) or 'none'}; name them with --train-loss, --val-loss, --train-acc and --val-acc")


def history_from_frame(frame: pd.DataFrame, source: str = "csv", num_classes: int | None = None,
                       **columns: str | None) -> History:
    """Turn a table that some framework logged into a `History`, guessing which column is which.

    Column names are read the way a person would: `Train Loss`, `valid_acc`, `val/loss`,
    `train_loss_epoch`, Keras' bare `loss` and `accuracy` (training) beside `val_loss`, fastai's
    bare `accuracy` (validation) beside `train_loss` and `valid_loss`. Rows that
    share an epoch (Lightning writes training and validation rows apart) are merged, averaging
    what was logged more than once. Epochs starting at 0 are shifted to start at 1, accuracies in
    percent become fractions, and with no epoch column each row is one epoch. With a step column and
    an epoch column that is empty on some rows (or none), the rows are steps, grouped into epochs as
    `history_from_series` does. A cell
    that is not a number is read as not logged, with a warning naming its line.

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
    attrs = dict(frame.attrs)
    frame = frame.set_axis(names, axis=1)
    frame.attrs.update(attrs)
    _check_overrides(columns, names, source)
    warnings = list(attrs.get("warnings", []))
    epoch_col = columns.get("epoch") or _epoch_column(names)
    step_col = _named(names, _STEP_NAMES)
    if step_col is not None and (epoch_col is None or frame[epoch_col].isna().any()):  # rows are steps (W&B)
        steps = _numeric(frame, step_col, source, warnings)
        series = {}
        for c in names:
            if c == step_col:
                continue
            values = _numeric_or_none(frame, c, source, warnings)
            if values is not None:
                ok = values.notna().to_numpy() & steps.notna().to_numpy()
                series[c] = (steps.to_numpy(dtype=float)[ok], values.to_numpy(dtype=float)[ok], None)
        h = history_from_series(series, source, num_classes, fmt="csv", **{**columns, "epoch": epoch_col})
        return History(h.frame, num_classes, source, h.format, h.read, h.notes, tuple(warnings) + h.warnings)
    given = {role: col for role, col in columns.items() if col is not None and role != "epoch"}
    rest = [c for c in names if c not in given.values()]
    mapping = {**{s: c for s, c in _guess_columns(rest, source, every=names).items() if s not in given}, **given}
    if not set(JUDGED) & set(mapping):
        raise _no_metrics(source, names)
    out = pd.DataFrame({slot: _numeric(frame, col, source, warnings) for slot, col in mapping.items()})
    for slot in ("train_accuracy", "val_accuracy", "test_accuracy"):
        if slot in out:
            out[slot] = _as_fraction(out[slot], mapping[slot], source)
    notes: tuple[str, ...] = ()
    if epoch_col is None:
        out["epoch"] = np.arange(1, len(out) + 1)
    else:
        epoch = _numeric(frame, epoch_col, source, warnings)
        out["epoch"] = epoch
        out = out[epoch.notna()]
        zero_based = out["epoch"].min() == 0
        out["epoch"] = (out["epoch"] - out["epoch"].min() + 1 if zero_based else out["epoch"]).round()
        notes = (ZERO_BASED.format(name=epoch_col),) if zero_based else ()
        out = out.groupby("epoch", as_index=False).mean()
    metrics = [c for c in METRICS if c in out]
    out = out.dropna(how="all", subset=metrics)
    if out.empty:
        raise GoodfitError(f"{source}: no row holds a number in {', '.join(mapping.values())}")
    out.insert(0, "member", 0)
    return History(out[["member", "epoch"] + metrics].astype({"epoch": int}).reset_index(drop=True),
                   num_classes, source, "csv", {s: c for s, c in mapping.items() if s in SLOT_NAMES},
                   notes, tuple(warnings))


def _numeric_or_none(frame: pd.DataFrame, column: str, source: str, warnings: list[str]) -> pd.Series | None:
    """A column as numbers when it holds any (with `_numeric`'s warnings), else None: a column of text."""
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.notna().sum() == 0:
        return None
    return _numeric(frame, column, source, warnings)


# ---- series: logs of (step, value) pairs per name, as TensorBoard, MLflow and the HF Trainer keep ----
def _epoch_numbers(values: np.ndarray) -> np.ndarray:
    """Logged epoch values as 1-based epochs: a fraction (0.25: a quarter into epoch 1) rounds up, 0-based shifts."""
    values = np.asarray(values, dtype=float)
    if np.any(np.abs(values - np.round(values)) > 1e-6):
        return np.maximum(1, np.ceil(values - 1e-6)).astype(int)
    values = np.round(values).astype(int)
    return values + 1 if values.min() == 0 else np.maximum(1, values)


def _group(steps: np.ndarray, times: np.ndarray | None, val_steps: np.ndarray, val_times: np.ndarray | None,
           train_max: float) -> tuple[np.ndarray, str]:
    """The epoch of each training point, grouped by the validation points, and how it was done."""
    if val_steps.max() >= 0.5 * train_max:  # the same step counter: an epoch ends at each validation
        return np.searchsorted(val_steps, steps, side="left") + 1, "each ending at a validation step"
    if times is not None and val_times is not None and np.ptp(times) > 0:  # validation logged at the epoch index
        return np.searchsorted(val_times, times, side="left") + 1, "each ending when a validation was logged"
    span = max(1.0, float(np.ptp(steps)) + 1)
    return np.floor((steps - steps.min()) / span * len(val_steps)).astype(int) + 1, "of equal step counts"


def history_from_series(series: dict, source: str, num_classes: int | None = None, fmt: str = "tensorboard",
                        **columns: str | None) -> History:
    """Turn metrics logged as (step, value) pairs into a per-epoch `History`.

    Names are guessed as `history_from_frame` guesses columns (`Loss/train`, `train/loss`,
    `eval/accuracy`, `val_loss`, ...); a series with a single point (a run's final summary) is not a
    curve and is left out of the guess. Epochs come from a logged `epoch` series when there is one
    (0-based counts shift to 1, fractions round up: 0.25 is in epoch 1; a point takes the epoch logged
    last before it, or next after it when the epoch is logged only with validation, at each epoch's
    end). Otherwise, when a training
    series has many more points than validation (the loss logged every step, validation once an
    epoch), its steps are grouped into epochs that end at each validation point, averaging the
    points of each; a validation series logged at the epoch index rather than the global step is
    matched by wall time. Series logged as often as validation take one epoch per point. The
    history's `notes` say which grouping was used.

    Args:
        series: name to `(steps, values, wall_times)`, arrays of one length; wall times may be None.
        source: where it came from, for messages.
        num_classes: number of classes, for chance level. Default None (unknown).
        fmt: the format to record, one of `FORMATS`. Default `tensorboard`.
        **columns: series names for `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`
            or `epoch` where the guess is wrong; None keeps the guess.

    Returns:
        A one-member `History`.

    Raises:
        GoodfitError: no loss or accuracy series, a named series that is not there, or two
            series that could both be one metric.

    Example:
        >>> steps = np.arange(1, 41)
        >>> h = history_from_series({"train/loss": (steps, 2.0 / steps, None),
        ...                          "val/loss": (np.array([10, 20, 30, 40]), np.array([0.9, 0.5, 0.4, 0.45]), None)},
        ...                         "run")
        >>> h.curve("val_loss").tolist(), h.frame["epoch"].tolist()
        ([0.9, 0.5, 0.4, 0.45], [1, 2, 3, 4])
    """
    names = sorted(series)
    _check_overrides(columns, names, source, "series")
    clean = {}
    for name in names:
        steps, values, times = series[name]
        steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
        times = None if times is None else np.asarray(times, dtype=float)
        order = np.argsort(steps, kind="stable")
        clean[name] = (steps[order], values[order], None if times is None else times[order])
    epoch_name = columns.get("epoch") or next(
        (n for n in names if [t for t in _tokens(n) if t not in _SPLIT_WORDS] in (["epoch"], ["epochs"])), None)
    given = {role: name for role, name in columns.items() if name is not None and role != "epoch"}
    candidates = [n for n in names if n != epoch_name and n not in given.values() and len(clean[n][0]) >= 2]
    mapping = {**{s: n for s, n in _guess_columns(candidates, source, "series",
                                                              every=[n for n in names if n != epoch_name]).items() if s not in given}, **given}
    if not set(JUDGED) & set(mapping):
        raise _no_metrics(source, names, "series")
    notes = []
    epochs_of: dict[str, np.ndarray] = {}
    if epoch_name is not None:
        e_steps, e_values, _ = clean[epoch_name]
        ok = np.isfinite(e_values)
        e_steps, e_numbers = e_steps[ok], _epoch_numbers(e_values[ok])
        if len(e_numbers) and float(np.min(e_values[ok])) == 0 and np.all(np.mod(e_values[ok], 1) == 0):
            notes.append(ZERO_BASED.format(name=epoch_name))
        val = {float(x) for slot in VALIDATION if slot in mapping for x in clean[mapping[slot]][0]}
        at_end = bool(val) and set(e_steps) == val  # logged once an epoch, with validation: at the epoch's end
        for slot, name in mapping.items():
            steps = clean[name][0]
            at = (np.searchsorted(e_steps, steps, side="left") if at_end
                  else np.searchsorted(e_steps, steps, side="right") - 1)  # the epoch logged next, or last
            epochs_of[slot] = e_numbers[np.clip(at, 0, len(e_steps) - 1)]
        if any(len(clean[n][0]) > 1.5 * len(np.unique(epochs_of[s])) for s, n in mapping.items()):
            notes.append(f"steps were grouped into epochs by the logged {epoch_name!r} series, averaging each epoch's points.")
    else:
        val = [mapping[s] for s in VALIDATION if s in mapping]
        val_steps = np.unique(np.concatenate([clean[n][0] for n in val])) if val else np.array([])
        all_steps = np.unique(np.concatenate([clean[n][0] for n in mapping.values()]))
        train_max = max(float(clean[n][0].max()) for n in mapping.values())
        val_times = None
        if val and all(clean[n][2] is not None for n in val):
            first = clean[val[0]]
            val_times = np.array([first[2][np.searchsorted(first[0], s)] if s in first[0] else np.nan for s in val_steps])
            val_times = None if np.isnan(val_times).any() else np.maximum.accumulate(val_times)
        for slot, name in mapping.items():
            steps, _, times = clean[name]
            if len(val_steps) >= 2 and len(steps) > 1.5 * len(val_steps):
                epochs_of[slot], how = _group(steps, times, val_steps, val_times, train_max)
                notes.append(f"{SLOT_NAMES.get(slot, slot)} was logged at {len(steps)} steps and validation at "
                             f"{len(val_steps)}: the steps were grouped into {len(val_steps)} epochs {how}, "
                             "averaging each epoch's points.")
            elif len(val_steps) >= 2 and slot not in VALIDATION and set(steps) - set(val_steps):
                epochs_of[slot] = np.searchsorted(np.unique(steps), steps) + 1  # logged once an epoch, at its own steps
            else:
                epochs_of[slot] = np.searchsorted(all_steps if not len(val_steps) else val_steps
                                                  if set(steps) <= set(val_steps) else all_steps, steps) + 1
    parts = []
    for slot, name in mapping.items():
        part = pd.DataFrame({"epoch": epochs_of[slot], slot: clean[name][1]})
        parts.append(part.groupby("epoch", as_index=True)[slot].mean())
    out = pd.concat(parts, axis=1).sort_index().reset_index()
    for slot in ("train_accuracy", "val_accuracy", "test_accuracy"):
        if slot in out:
            out[slot] = _as_fraction(out[slot], mapping[slot], source)
    metrics = [c for c in METRICS if c in out]
    out = out.dropna(how="all", subset=metrics)
    out.insert(0, "member", 0)
    return History(out[["member", "epoch"] + metrics].astype({"epoch": int}).reset_index(drop=True), num_classes,
                   source, fmt, {s: n for s, n in mapping.items() if s in SLOT_NAMES}, tuple(dict.fromkeys(notes)))


def _split_dir(name: str) -> bool:
    return any(t in _SPLIT_WORDS for t in _tokens(name))


def read_tensorboard(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read the scalars of TensorBoard event files: one events file, or a run folder and its subfolders.

    Reads what `torch.utils.tensorboard.SummaryWriter`, Lightning's `TensorBoardLogger`, the
    Hugging Face Trainer and Keras' `TensorBoard` callback write. A scalar in a subfolder is named
    `subfolder/tag` (Keras writes `train/epoch_loss` and `validation/epoch_loss`; `add_scalars`
    writes `Loss_train/Loss`). Several runs side by side (the same tags under folders that name no
    split, such as `version_0` and `version_1`) are an error that lists them. Needs the
    `tensorboard` package (`pip install "goodfit[tensorboard]"`); steps become epochs as
    `history_from_series` says.

    Args:
        path: an `events.out.tfevents.*` file or a folder holding some.
        num_classes: number of classes, for chance level. Default None (unknown).
        **columns: series names for `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`, `epoch`.

    Returns:
        The `History`.

    Example:
        >>> import tempfile
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> folder = tempfile.mkdtemp()
        >>> with SummaryWriter(folder) as w:
        ...     for epoch, (t, v) in enumerate([(0.9, 1.0), (0.6, 0.8), (0.4, 0.7)]):
        ...         w.add_scalar("Loss/train", t, epoch)
        ...         w.add_scalar("Loss/val", v, epoch)
        >>> read_tensorboard(folder).curve("val_loss").tolist()
        [1.0, 0.8, 0.7]
    """
    p = Path(path)
    root = p if p.is_dir() else p.parent
    files = sorted(p.rglob("events.out.tfevents*")) if p.is_dir() else [p]
    if not files:
        raise GoodfitError(f"{str(p)!r} holds no TensorBoard event files (events.out.tfevents.*)")
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
        from tensorboard.util import tensor_util
    except ImportError:
        raise GoodfitError("reading TensorBoard event files needs the tensorboard package: "
                           'pip install "goodfit[tensorboard]"') from None
    points: dict[str, dict[float, tuple[float, float]]] = {}
    tags_by_dir: dict[str, set[str]] = {}
    for f in files:
        prefix = f.parent.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix
        try:
            for event in EventFileLoader(str(f)).Load():
                if not event.HasField("summary"):
                    continue
                for v in event.summary.value:
                    if v.HasField("simple_value"):  # a float32: 7 digits are all it holds
                        value = float(f"{v.simple_value:.7g}")
                    elif v.HasField("tensor") and v.metadata.plugin_data.plugin_name in ("scalars", ""):
                        array = tensor_util.make_ndarray(v.tensor)
                        if array.size != 1 or array.dtype.kind not in "fiu":
                            continue
                        value = float(array.reshape(-1)[0])
                        value = float(f"{value:.7g}") if array.dtype.itemsize <= 4 else value
                    else:
                        continue
                    name = f"{prefix}/{v.tag}" if prefix else v.tag
                    tags_by_dir.setdefault(prefix, set()).add(v.tag)
                    points.setdefault(name, {})[float(event.step)] = (value, float(event.wall_time))
        except Exception as err:  # noqa: BLE001 - a damaged event file is the user's file, not a bug
            first = (str(err).strip().splitlines() or [""])[0][:120]
            raise GoodfitError(f"cannot read {str(f)!r} as a TensorBoard event file ({type(err).__name__}"
                               f"{': ' + first if first else ''})") from None
    runs = [d for d in tags_by_dir if d and not _split_dir(d.split("/")[-1])]
    shared = [d for d in runs if any(tags_by_dir[d] & tags_by_dir[o] for o in runs if o != d)]
    if len(shared) > 1:
        raise GoodfitError(f"{str(p)!r} holds {len(shared)} runs ({', '.join(sorted(shared))}); pass the folder of one")
    if not points:
        raise GoodfitError(f"{str(p)!r}: its event files hold no scalars (nothing logged with add_scalar, or the "
                           "files are damaged)")
    series = {}
    for name, at in points.items():
        steps = np.array(sorted(at))
        series[name] = (steps, np.array([at[s][0] for s in steps]), np.array([at[s][1] for s in steps]))
    return history_from_series(series, str(p), num_classes, "tensorboard", **columns)


def read_trainer_state(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read the Hugging Face Trainer's `trainer_state.json`: its `log_history` of training and evaluation rows.

    Training rows hold `loss` (logged every `logging_steps`), evaluation rows `eval_loss` and any
    metric `compute_metrics` returned (`eval_accuracy`); every row has `step` and a fractional
    `epoch`, by which the steps are grouped (see `history_from_series`).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "trainer_state.json")
        >>> rows = [{"loss": 2.0, "epoch": 0.5, "step": 5}, {"loss": 1.0, "epoch": 1.0, "step": 10},
        ...         {"eval_loss": 1.2, "eval_accuracy": 0.6, "epoch": 1.0, "step": 10},
        ...         {"loss": 0.8, "epoch": 1.5, "step": 15}, {"loss": 0.6, "epoch": 2.0, "step": 20},
        ...         {"eval_loss": 1.0, "eval_accuracy": 0.7, "epoch": 2.0, "step": 20}]
        >>> _ = open(p, "w").write(json.dumps({"log_history": rows}))
        >>> read_trainer_state(p).frame[["epoch", "train_loss", "val_loss"]].values.tolist()
        [[1.0, 1.5, 1.2], [2.0, 0.7, 1.0]]
    """
    state = _read_json(path)
    rows = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(rows, list) or not rows:
        raise GoodfitError(f"{str(path)!r} has no log_history rows; is it a trainer_state.json the Trainer wrote?")
    series: dict[str, list] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        step = row.get("step", i)
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                series.setdefault(key, []).append((step, value))
    as_arrays = {k: (np.array([s for s, _ in v], dtype=float), np.array([x for _, x in v], dtype=float), None)
                 for k, v in series.items()}
    return history_from_series(as_arrays, str(path), num_classes, "hf-trainer", **columns)


def read_mlflow(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read an MLflow run folder (`mlruns/<experiment>/<run>`): one file per metric under `metrics/`.

    Each line of a metric file is `timestamp value step`; a name with slashes is a path under
    `metrics/`. Steps become epochs as `history_from_series` says.

    Example:
        >>> import tempfile, os
        >>> run = tempfile.mkdtemp()
        >>> os.makedirs(os.path.join(run, "metrics"))
        >>> for name, values in (("train_loss", [0.9, 0.6, 0.4]), ("val_loss", [1.0, 0.8, 0.7])):
        ...     _ = open(os.path.join(run, "metrics", name), "w").write(
        ...         "".join(f"{1700000000000 + e} {v} {e}\\n" for e, v in enumerate(values)))
        >>> read_mlflow(run).curve("val_loss").tolist()
        [1.0, 0.8, 0.7]
    """
    p = Path(path)
    metrics = p / "metrics" if (p / "metrics").is_dir() else p if p.name == "metrics" else None
    if metrics is None:
        runs = sorted(d.name for d in p.iterdir() if (d / "metrics").is_dir()) if p.is_dir() else []
        if runs:
            raise GoodfitError(f"{str(p)!r} is an MLflow experiment with {len(runs)} run(s) "
                               f"({', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}); pass the folder of one")
        raise GoodfitError(f"{str(p)!r} has no metrics folder; pass an MLflow run folder (mlruns/<experiment>/<run>)")
    series = {}
    for f in sorted(q for q in metrics.rglob("*") if q.is_file()):
        rows = []
        for line_no, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                stamp, value = float(parts[0]), float(parts[1])
                step = float(parts[2]) if len(parts) > 2 else float(line_no - 1)
            except (ValueError, IndexError):
                raise GoodfitError(f"{str(f)!r} line {line_no}: expected 'timestamp value step', got {line[:60]!r}") from None
            rows.append((step, value, stamp / 1000))
        if rows:
            arr = np.array(rows)
            series[f.relative_to(metrics).as_posix()] = (arr[:, 0], arr[:, 1], arr[:, 2])
    if not series:
        raise GoodfitError(f"{str(metrics)!r} holds no metric files")
    return history_from_series(series, str(p), num_classes, "mlflow", **columns)


def _read_json(path: str | Path):
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GoodfitError(f"cannot read {str(p)!r} as JSON ({str(err).splitlines()[0][:100]})") from None


def read_json_history(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read a history saved as JSON: Keras' `history.history` (metric name to per-epoch list), a list of
    per-epoch records (skorch), or a Hugging Face `trainer_state.json` (by its `log_history`).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "history.json")
        >>> _ = open(p, "w").write(json.dumps({"loss": [0.9, 0.6], "val_loss": [1.0, 0.8], "accuracy": [0.5, 0.7]}))
        >>> h = read_json_history(p)
        >>> h.format, h.curve("train_accuracy").tolist()
        ('keras-json', [0.5, 0.7])
    """
    data = _read_json(path)
    if isinstance(data, dict) and "log_history" in data:
        return read_trainer_state(path, num_classes, **columns)
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        lists = {k: v for k, v in data.items() if v and all(isinstance(x, (int, float, type(None))) for x in v)}
        lengths = {len(v) for v in lists.values()}
        if len(lengths) != 1:
            raise GoodfitError(f"{str(path)!r}: its lists have different lengths ({', '.join(map(str, sorted(lengths)))}); "
                               "expected one value per epoch for each metric, as Keras' history.history holds")
        frame, fmt = pd.DataFrame({k: pd.array(v, dtype="Float64").astype(float) for k, v in lists.items()}), "keras-json"
    elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        frame, fmt = pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, (list, dict))} for r in data]), "json"
    else:
        raise GoodfitError(f"{str(path)!r} is JSON but not a history: expected metric names to lists (Keras' "
                           "history.history), a list of per-epoch records, or a trainer_state.json")
    h = history_from_frame(frame, str(path), num_classes, **columns)
    return History(h.frame, num_classes, str(path), fmt, h.read, h.notes, h.warnings)


def _wandb_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A W&B chart-panel export (`Step`, `<run> - <key>`, `<key>__MIN`/`__MAX`) as one run's columns."""
    if "_step" in frame.columns:
        return frame.drop(columns=[c for c in ("_runtime", "_timestamp") if c in frame.columns])
    keep = {c: c.split(" - ", 1) for c in frame.columns if " - " in c and not c.endswith(("__MIN", "__MAX"))}
    runs = sorted({run for run, _ in keep.values()})
    if len(runs) > 1:
        raise GoodfitError(f"{source} holds {len(runs)} runs ({', '.join(runs)}); export the chart of one run")
    out = frame[["Step"] + list(keep)].rename(columns={c: key for c, (_, key) in keep.items()})
    out.attrs.update(frame.attrs)
    return out


def read_run_config(path: str | Path) -> dict:
    """The `config.json` that goodfit writes beside a run's `history.csv`, or {} when there is none.

    Args:
        path: the history file, any file of the run folder, or the folder itself.

    Returns:
        The parsed JSON object, or an empty dict.

    Example:
        >>> read_run_config("/nonexistent/history.csv")
        {}
    """
    config = Path(path) / "config.json" if Path(path).is_dir() else Path(path).with_name("config.json")
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
    return _with_format(history_from_frame(frame, str(path), num_classes), "keras")


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
    return _with_format(history_from_frame(frame, str(path), num_classes), "lightning")


def _with_format(h: History, fmt: str) -> History:
    return History(h.frame, h.num_classes, h.source, fmt, h.read, h.notes, h.warnings)


def _read_folder(p: Path, num_classes: int | None, columns: dict) -> History:
    """A run folder: the HF Trainer's, an MLflow run, TensorBoard events, or one holding a known CSV."""
    states = sorted(p.glob("trainer_state.json")) or sorted(
        p.glob("checkpoint-*/trainer_state.json"), key=lambda q: int(re.sub(r"\D", "", q.parent.name) or 0))
    if states:
        return read_trainer_state(states[-1], num_classes, **columns)
    if (p / "metrics").is_dir() or p.name == "metrics" or any((d / "metrics").is_dir() for d in p.iterdir() if d.is_dir()):
        return read_mlflow(p, num_classes, **columns)
    if next(p.rglob("events.out.tfevents*"), None) is not None:
        return read_tensorboard(p, num_classes, **columns)
    for name in ("history.csv", "metrics.csv", "history.json"):
        if (p / name).is_file():
            return read_history(p / name, num_classes, **columns)
    found = sorted(q.name for q in p.iterdir())[:8]
    raise GoodfitError(f"{str(p)!r} is a folder without a training log (no trainer_state.json, MLflow metrics/, "
                       f"TensorBoard events.out.tfevents.* or history.csv/metrics.csv; it holds "
                       f"{', '.join(found) or 'nothing'}); pass the log itself")


def read_history(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read a training log, whoever wrote it, detecting the format by its content.

    - a CSV: goodfit's `history.csv`, Keras' or Lightning's or fastai's `CSVLogger` file, a
      Weights & Biases export (run history or chart panel) or a plain table (see `detect_format`);
      naming any column switches to the plain-CSV reader, which takes the names given and guesses the rest;
    - a JSON file: Keras' `history.history`, a Hugging Face `trainer_state.json`, per-epoch records;
    - TensorBoard: an `events.out.tfevents.*` file or a folder holding some (see `read_tensorboard`);
    - a folder: the Hugging Face Trainer's output (its `trainer_state.json`), an MLflow run
      (`metrics/`), TensorBoard events, or one holding `history.csv` or `metrics.csv`.

    For a goodfit run, `num_classes` comes from the `config.json` beside the file. The history's
    `read` says which name each metric was read from, `notes` how steps became epochs.

    Args:
        path: the file or folder.
        num_classes: number of classes, for chance level. Default None (from `config.json`, else unknown).
        **columns: `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy` or `epoch` set to
            a column (or series) name, where guessing by name is not safe. Default: guess all.

    Returns:
        The `History`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "any.csv")
        >>> _ = open(p, "w").write("ep,Train Loss,Valid Loss\\n1,0.9,1.0\\n2,0.6,0.8\\n")
        >>> read_history(p, epoch="ep").curve("val_loss").tolist()
        [1.0, 0.8]
    """
    p = Path(path)
    if p.is_dir():
        return _read_folder(p, num_classes, columns)
    if p.name.startswith("events.out.tfevents"):
        return read_tensorboard(p, num_classes, **columns)
    if p.suffix.lower() == ".json" and p.is_file():
        return read_json_history(p, num_classes, **columns)
    frame = _read_table(path)
    fmt = detect_format(frame)
    if num_classes is None:
        num_classes = read_run_config(path).get("num_classes")
    if fmt == "goodfit" and not any(columns.values()):
        return History(frame, num_classes, str(path), "goodfit",
                       {s: s for s in SLOT_NAMES if s in frame.columns}, (), tuple(frame.attrs.get("warnings", [])))
    if fmt == "wandb":
        frame = _wandb_frame(frame, str(path))
    return _with_format(history_from_frame(frame, str(path), num_classes, **columns), fmt)


def read_line(history: History) -> str:
    """One line naming the format and, after the flag that changes each, the name each metric was read from.

    Example:
        >>> h = History(pd.DataFrame({"member": 0, "epoch": [1, 2], "train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}),
        ...             format="keras", read={"train_loss": "loss", "val_loss": "val_loss"})
        >>> read_line(h)
        "Keras CSVLogger log, 2 epochs; read --train-loss 'loss', --val-loss 'val_loss', --train-acc (none), --val-acc (none)"

    A regression log names its error metric where accuracy would be: `..., training MAE 'mae', validation MAE 'val_mae'`.
    """
    read = history.read or {s: s for s in SLOT_NAMES if history.has(s)}
    parts = [f"{OVERRIDES[slot]} {read[slot]!r}" if slot in read else f"{OVERRIDES[slot]} (none)"
             for slot in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")]
    score = history.score
    if score not in (None, "accuracy"):  # a regression log: its error metric where accuracy would be
        parts[2:] = [f"{SLOT_NAMES[slot]} {read[slot]!r}" if slot in read else f"{SLOT_NAMES[slot]} (none)"
                     for slot in (f"train_{score}", f"val_{score}")]
    return f"{FORMAT_NAMES.get(history.format, history.format)}, {history.epochs} epochs; read {', '.join(parts)}"
