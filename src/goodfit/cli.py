"""The `goodfit` command: parses, calls the Python API, formats. Nothing else lives here.

A `GoodfitError` becomes exit code 2 and one line on stderr; any other exception is a bug.
"""
from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from goodfit.errors import GoodfitError

app = typer.Typer(
    help="goodfit: is my network memorizing, since when, and which regularization fixes it on my data?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()


@app.callback()
def _root() -> None:
    """goodfit: is my network memorizing, since when, and which regularization fixes it on my data?"""


@app.command()
def datasets(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """List the built-in data sets.

    Example:

        goodfit datasets
    """
    from goodfit.data import BUILTIN

    if as_json:
        print(json.dumps({name: summary for name, (_, summary) in BUILTIN.items()}, indent=2))
        return
    table = Table(title="built-in data sets (all work offline)")
    table.add_column("name", style="bold")
    table.add_column("what it is")
    for name, (_, summary) in BUILTIN.items():
        table.add_row(name, summary)
    console.print(table)


def _parse_floats(text: str | None, option: str) -> list[float]:
    if text is None:
        return []
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GoodfitError(f"{option} takes numbers separated by commas, got {text!r}; e.g. {option} 0.1,0.3") from None


def _arm_from_options(kind: str, dropout, l2, decay, early_stopping, augment, batchnorm, width, depth):
    from goodfit import remedies as R

    parts = []
    if dropout:
        parts.append(R.Dropout(dropout))
    if l2 and decay:
        raise GoodfitError("pass either --l2 (L2 penalty) or --decay (decoupled weight decay), not both")
    if l2:
        parts.append(R.WeightDecay(l2))
    if decay:
        parts.append(R.WeightDecay(decay, decoupled=True))
    if early_stopping:
        parts.append(R.EarlyStopping(patience=early_stopping))
    if augment:
        parts.append(R.Augment.from_names(augment, kind))
    if batchnorm:
        parts.append(R.BatchNorm())
    if width != 1.0 or depth:
        parts.append(R.Shrink(width, depth))
    name = "+".join(type(r).key for r in parts) or "baseline"
    return R.Arm(name, tuple(parts))


@app.command()
def train(
    data: str = typer.Option("digits", help="Built-in data set name or a .csv/.parquet/.npz file or image folder."),
    target: str = typer.Option(None, help="Label column of a CSV or Parquet file."),
    model: str = typer.Option("auto", help="mlp, cnn1d, cnn2d or auto (by the data's kind)."),
    hidden: int = typer.Option(None, help="Hidden units (mlp) or channels (cnn); default 256 / 32."),
    layers: int = typer.Option(None, help="Hidden layers (mlp) or convolution blocks (cnn); default 2 / 3 / 2."),
    epochs: int = typer.Option(100, help="Passes over the training set."),
    batch_size: int = typer.Option(32, help="Samples per step."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    optimizer: str = typer.Option("adam", help="adam or sgd."),
    seed: int = typer.Option(0, help="Seed of the split and of the first member."),
    seeds: int = typer.Option(1, help="Train this many seeds of the same configuration at once."),
    train_size: int = typer.Option(None, help="Training samples to keep (default: all)."),
    label_noise: float = typer.Option(0.0, help="Fraction of training labels replaced by another class."),
    imbalance: float = typer.Option(1.0, help="Size of the last class relative to the first (1 = balanced)."),
    dropout: float = typer.Option(0.0, help="Dropout rate of hidden units."),
    l2: float = typer.Option(0.0, help="L2 penalty strength on weights."),
    decay: float = typer.Option(0.0, help="Decoupled (AdamW-style) weight decay strength."),
    early_stopping: int = typer.Option(0, help="Early-stopping patience in epochs (0 = off); best weights restored."),
    augment: str = typer.Option(None, help="Augmentations, e.g. shift,noise or rotate=10,flip (images), noise,mixup (tables)."),
    batchnorm: bool = typer.Option(False, "--batchnorm", help="Batch normalization in hidden layers."),
    width: float = typer.Option(1.0, help="Fraction of hidden units kept (capacity reduction)."),
    depth: int = typer.Option(None, help="Reduce the number of hidden layers to this (capacity reduction)."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    out: str = typer.Option("runs/train", help="Output folder for history.csv, model.pt and config.json."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
):
    """Train one model (or several seeds at once) with the remedies you choose, and show its curves.

    Examples:

        goodfit train --data digits --train-size 300 --epochs 100 --out runs/one

        goodfit train --data digits --train-size 300 --dropout 0.3 --l2 1e-4 --early-stopping 10 \\
            --augment shift,noise --batchnorm --width 0.5 --out runs/one

        goodfit train --data my.csv --target label --seeds 5 --json
    """
    from goodfit.data import Conditions, load, split
    from goodfit.engine import Member, TrainConfig
    from goodfit.engine import train as train_members
    from goodfit.models import ModelSpec
    from goodfit.runs import prepare_out, save_run

    if seeds < 1:
        raise GoodfitError(f"--seeds must be at least 1, got {seeds}")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, device=device)
    conditions = Conditions(train_size=train_size, label_noise=label_noise, imbalance=imbalance)
    spec = ModelSpec(model, hidden, layers)
    out_path = prepare_out(out)
    dataset = load(data, target)
    splits = split(dataset, conditions, seed)
    arm = _arm_from_options(splits.kind, dropout, l2, decay, early_stopping, augment, batchnorm, width, depth)
    members = [Member(arm, seed + i) for i in range(seeds)]
    result = _train_with_progress(splits, members, spec, config, quiet=as_json)
    settings = {"data": data, "target": target, "dataset": dataset.describe(), "conditions": conditions.to_dict(),
                "split_seed": seed, "splits": splits.describe(), "model": spec.to_dict(), "arm": arm.to_dict(),
                "seeds": [m.seed for m in members], "command": "goodfit " + " ".join(sys.argv[1:])}
    files = save_run(out_path, result, settings, config)
    _print_train_summary(result, files, as_json)


def _train_with_progress(splits, members, spec, config, quiet: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from goodfit.engine import train as train_members

    if quiet:
        return train_members(splits, members, spec, config)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("epoch {task.completed}/{task.total}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[live]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("training", total=config.epochs, live="")

        def on_epoch(info: dict) -> None:
            import numpy as np

            m = np.nanmean(info["metrics"], axis=0)
            arch = info["architecture"]
            progress.update(task, completed=info["epoch"],
                            description=f"{arch.arch} x{len(members)}",
                            live=f"train loss {m[0]:.3f} acc {m[1]:.1%} | val loss {m[2]:.3f} acc {m[3]:.1%}")

        return train_members(splits, members, spec, config, on_epoch=on_epoch)


def _print_train_summary(result, files: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"results": [{"seed": r.member.seed, "arm": r.member.arm.name, "best_epoch": r.best_epoch,
                                       "stopped_epoch": r.stopped_epoch, "diverged": r.diverged,
                                       "test_loss": r.test_loss, "test_accuracy": r.test_accuracy,
                                       "num_params": r.num_params} for r in result.members],
                          "seconds": round(result.seconds, 3), "files": {k: str(v) for k, v in files.items()}},
                         indent=2))
        return
    table = Table(title=f"trained {len(result.members)} member(s) in {result.seconds:.1f} s")
    for col in ("seed", "params", "epochs", "best epoch", "train acc", "val acc", "test acc", "test loss"):
        table.add_column(col, justify="right")
    for r in result.members:
        last = r.history.iloc[-1]
        table.add_row(str(r.member.seed), f"{r.num_params:,}",
                      f"{int(last.epoch)}" + (" (stopped)" if r.stopped_epoch else "") + (" diverged" if r.diverged else ""),
                      str(r.best_epoch), f"{last.train_accuracy:.1%}", f"{last.val_accuracy:.1%}",
                      f"{r.test_accuracy:.1%}", f"{r.test_loss:.3f}")
    console.print(table)
    try:
        from goodfit.report.terminal import curves_text
    except ImportError:
        curves_text = None
    if curves_text is not None:
        console.print(curves_text(result.history().member(0), width=80, height=16), highlight=False, markup=False)
    console.print(f"wrote {files['history']}, {files['model']}, {files['config']}", highlight=False)


def main() -> None:
    """Entry point of the console script: user mistakes exit 2 with one line, no traceback."""
    err_console = Console(stderr=True)
    try:
        app(standalone_mode=False)
    except GoodfitError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.TyperException as err:  # click's usage errors: one line naming the option, exit 2
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {escape(err.format_message() + hint)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, typer.Abort) as done:
        sys.exit(getattr(done, "exit_code", 1))
