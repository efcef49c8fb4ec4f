"""Which column or series holds which metric: names read as a person reads them, and the user's overrides.

Tokens of a name (`valLoss`, `val/mean_absolute_error`), its split and kind, the guess and its ambiguity errors.
"""
from __future__ import annotations

import re

from goodfit.errors import GoodfitError
from goodfit.history.table import SCORE_WORDS

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
