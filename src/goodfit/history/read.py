"""Reading a training log whoever wrote it: a file or a run folder, its format told by its content, and
the one line that says what was read from where.
"""
from __future__ import annotations

import re
from pathlib import Path

from goodfit.errors import GoodfitError
from goodfit.history.clean import _read_table
from goodfit.history.columns import OVERRIDES, SLOT_NAMES
from goodfit.history.detect import FORMAT_NAMES, detect_format
from goodfit.history.frame import _with_format, history_from_frame
from goodfit.history.goodfit_csv import read_run_config
from goodfit.history.json_history import read_json_history
from goodfit.history.mlflow_run import read_mlflow
from goodfit.history.table import RATE, History
from goodfit.history.tensorboard_events import read_tensorboard
from goodfit.history.trainer_state import read_trainer_state
from goodfit.history.wandb_export import _wandb_frame


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
    """One line naming the format and, after the flag that changes each, the name each metric was read from,
    then the learning rate's when the log has one.

    Example:
        >>> import pandas as pd
        >>> h = History(pd.DataFrame({"member": 0, "epoch": [1, 2], "train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}),
        ...             format="keras", read={"train_loss": "loss", "val_loss": "val_loss"})
        >>> read_line(h)
        "Keras CSVLogger log, 2 epochs; read --train-loss 'loss', --val-loss 'val_loss', --train-acc (none), --val-acc (none)"

    A regression log names its error metric where accuracy would be: `..., training MAE 'mae', validation MAE 'val_mae'`;
    a log with a learning rate ends `..., learning rate 'lr-AdamW'`.
    """
    read = history.read or {s: s for s in SLOT_NAMES if history.has(s)}
    parts = [f"{OVERRIDES[slot]} {read[slot]!r}" if slot in read else f"{OVERRIDES[slot]} (none)"
             for slot in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")]
    score = history.score
    if score not in (None, "accuracy"):  # a regression log: its error metric where accuracy would be
        parts[2:] = [f"{SLOT_NAMES[slot]} {read[slot]!r}" if slot in read else f"{SLOT_NAMES[slot]} (none)"
                     for slot in (f"train_{score}", f"val_{score}")]
    if history.has(RATE):
        parts.append(f"learning rate {history.read.get(RATE, RATE)!r}")
    return f"{FORMAT_NAMES.get(history.format, history.format)}, {history.epochs} epochs; read {', '.join(parts)}"
