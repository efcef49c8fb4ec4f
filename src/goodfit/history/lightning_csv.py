"""The `metrics.csv` that Lightning's `CSVLogger` writes: training and validation rows interleaved,
blank where a row did not log a key, with `epoch` and `step` on every row.
"""
from __future__ import annotations

from pathlib import Path

from goodfit.errors import GoodfitError
from goodfit.history.clean import _read_table
from goodfit.history.frame import _with_format, history_from_frame
from goodfit.history.table import History


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
