"""The learning rate a log carries beside its metrics: which name holds it (the first parameter group's, as
Keras, Lightning's LearningRateMonitor and the Hugging Face Trainer name it), which epoch a logged point opens,
and whether a history's rate changes and spans enough to be drawn on a log scale.

What ran, never judged: no name read here fills a metric slot, and the diagnosis never reads the rate.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from goodfit.history.columns import _KIND_WORDS, _tokens
from goodfit.history.table import RATE

_BESIDE = {"momentum", "weight", "decay"}  # LearningRateMonitor's `lr-Adam-momentum`, `lr-Adam-weight_decay`
WIDE = 10.0  # a rate whose largest value is more than this many times its smallest is drawn on a log scale


def _is_rate(name: str) -> bool:
    """Whether a name is a learning rate: `lr`, `learning_rate`, `lr-AdamW/pg1`, `train/learning_rate`, `event_lr`."""
    tokens = _tokens(name)
    said = "lr" in tokens or "learningrate" in tokens or any(
        pair == ("learning", "rate") for pair in zip(tokens, tokens[1:]))
    return said and not any(t in _KIND_WORDS or t in _BESIDE for t in tokens)


def _order(name: str) -> tuple[int, int]:
    """Where a rate stands among several, lowest first: Lightning names the k-th optimizer of a class after
    the first `lr-Adam-k` (the first plain `lr-Adam`) and the n-th of several parameter groups `lr-Adam/pgn`."""
    copy, group = re.search(r"-(\d+)(?:/|$)", name), re.search(r"/pg(\d+)$", name)
    return int(copy.group(1)) if copy else 0, int(group.group(1)) if group else 0


def rate_name(names: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """The name that holds the learning rate, the first parameter group's where a log has several, and a
    note when several are logged and none of them is first by its name.

    Args:
        names: the log's column or series names.

    Returns:
        (the name or None, notes): None with no rate, or with several that cannot be ordered (`lr-Adam`
        beside `lr-SGD`, named parameter groups), which the note says.

    Example:
        >>> rate_name(["epoch", "lr-AdamW/pg2", "lr-AdamW/pg1", "lr-AdamW/pg1-momentum", "val_loss"])
        ('lr-AdamW/pg1', ())
    """
    found = sorted((_order(n), n) for n in names if _is_rate(n))
    if len(found) > 1 and found[0][0] == found[1][0]:
        tied = [n for order, n in found if order == found[0][0]]
        return None, (f"the log has {len(tied)} learning rates ({', '.join(repr(n) for n in tied)}) and none is "
                      "the first parameter group's by its name; the rate was left out.",)
    return (found[0][1] if found else None), ()


def rate_epochs(steps: np.ndarray, known_steps: np.ndarray, known_epochs: np.ndarray) -> np.ndarray:
    """The epoch of each point of a rate logged at `steps`, from points whose epoch is known: the epoch of the
    first known point at or after it (the last one's past the end). A rate logged between two epochs' points
    opens the later epoch, as Lightning's LearningRateMonitor logs it before an epoch's first step.

    Example:
        >>> rate_epochs(np.array([0, 8]), np.array([1, 7, 9, 15]), np.array([1, 1, 2, 2])).tolist()
        [1, 2]
    """
    order = np.lexsort((known_epochs, known_steps))
    at = np.searchsorted(known_steps[order], steps, side="left")
    return known_epochs[order][np.clip(at, 0, len(order) - 1)]


def rate_changes(frame: pd.DataFrame) -> bool:
    """Whether some member's learning rate changes over its epochs (a schedule, a cut on a plateau).

    Example:
        >>> rate_changes(pd.DataFrame({"member": [0, 0, 1, 1], "epoch": [1, 2, 1, 2], RATE: [1e-3, 1e-3, 0.1, 0.05]}))
        True
    """
    if RATE not in frame:
        return False
    spans = frame.groupby("member")[RATE].agg(["min", "max"])
    return bool((spans["max"] > spans["min"] * (1 + 1e-6)).any())


def log_scaled(rates: np.ndarray) -> bool:
    """Whether rates are drawn on a log scale: all positive, the largest more than `WIDE` times the smallest.

    Example:
        >>> log_scaled(np.array([1e-3, 5e-4, 1e-5])), log_scaled(np.array([0.0, 1e-3]))
        (True, False)
    """
    finite = rates[np.isfinite(rates)]
    return bool(len(finite) and finite.min() > 0 and finite.max() > WIDE * finite.min())
