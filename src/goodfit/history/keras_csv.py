"""The file Keras' `CSVLogger` writes: a 0-based `epoch` column first, then the logs' keys sorted,
bare names (`loss`, `accuracy`) for training and `val_*` for validation.
"""
from __future__ import annotations

from pathlib import Path

from goodfit.errors import GoodfitError
from goodfit.history.clean import _read_table
from goodfit.history.frame import _with_format, history_from_frame
from goodfit.history.table import History


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
