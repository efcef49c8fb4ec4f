"""`goodfit causes`: why the model overfits on this data (small, noisy, imbalanced, shifted, or capacity; for a
numeric target small, corrupted targets, shifted, or capacity), each check training folds, subsets and seeds as
one population; `goodfit.causes` finds, this file renders. Rows are the file's, 0-based data rows.
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
from goodfit.metrics import METRICS


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
    metric: str = typer.Option(None, "--metric", help="accuracy, balanced_accuracy or macro_f1 for classes; rmse, mae or "
                               "r2 for a number (learning curve, capacity). Default accuracy, or rmse for a number."),
    optimizer: str = options.OPTIMIZER,
    top: int = typer.Option(10, "--top", help="Mislabeled rows (or corrupted targets) to list on the terminal (all go to --out)."),
    out: str = typer.Option(None, "--out", help="Folder for causes.json and label_scores.csv (target_scores.csv for a "
                            "number): every row's scores."),
    as_json: bool = typer.Option(False, "--json", help="Print the causes as JSON."),
    training: dict | None = None,
):
    """Why does the model overfit on this data? Each check trains folds, subsets and seeds as one population.

    Small data (a learning curve and what 2x and 4x the data would add), noisy labels (the rows most
    likely mislabeled, with the likely label), imbalance (classes the model neglects), shift (with
    --test: how well a classifier tells test rows from training rows) and capacity. A numeric target
    gets corrupted targets in place of noisy labels (rows far from what out-of-fold models predict,
    with the likely value), its learning curve in RMSE (or --metric), and no imbalance check. A clean,
    balanced, large-enough data set gets "no cause found". Rows are the file's data rows, from 0.

    Examples:

    \b
        goodfit causes --data my.csv --target label --out runs/causes
        goodfit causes --data digits --json
        goodfit causes --data train.csv --target y --test test.csv
        goodfit causes --data digits --width 2 --depth 1   # a model too small
        goodfit causes --data houses.csv --target price --metric mae
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
        result.label_table().to_csv(folder / result.table_name, index=False)
        (folder / "causes.json").write_text(json.dumps(found, indent=2))
    if as_json:
        print(json.dumps(found, indent=2))
        return
    _print_causes(result, found["target_issues" if result.regression else "label_issues"], top)
    if out:
        cli.console.print(f"wrote {Path(out) / 'causes.json'} and {Path(out) / result.table_name}", highlight=False)


def _issues_table(result, issues: list[dict], top: int) -> Table:
    """The `top` rows most likely mislabeled (or whose target looks corrupted): file row, given and likely label
    (or value), score."""
    shown = min(top, len(issues))
    if result.regression:
        from goodfit.causes import CUTOFF

        value = METRICS["rmse"].value  # three significant figures
        table = Table(title=f"rows whose target looks corrupted ({len(issues)} over {CUTOFF:g} typical errors, about "
                            f"{result.labels.count:.0f} corrupted; the first {shown})")
        cells = [(value(i["given"]), value(i["likely"]), f"{i['score']:.1f}") for i in issues[:top]]
        score = "typical errors off"
    else:
        table = Table(title=f"rows most likely mislabeled ({len(issues)} judged so, "
                            f"{result.labels.share:.1%}; the first {shown})")
        cells = [(i["given"], i["likely"], f"{i['score']:.3f}") for i in issues[:top]]
        score = "score"
    for column in ("file row", "given", "likely", score):
        table.add_column(column, justify="right")
    for issue, row in zip(issues, cells):
        table.add_row(str(issue["row"]), *row)
    return table


def _print_causes(result, issues: list[dict], top: int) -> None:
    """What was checked, each cause with its evidence and remedies, the likely mislabeled rows, the learning
    curve and the notes."""
    console = cli.console
    what = "a numeric target" if result.regression else f"{len(result.class_names)} classes"
    console.print(f"{escape(result.data)}: {result.rows} rows, {what}; "
                  f"checked {', '.join(result.checked)} in {result.seconds:.0f} s", highlight=False)
    if not result.causes:
        clean = "the targets look right" if result.regression else "the labels look clean, the classes balanced"
        console.print(f"[bold]no cause found[/]: {clean}, and more data would add little", highlight=False)
    for i, cause in enumerate(result.causes, 1):
        console.print(f"\n[bold]{i}. {cause.name}[/]: {escape(cause.evidence)}", highlight=False)  # wrapped at words
        console.print(f"   remedies: {', '.join(cause.remedies)}", highlight=False)
    if issues and top:
        console.print(_issues_table(result, issues, top))
    c, m = result.curve, METRICS[result.metric]
    console.print(f"learning curve ({result.metric}{'' if m.higher_is_better else ', lower is better'}): "
                  + ", ".join(f"{m.value(v)} at {n}" for n, v in zip(c.sizes, c.metric))
                  + f"; expected {m.value(c.at_2x)} at 2x ({m.value(c.interval_2x[0])} to {m.value(c.interval_2x[1])}), "
                    f"{m.value(c.at_4x)} at 4x", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
