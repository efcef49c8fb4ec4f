"""`goodfit recipe`: which combination and strength of remedies is best on this data; a search by successive
halving, then a confirmation on fresh seeds. With no options it runs `Recipe.default()`.
"""
from __future__ import annotations

import json
import sys
import textwrap

import typer
from rich.markup import escape
from rich.text import Text

from goodfit import cli
from goodfit.cli import options


@options.with_training
def recipe(
    data: str = typer.Option(None, help="Built-in data set or file; default: the default study's data (digits, 300 "
                                        "training images, MLP)."),
    target: str = options.TARGET,
    model: str = typer.Option(None, help="mlp, cnn1d, cnn2d or auto."),
    space: str = typer.Option(None, help="What to search, e.g. dropout=0.05:0.5,l2=1e-5:1e-2 or "
                                         "augment=shift:0.2+noise:0.1,batchnorm or shrink=0.25+0.5,early_stopping=10 "
                                         "(a name alone: its default range; default: every remedy)."),
    candidates: int = typer.Option(27, help="Random recipes in the first rung."),
    eta: int = typer.Option(3, help="Each rung keeps the best 1/eta, trained eta times longer."),
    top: int = typer.Option(3, help="Recipes confirmed on fresh seeds."),
    search_seeds: int = typer.Option(1, help="Seeds per candidate in the search (its own, never the confirmation's)."),
    seeds: str = typer.Option("5", help="Fresh seeds of the confirmation: a count, a range (10-14) or a list."),
    epochs: int = typer.Option(None, help="Full training length: the last rung and the confirmation."),
    train_size: int = typer.Option(None, help="Training samples to keep."),
    label_noise: float = options.LABEL_NOISE,
    imbalance: float = options.IMBALANCE,
    batch_size: int = options.BATCH_SIZE,
    lr: float = options.LR,
    optimizer: str = options.OPTIMIZER,
    device: str = options.DEVICE,
    seed: int = typer.Option(0, help="Seed of the random candidates."),
    task: str = options.TASK,
    metric: str = typer.Option(None, help="What selects and judges: accuracy, balanced_accuracy, macro_f1 or loss "
                                          "(classes); rmse, mae, r2 or loss (regression). Default as in study."),
    loss: str = options.LOSS,
    executor: str = typer.Option("local", help="Where rungs run: local or ray (see docs/cluster.md)."),
    address: str = typer.Option(None, help="Ray cluster to join with --executor ray."),
    out: str = typer.Option("runs/recipe", help="Output folder: results.json, report.html, search/ and confirm/ stores."),
    reports: bool = typer.Option(False, "--reports", help="Also write a report.html for each rung and the "
                                                          "confirmation (seconds each; `goodfit report DIR` can later)."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json's verdict and command as JSON."),
    training: dict | None = None,
):
    """Which combination and strength of remedies is best on this data? Search, then confirm on fresh seeds.

    Successive halving over random recipes (the judged metric on validation decides who continues), then the
    top recipes, the best single remedy and the baseline train again on seeds the search never
    used; the verdict rests on that confirmation alone. Running the same command again resumes.

    Examples:

        goodfit recipe --data mnist1d --model mlp

        goodfit recipe --data my.csv --target label --space dropout=0:0.5,l2=1e-5:1e-2,augment --seeds 10
    """
    from goodfit.engine import TrainConfig
    from goodfit.executors import executor_for
    from goodfit.recipe import Recipe
    from goodfit.report.recipe import write_recipe_outputs
    from goodfit.report.recipe_verdict import verdict
    from goodfit.runs import prepare_out

    runner = executor_for(executor, address)
    config = TrainConfig(batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss, **training)
    search = Recipe.default(data=data, model=model, space=space, candidates=candidates, eta=eta, top=top,
                            search_seeds=search_seeds, seeds=seeds, epochs=epochs, train_size=train_size,
                            label_noise=label_noise, imbalance=imbalance, target=target, train=config, seed=seed,
                            task=task, metric=metric)
    out_path = prepare_out(out)
    if not as_json:
        cli.console.print(f"search: {candidates} candidates in {len(search.rungs)} rungs "
                          f"({', '.join(f'{n} x {e} epochs' for n, e in search.rungs)}), {search_seeds} search "
                          f"seed(s); then the top {top}, the best single remedy and the baseline on "
                          f"{len(search.seeds)} fresh seeds", highlight=False)
    result = search.run(out_path, runner, None if as_json else _say_event)
    command = "goodfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["recipe"] else "goodfit recipe"
    files = write_recipe_outputs(result, out_path, command=command, reports=reports)
    if as_json:
        print(json.dumps({"verdict": verdict(result), "command": result.command(), "choice": result.chosen.name,
                          "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    _print_result(result, files)


def _say_event(event: dict) -> None:
    """The search as it goes: each rung, the confirmation, a failed unit."""
    if event["type"] == "rung":
        cli.console.print(f"rung {event['rung'] + 1}: {event['candidates']} candidates x {event['epochs']} epochs",
                          highlight=False)
    elif event["type"] == "confirm":
        cli.console.print(f"confirming {', '.join(event['arms'])} on fresh seeds", highlight=False)
    elif event["type"] == "unit_failed":
        cli.console.print(f"[red]unit {escape(event['unit'])} failed:[/] {escape(event['error'])}", highlight=False)


def _shell_lines(command: str) -> str:
    """A long command cut at spaces into lines the shell joins again (` \\`), to fit the terminal."""
    lines = textwrap.wrap(command, max(40, cli.console.width - 6), break_long_words=False, break_on_hyphens=False)
    return " \\\n    ".join(lines)


def _print_result(result, files: dict) -> None:
    """The confirmation's table, each recipe in words and as an arm, the verdict, the command to train the
    chosen one and the files written."""
    from goodfit.grammar import spell
    from goodfit.report.recipe_verdict import verdict
    from goodfit.report.tables import study_table

    console = cli.console
    console.print(study_table(result.confirmation, width=console.width))
    for arm, words in zip(result.recipes, result.descriptions()):
        console.print(f"  {arm.name}: {escape(words)}\n    arm: {escape(spell(arm))}", highlight=False, soft_wrap=True)
    console.print(Text.assemble("\n", ("verdict:", "bold"), f" {verdict(result)}\n"))  # wrapped at words
    console.print(f"train with {escape(result.chosen.name)}:\n  {escape(_shell_lines(result.command()))}\n",
                  soft_wrap=True, highlight=False)
    console.print(f"wrote {files['results']}, {files['report']}  ({result.units_trained} unit(s) trained now; "
                  f"{result.seconds:.1f} s of training in all)", highlight=False)
