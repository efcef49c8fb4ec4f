"""`goodfit causes`: why the model overfits on this data (small, noisy, imbalanced, shifted, or capacity), each
check training folds, subsets and seeds as one population; `goodfit.causes` finds, this file renders.
"""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from goodfit import cli
from goodfit.cli import options
from goodfit.errors import GoodfitError


@options.with_training
def causes(
    data: str = typer.Option("digits", "--data", help="Built-in data set name or a .csv, .parquet, .npz file or image folder."),
    target: str = options.TARGET,
    test: str = typer.Option(None, "--test", help="A file of test rows with the same columns, for the shift check."),
    model: str = typer.Option("mlp", "--model", help="mlp, cnn1d, cnn2d or auto."),
    width: int = typer.Option(None, "--width", help="Hidden units (MLP) or channels (CNN); default the model's."),
    depth: int = typer.Option(None, "--depth", help="Hidden layers (MLP) or convolution blocks (CNN)."),
    folds: int = typer.Option(5, "--folds", help="Folds of the out-of-fold probabilities."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per fold and per learning-curve size."),
    epochs: int = typer.Option(30, "--epochs", help="Most epochs of a fold's member (each stops 8 after its best)."),
    metric: str = typer.Option("accuracy", "--metric", help="accuracy, balanced_accuracy or macro_f1 (learning curve, capacity)."),
    optimizer: str = options.OPTIMIZER,
    top: int = typer.Option(10, "--top", help="Mislabeled rows to list on the terminal (all go to --out)."),
    out: str = typer.Option(None, "--out", help="Folder for causes.json and label_scores.csv (every row's scores)."),
    as_json: bool = typer.Option(False, "--json", help="Print the causes as JSON."),
    training: dict | None = None,
):
    """Why does the model overfit on this data? Each check trains folds, subsets and seeds as one population.

    Small data (a learning curve and what 2x and 4x the data would add), noisy labels (the rows most
    likely mislabeled, with the likely label), imbalance (classes the model neglects), shift (with
    --test: how well a classifier tells test rows from training rows) and capacity. A clean, balanced,
    large-enough data set gets "no cause found".

    Examples:

    \b
        goodfit causes --data my.csv --target label --out runs/causes
        goodfit causes --data digits --json
        goodfit causes --data train.csv --target y --test test.csv
        goodfit causes --data digits --width 2 --depth 1   # a model too small
    """
    from goodfit.causes import Causes
    from goodfit.engine import TrainConfig
    from goodfit.models import ModelSpec

    if top < 0:
        raise GoodfitError(f"--top must be 0 or more, got {top}")
    for name, value in (("--width", width), ("--depth", depth)):
        if value is not None and value < 1:
            raise GoodfitError(f"{name} must be at least 1, got {value}")
    finder = Causes(data, target=target, model=ModelSpec(model, width, depth), test=test, folds=folds, seeds=seeds,
                    epochs=epochs, metric=metric, train=TrainConfig(optimizer=optimizer, **training))
    err_console = Console(stderr=True)
    say = None if as_json else (lambda words: err_console.print(f"[dim]{escape(words)}[/]", highlight=False))
    result = finder.run(on_event=say)
    found = result.to_dict()
    if out:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        result.label_table().to_csv(folder / "label_scores.csv", index=False)
        (folder / "causes.json").write_text(json.dumps(found, indent=2))
    if as_json:
        print(json.dumps(found, indent=2))
        return
    _print_causes(result, found["label_issues"], top)
    if out:
        cli.console.print(f"wrote {Path(out) / 'causes.json'} and {Path(out) / 'label_scores.csv'}", highlight=False)


def _issues_table(issues: list[dict], share: float, top: int) -> Table:
    """The `top` rows most likely mislabeled: given label, likely label, score."""
    table = Table(title=f"rows most likely mislabeled ({len(issues)} judged so, "
                        f"{share:.1%}; the first {min(top, len(issues))})")
    for column in ("row", "given", "likely", "score"):
        table.add_column(column, justify="right")
    for issue in issues[:top]:
        table.add_row(str(issue["row"]), issue["given"], issue["likely"], f"{issue['score']:.3f}")
    return table


def _print_causes(result, issues: list[dict], top: int) -> None:
    """What was checked, each cause with its evidence and remedies, the likely mislabeled rows, the learning
    curve and the notes."""
    console = cli.console
    console.print(f"{escape(result.data)}: {result.rows} rows, {len(result.class_names)} classes; "
                  f"checked {', '.join(result.checked)} in {result.seconds:.0f} s", highlight=False)
    if not result.causes:
        console.print("[bold]no cause found[/]: the labels look clean, the classes balanced, and more data would "
                      "add little", highlight=False)
    for i, cause in enumerate(result.causes, 1):
        console.print(f"\n[bold]{i}. {cause.name}[/]: {escape(cause.evidence)}", highlight=False)  # wrapped at words
        console.print(f"   remedies: {', '.join(cause.remedies)}", highlight=False)
    if issues and top:
        console.print(_issues_table(issues, result.labels.share, top))
    c = result.curve
    console.print(f"learning curve ({result.metric}): " + ", ".join(f"{m:.1%} at {n}" for n, m in zip(c.sizes, c.metric))
                  + f"; expected {c.at_2x:.1%} at 2x ({c.interval_2x[0]:.1%} to {c.interval_2x[1]:.1%}), "
                    f"{c.at_4x:.1%} at 4x", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
