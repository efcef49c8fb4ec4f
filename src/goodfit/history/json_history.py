"""Histories saved as JSON: Keras' `history.history` (a list per metric), per-epoch records (skorch),
or a Hugging Face `trainer_state.json`, handed to its own reader.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history.clean import _read_json
from goodfit.history.frame import history_from_frame
from goodfit.history.table import History
from goodfit.history.trainer_state import read_trainer_state


def read_json_history(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read a history saved as JSON: Keras' `history.history` (metric name to per-epoch list), a list of
    per-epoch records (skorch), or a Hugging Face `trainer_state.json` (by its `log_history`).

    Example:
        >>> import json, os, tempfile
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
