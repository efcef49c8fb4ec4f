"""`goodfit train`: one model (or several seeds of it) trained by the engine, its curves and its verdict.

Its remedy options come from the registry: one per `Flag` of every registered remedy (`_with_remedy_flags`).
"""
from __future__ import annotations

import inspect
import json
import sys

import typer
from rich.markup import escape
from rich.table import Table

from goodfit import cli
from goodfit.cli import options
from goodfit.errors import GoodfitError
from goodfit.remedies import train_flags


def _with_remedy_flags(command):
    """`command` with one typer option per flag of every registered remedy, placed before its `arm` option;
    the values reach it as keyword arguments (`**remedy_flags`)."""
    signature = inspect.signature(command)
    params = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    at = [p.name for p in params].index("arm")
    flags = []
    for flag in train_flags():
        kind = flag.kind if flag.default is not None else flag.kind | None
        option = typer.Option(flag.default, f"--{flag.name}", help=flag.help)
        flags.append(inspect.Parameter(flag.dest, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind))
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    command.__signature__ = signature.replace(parameters=params[:at] + flags + params[at:])
    command.__annotations__ = {**command.__annotations__, **{p.name: p.annotation for p in flags}}
    return command


@_with_remedy_flags
@options.with_training
def train(
    data: str = typer.Option("digits", help="Built-in data set name or a .csv/.parquet/.npz file or image folder."),
    target: str = options.TARGET,
    model: str = typer.Option("auto", help="mlp, cnn1d, cnn2d or auto (by the data's kind)."),
    hidden: int = typer.Option(None, help="Hidden units (mlp) or channels (cnn); default 256 / 32."),
    layers: int = typer.Option(None, help="Hidden layers (mlp) or convolution blocks (cnn); default 2 / 3 / 2."),
    epochs: int = typer.Option(100, help="Passes over the training set."),
    batch_size: int = options.BATCH_SIZE,
    lr: float = options.LR,
    optimizer: str = options.OPTIMIZER,
    seed: int = typer.Option(0, help="Seed of the split and of the first member."),
    seeds: int = typer.Option(1, help="Train this many seeds of the same configuration at once."),
    train_size: int = typer.Option(None, help="Training samples to keep (default: all)."),
    label_noise: float = options.LABEL_NOISE,
    imbalance: float = options.IMBALANCE,
    arm: str = typer.Option(None, "--arm", help="All remedies as one study arm, instead of the options above, e.g. "
                                                "dropout=0.3+l2=1e-4+augment=shift:0.1 (what goodfit recipe prints)."),
    device: str = options.DEVICE,
    task: str = options.TASK,
    loss: str = options.LOSS,
    out: str = typer.Option("runs/train", help="Output folder for history.csv, model.pt and config.json."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
    training: dict | None = None,
    **remedy_flags,
):
    """Train one model (or several seeds at once) with the remedies you choose, and show its curves.

    Examples:

    \b
        goodfit train --data digits --train-size 300 --epochs 100 --out runs/one
        goodfit train --data digits --train-size 300 --dropout 0.3 --l2 1e-4 \\
            --early-stopping 10 --augment shift,noise --batchnorm --width 0.5 \\
            --out runs/one
        goodfit train --data my.csv --target label --seeds 5 --json
    """
    from goodfit.cli.progress import train_with_progress
    from goodfit.data import Conditions, load, split
    from goodfit.engine import Member, TrainConfig
    from goodfit.grammar import arm_from_flags
    from goodfit.models import ModelSpec
    from goodfit.runs import RunRecord, check_out, prepare_out, save_run

    if seeds < 1:
        raise GoodfitError(f"--seeds must be at least 1, got {seeds}")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss,
                         **training)
    conditions = Conditions(train_size=train_size, label_noise=label_noise, imbalance=imbalance)
    spec = ModelSpec(model, hidden, layers)
    dataset = load(data, target, task)
    if not as_json and dataset.why:
        cli.console.print(f"task: {dataset.task} ({dataset.why})")
    for note in [] if as_json else dataset.notes:
        cli.console.print(f"note: {note}", highlight=False)
    arm = arm_from_flags(remedy_flags, dataset.kind, arm)
    check_out(out)  # created once there is something to write: a failed run leaves no empty folder
    splits = split(dataset, conditions, seed)
    members = [Member(arm, seed + i) for i in range(seeds)]
    result = train_with_progress(splits, members, spec, config, quiet=as_json)
    record = RunRecord("goodfit " + " ".join(sys.argv[1:]), data, target, dataset.describe(), conditions.to_dict(), seed,
                       splits.describe(), spec.to_dict(), arm.to_dict(), [m.seed for m in members], config.to_dict())
    files = save_run(prepare_out(out), result, record)
    if as_json:
        print(json.dumps(_summary(result, files), indent=2))
        return
    _print_summary(result, files)


