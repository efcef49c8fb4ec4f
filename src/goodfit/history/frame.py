"""A table some framework logged, one or more rows per epoch, turned into a `History` by guessing its columns.

Other frameworks log "the training loss" as the mean minibatch loss of the epoch; it goes to `train_loss`,
which for them is the running loss. Epoch columns that start at 0 are shifted to 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history.clean import _as_fraction, _numeric, _numeric_or_none
from goodfit.history.columns import (JUDGED, SLOT_NAMES, ZERO_BASED, _STEP_NAMES, _check_overrides, _epoch_column,
                                     _guess_columns, _named, _no_metrics)
from goodfit.history.rate import rate_name
from goodfit.history.series import history_from_series
from goodfit.history.table import METRICS, RATE, History


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
    rate, notes = rate_name([c for c in rest if c != epoch_col])
    rates = None if rate is None else _numeric_or_none(frame, rate, source, warnings)
    if rates is not None:
        out[RATE] = rates
    if epoch_col is None:
        out["epoch"] = np.arange(1, len(out) + 1)
    else:
        epoch = _numeric(frame, epoch_col, source, warnings)
        out["epoch"] = epoch
        out = out[epoch.notna()]
        zero_based = out["epoch"].min() == 0
        out["epoch"] = (out["epoch"] - out["epoch"].min() + 1 if zero_based else out["epoch"]).round()
        notes += (ZERO_BASED.format(name=epoch_col),) if zero_based else ()
        out = out.groupby("epoch", as_index=False).agg({c: "first" if c == RATE else "mean" for c in out if c != "epoch"})
    metrics = [c for c in METRICS if c in out]
    out = out.dropna(how="all", subset=metrics)
    if out.empty:
        raise GoodfitError(f"{source}: no row holds a number in {', '.join(mapping.values())}")
    out.insert(0, "member", 0)
    read = {**{s: c for s, c in mapping.items() if s in SLOT_NAMES}, **({RATE: rate} if RATE in out else {})}
    return History(out.astype({"epoch": int}).reset_index(drop=True), num_classes, source, "csv", read, notes,
                   tuple(warnings))


def _with_format(h: History, fmt: str) -> History:
    return History(h.frame, h.num_classes, h.source, fmt, h.read, h.notes, h.warnings)
