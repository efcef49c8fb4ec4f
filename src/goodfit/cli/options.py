"""The options several commands take alike, spelled once: the data's label column and task, and the training
settings of a `TrainConfig` with its defaults (written here, so that `goodfit --help` does not import the engine).
"""
from __future__ import annotations

import typer

TARGET = typer.Option(None, "--target", help="Label column of a CSV or Parquet file.")
TASK = typer.Option(None, "--task", help="classification or regression (default: decided from the target).")
LABEL_NOISE = typer.Option(0.0, "--label-noise", help="Fraction of training labels replaced by another class.")
IMBALANCE = typer.Option(1.0, "--imbalance", help="Size of the last class relative to the first (1 = balanced).")
BATCH_SIZE = typer.Option(32, "--batch-size", help="Samples per step.")
LR = typer.Option(1e-3, "--lr", help="Learning rate.")
OPTIMIZER = typer.Option("adam", "--optimizer", help="adam or sgd.")
DEVICE = typer.Option("cpu", "--device", help="cpu, cuda or auto.")
LOSS = typer.Option("auto", "--loss", help="cross_entropy for classes; mse, mae or huber for a number.")
