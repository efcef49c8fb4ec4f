"""Metrics logged as (step, value) pairs per name, as TensorBoard, MLflow and the HF Trainer keep them,
turned into a per-epoch `History`: steps grouped into epochs by a logged epoch, or by the validation points.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from goodfit.history.clean import _as_fraction
from goodfit.history.columns import (JUDGED, SLOT_NAMES, VALIDATION, ZERO_BASED, _SPLIT_WORDS, _check_overrides,
                                     _guess_columns, _no_metrics, _tokens)
from goodfit.history.rate import rate_epochs, rate_name
from goodfit.history.table import METRICS, RATE, History


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
    rate, said = rate_name(candidates)
    notes = list(said)
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
        if rate is not None:
            known = [e_steps, *(clean[n][0] for n in mapping.values())], [e_numbers, *(epochs_of[s] for s in mapping)]
            epochs_of[RATE] = rate_epochs(clean[rate][0], *map(np.concatenate, known))
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
        for slot, name in {**mapping, **({RATE: rate} if rate else {})}.items():  # the rate as a training series
            steps, _, times = clean[name]
            if len(val_steps) >= 2 and len(steps) > 1.5 * len(val_steps):
                epochs_of[slot], how = _group(steps, times, val_steps, val_times, train_max)
                if slot != RATE:
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
    if rate is not None:  # the rate each epoch began with: its first point
        parts.append(pd.DataFrame({"epoch": epochs_of[RATE], RATE: clean[rate][1]}).groupby("epoch")[RATE].first())
    out = pd.concat(parts, axis=1).sort_index().reset_index()
    for slot in ("train_accuracy", "val_accuracy", "test_accuracy"):
        if slot in out:
            out[slot] = _as_fraction(out[slot], mapping[slot], source)
    metrics = [c for c in METRICS if c in out]
    out = out.dropna(how="all", subset=metrics)
    out.insert(0, "member", 0)
    read = {**{s: n for s, n in mapping.items() if s in SLOT_NAMES}, **({RATE: rate} if rate else {})}
    return History(out.astype({"epoch": int}).reset_index(drop=True), num_classes, source, fmt, read,
                   tuple(dict.fromkeys(notes)))