def _summary(result, files: dict) -> dict:
    """`goodfit train --json`: each member's final numbers, the notes, the time and the files written."""
    return {"results": [{"seed": r.member.seed, "arm": r.member.arm.name, "best_epoch": r.best_epoch,
                         "stopped_epoch": r.stopped_epoch, "diverged": r.diverged,
                         "test_loss": r.test_loss, "test_accuracy": r.test_accuracy,
                         **{k: v for k, v in r.scores.items() if k.startswith("test_")},
                         "num_params": r.num_params} for r in result.members],
            "notes": result.notes,
            "seconds": round(result.seconds, 3), "files": {k: str(v) for k, v in files.items()}}


def _members_table(result) -> Table:
    """One row per member: its size, how long it trained, its best epoch and its scores."""
    table = Table(title=f"trained {len(result.members)} member(s) in {result.seconds:.1f} s")
    regression = "val_rmse" in result.members[0].history
    scores = ("train RMSE", "val RMSE", "test RMSE", "test R²") if regression else ("train acc", "val acc", "test acc")
    for col in ("seed", "params", "epochs", "best epoch", *scores, "test loss"):
        table.add_column(col, justify="right")
    for r in result.members:
        last = r.history.iloc[-1]
        shown = ([f"{last.train_rmse:.3g}", f"{last.val_rmse:.3g}", f"{r.scores.get('test_rmse', float('nan')):.3g}",
                  f"{r.scores.get('test_r2', float('nan')):.3f}"] if regression else
                 [f"{last.train_accuracy:.1%}", f"{last.val_accuracy:.1%}", f"{r.test_accuracy:.1%}"])
        table.add_row(str(r.member.seed), f"{r.num_params:,}",
                      f"{int(last.epoch)}" + (" (stopped)" if r.stopped_epoch else "") + (" diverged" if r.diverged else ""),
                      str(r.best_epoch), *shown, f"{r.test_loss:.3f}")
    return table


def _print_summary(result, files: dict) -> None:
    """The members' table, the notes, the first member's curves, the verdict and the files written."""
    from goodfit.diagnose import diagnose

    console = cli.console
    console.print(_members_table(result))
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    try:
        from goodfit.report.terminal import curves_text
    except ImportError:
        curves_text = None
    if curves_text is not None:
        console.print(curves_text(result.history().member(0), width=80, height=16), highlight=False, markup=False)
    try:
        d = diagnose(result.history())
        since = f" since epoch {d.onset_epoch}" if d.onset_epoch else ""
        console.print(f"[bold]verdict:[/] {d.regime.replace('_', ' ')}{since}, best epoch {d.best_epoch} "
                      f"(confidence {d.confidence}); the evidence: goodfit diagnose {escape(str(files['history']))}")
    except GoodfitError as err:  # too short to judge
        console.print(f"no verdict: {escape(str(err))}")
    console.print(f"wrote {files['history']}, {files['model']}, {files['config']}", highlight=False)
