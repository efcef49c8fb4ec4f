"""The Hugging Face Trainer's `trainer_state.json`: its `log_history` of training and evaluation rows,
grouped into epochs by their fractional `epoch`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.history.clean import _read_json
from goodfit.history.series import history_from_series
from goodfit.history.table import History


def read_trainer_state(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read the Hugging Face Trainer's `trainer_state.json`: its `log_history` of training and evaluation rows.

    Training rows hold `loss` (logged every `logging_steps`), evaluation rows `eval_loss` and any
    metric `compute_metrics` returned (`eval_accuracy`); every row has `step` and a fractional
    `epoch`, by which the steps are grouped (see `history_from_series`).

    Example:
        >>> import json, os, tempfile
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
