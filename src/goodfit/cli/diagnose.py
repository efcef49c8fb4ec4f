"""`goodfit diagnose FILE`: a training log read in any of the formats `goodfit.history` knows and judged from
its curves alone. Nothing on this path imports torch, scipy or the engine unless there are weights to read.
"""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from goodfit import cli
from goodfit.errors import GoodfitError


def diagnose(
    file: str = typer.Argument(..., help="A training log: goodfit history.csv; Keras, Lightning or fastai CSVLogger file; "
                                         "W&B CSV export; Keras history JSON; HF trainer_state.json or output folder; "
                                         "TensorBoard events file or run folder; MLflow run folder; any CSV."),
    train_loss: str = typer.Option(None, "--train-loss", help="Column or series holding the training loss, if the guess is wrong."),
    val_loss: str = typer.Option(None, "--val-loss", help="Column or series holding the validation loss."),
    train_acc: str = typer.Option(None, "--train-acc", help="Column or series holding the training accuracy (fraction or %)."),
    val_acc: str = typer.Option(None, "--val-acc", help="Column or series holding the validation accuracy (fraction or %)."),
    epoch: str = typer.Option(None, "--epoch", help="Column or series holding the epoch (0- or 1-based; default: "
                                                   "one row per epoch, or steps grouped by the validation points)."),
    num_classes: int = typer.Option(None, "--num-classes", help="Classes, for chance level (goodfit runs: from config.json)."),
    weights: str = typer.Option(None, "--weights", help="State dict to read beside the curves (default: model.pt of a goodfit run)."),
    width: int = typer.Option(100, "--width", help="Width of the curves in characters."),
    as_json: bool = typer.Option(False, "--json", help="Print only the diagnosis as JSON."),
):
    """Is the model overfitting, since when, and what to do: read a training log and judge its curves.

    The first line names the format and, after the flag that changes each guess, the series read as
    training and validation loss and accuracy (--train-loss, --val-loss, --train-acc, --val-acc).

    Examples:

    \b
        goodfit diagnose runs/one/history.csv
        goodfit diagnose keras_log.csv --num-classes 10
        goodfit diagnose lightning_logs/version_3/metrics.csv
        goodfit diagnose runs/Nov30_12-00-00_host     # a SummaryWriter run folder
        goodfit diagnose hf_output/checkpoint-500/trainer_state.json
        goodfit diagnose mlruns/0/3f2a.../ --val-loss val_loss
        goodfit diagnose any.csv --train-loss "Train Loss" \\
            --val-loss "Valid Loss" --json
    """
    from goodfit.diagnose import Context, context_from_config
    from goodfit.diagnose import diagnose as diagnose_history
    from goodfit.history import read_history, read_line, read_run_config

    if num_classes is not None and num_classes < 2:
        raise GoodfitError(f"--num-classes must be at least 2, got {num_classes}")
    history = read_history(file, num_classes=num_classes, train_loss=train_loss, val_loss=val_loss,
                           train_accuracy=train_acc, val_accuracy=val_acc, epoch=epoch)
    if not as_json:
        err_console = Console(stderr=True)
        for warning in history.warnings:
            err_console.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    config = read_run_config(file)
    known = context_from_config(config) if config else Context()
    context = Context(known.num_params, known.train_size, known.remedies, num_classes or known.num_classes,
                      known.data_kind)
    result = diagnose_history(history, context=context)
    beside = Path(file) / "model.pt" if Path(file).is_dir() else Path(file).with_name("model.pt")  # a run folder too
    model_path = weights or (beside if config and beside.is_file() else None)
    report = None
    if model_path:
        from goodfit.weights import read_weights  # torch: only when there are weights to read

        report = read_weights(model_path)
    if as_json:
        print(json.dumps(_to_json(result, history, report), indent=2))
        return
    from goodfit.report.terminal import diagnosis_renderable

    members = f" ({len(history.members)} members)" if len(history.members) > 1 else ""
    cli.console.print(Text(f"{file}: {read_line(history)}{members}"))  # wrapped at words
    cli.console.print(diagnosis_renderable(result, history, weights=report, width=min(width, cli.console.width)))


def _to_json(result, history, report) -> dict:
    """`goodfit diagnose --json`: the diagnosis, what was read and how, and the weights beside the curves."""
    out = result.to_dict()
    out["read"] = {"format": history.format, "series": dict(history.read), "notes": list(history.notes),
                   "warnings": list(history.warnings)}
    if report is not None:
        from goodfit.weights import weights_vs_curves

        out["weights"] = {**report.to_dict(), "vs_curves": weights_vs_curves(result.regime, report)}
    return out
