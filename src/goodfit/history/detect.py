"""Which program wrote a log: the formats goodfit reads, their names in words, and the writer of a CSV
told by its columns.
"""
from __future__ import annotations

import pandas as pd

from goodfit.history.table import METRICS

FORMATS = ("goodfit", "keras", "lightning", "fastai", "wandb", "csv", "tensorboard", "hf-trainer", "keras-json",
           "mlflow", "json")
FORMAT_NAMES = {"goodfit": "goodfit history", "keras": "Keras CSVLogger log", "lightning": "Lightning CSVLogger log",
                "fastai": "fastai CSVLogger log", "wandb": "Weights & Biases CSV export", "csv": "CSV",
                "tensorboard": "TensorBoard event files", "hf-trainer": "Hugging Face trainer_state.json",
                "keras-json": "Keras history JSON", "mlflow": "MLflow run", "json": "JSON history"}


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
