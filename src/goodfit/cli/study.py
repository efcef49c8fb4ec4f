"""`goodfit study`: which remedy works on this data; every arm over several seeds, compared with statistics.

With no options it runs `Study.default()`, the embedded study; each option given replaces its part.
"""
from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from goodfit import cli
from goodfit.cli import options


@options.with_training
def study(
    data: str = typer.Option(None, help="Built-in data set or file; default: the embedded study (see below)."),
    target: str = options.TARGET,
    model: str = typer.Option(None, help="mlp, cnn1d, cnn2d or auto."),
    arms: str = typer.Option(None, help="Arms, comma-separated: a remedy's name (its default strength) or NAME=SETTINGS, "
                                        "e.g. baseline,dropout=0.5,l2=1e-4 or decay=1e-2,augment=shift:0.1+noise:0.05 "
                                        "or early_stopping=patience:20,batchnorm or shrink=0.5,all; a remedy may "
                                        "appear at several strengths."),
    seeds: str = typer.Option("5", help="Seeds per arm, paired across arms: a count (5 = seeds 0-4), a range (10-14) "
                                        "or a list (0,3,7)."),
    control: bool = typer.Option(False, "--control", help="Add an A/A control: the baseline again on seeds of its own, "
                                                          "to show the noise floor."),
    resample_splits: bool = typer.Option(True, "--resample-splits/--one-split",
                                         help="Each seed draws its own train/validation split from the same pool, the "
                                              "test set fixed, so the intervals include the data's own variance "
                                              "(default); --one-split trains every seed on one split."),
    epochs: int = typer.Option(None, help="Epochs per member."),
    train_size: str = typer.Option(None, help="Training samples; several (100,300,1000) give a learning curve."),
    label_noise: str = typer.Option(None, help="Fraction of training labels replaced by another class; several "
                                               "(0,0.2) compare clean with noisy labels, one condition each."),
    imbalance: float = options.IMBALANCE,
    dropout: str = typer.Option(None, help="Dropout rates to sweep, e.g. 0.1,0.3,0.5 (a validation curve; "
                                           "the same as --arms dropout=0.1,dropout=0.3,dropout=0.5)."),
    l2: str = typer.Option(None, help="L2 strengths to sweep, e.g. 1e-5,1e-4,1e-3."),
    decay: str = typer.Option(None, help="Decoupled weight-decay strengths to sweep."),
    batch_size: int = options.BATCH_SIZE,
    lr: float = options.LR,
    optimizer: str = options.OPTIMIZER,
    device: str = options.DEVICE,
    split_seed: int = typer.Option(0, help="Seed of the train/validation/test split."),
    task: str = options.TASK,
    metric: str = typer.Option(None, help="What the comparisons judge by: accuracy, balanced_accuracy, macro_f1 or loss "
                                          "(classes); rmse, mae, r2 or loss (regression). Default: accuracy, "
                                          "balanced_accuracy on imbalanced classes, rmse for regression."),
    loss: str = options.LOSS,
    script: str = typer.Option(None, "--script", help="A Python file defining fit(settings, seed), which trains one "
                                                       "member in your own loop (any framework) and returns its "
                                                       "history: each member is a call of it."),
    workers: int = typer.Option(None, "--workers", help="Run units in this many processes at once on this machine, "
                                                        "each with its share of the CPUs (or a GPU each)."),
    executor: str = typer.Option("local", help="Where units run: local (this process) or ray (see docs/cluster.md)."),
    address: str = typer.Option(None, help="Ray cluster to join with --executor ray, e.g. ray://head:10001 "
                                            "(default: start Ray on this machine); a cluster's token comes from "
                                            "RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."),
    out: str = typer.Option("runs/study", help="Output folder: study.db, results.json, report.html."),
    causes: bool = typer.Option(False, "--causes", help="Also run goodfit causes on the first condition's training set "
                                                        "(and test set, for shift): report.html and results.json "
                                                        "get a causes section."),
    save_models: bool = typer.Option(False, "--save-models", help="Keep each member's trained weights (a state dict) in "
                                                                  "OUT/models/, listed by condition, arm and seed in "
                                                                  "OUT/models/index.json, for StudyResult.module."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json's verdict and table as JSON."),
    training: dict | None = None,
):
    """Which remedy works on this data? Train every arm over several seeds and compare, with statistics.

    With no options it runs the embedded default study. Running the same command again resumes:
    finished units are not trained again.

    Examples:

    \b
        goodfit study
        goodfit study --data mnist1d --model mlp --seeds 5 --epochs 100 \\
            --out runs/m1d
        goodfit study --data my.csv --target label \\
            --arms baseline,dropout,l2,augment --seeds 10
        goodfit study --data digits --train-size 100,300,1000
        goodfit study --data diabetes --seeds 5 --epochs 100 --out runs/diabetes
        goodfit study --data digits --dropout 0.1,0.3,0.5 --l2 1e-5,1e-4,1e-3
        goodfit study --data mnist1d --model mlp --control --seeds 10-14 \\
            --arms baseline,dropout=0.1,dropout=0.5,augment=shift:0.1
        goodfit study --data mnist1d --seeds 20 --executor ray \\
            --address ray://head:10001
        goodfit study --data digits --train-size 300 --label-noise 0.2 \\
            --causes
        goodfit study --data wine --seeds 3 --save-models --out runs/wine
        goodfit study --script train.py --arms baseline,dropout=0.3,decay=0.1 \\
            --seeds 3 --epochs 20 --workers 2 --out runs/script
    """
    from goodfit.cli.progress import run_study_with_progress
    from goodfit.engine import TrainConfig
    from goodfit.executors import executor_for
    from goodfit.grammar import parse_numbers, parse_whole_numbers
    from goodfit.report.outputs import write_outputs
    from goodfit.report.verdict import power_warning, verdict
    from goodfit.runs import prepare_out
    from goodfit.study import Study, comparisons_in, sweep_arms

    runner = executor_for(executor, address, workers)
    sweeps = [a.name for a in sweep_arms(parse_numbers(dropout, "--dropout"), parse_numbers(l2, "--l2"),
                                         parse_numbers(decay, "--decay"))]
    chosen = None if arms is None and not sweeps else ["baseline" if arms is None else arms, *sweeps]
    config = TrainConfig(batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss, **training)
    if script is not None:  # members are calls of the user's function: it holds data, model and training
        from goodfit.fit import load_fit

        the_study = Study(data=data or "digits", fit=load_fit(script), arms=chosen, seeds=seeds, epochs=epochs or 100,
                          control=control, task=task, metric=metric)
    else:
        the_study = Study.default(data=data, target=target, model=model, arms=chosen, seeds=seeds, epochs=epochs,
                                  train_size=parse_whole_numbers(train_size, "--train-size"),
                                  label_noise=parse_numbers(label_noise, "--label-noise"), imbalance=imbalance,
                                  train=config, split_seed=split_seed, control=control,
                                  resample_splits=resample_splits, task=task, metric=metric, causes=causes)
    if not as_json and the_study.dataset_info.get("task_reason"):
        cli.console.print(f"task: {the_study.dataset_info['task']} ({the_study.dataset_info['task_reason']})")
    for note in [] if as_json else the_study.dataset_info.get("notes", []):
        cli.console.print(f"note: {note}", highlight=False)
    out_path = prepare_out(out)
    command = "goodfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["study"] else "goodfit study"
    warning = power_warning(len(the_study.plan["seeds"]), comparisons_in(the_study.plan))
    result = run_study_with_progress(the_study, out_path, runner, quiet=as_json, warning=warning,
                                     save_models=save_models)
    if result.failed:
        _say_failed(result, out_path / "study.db")
        sys.exit(1)
    files = write_outputs(result, out_path, command=command)
    if as_json:
        print(json.dumps({"verdict": verdict(result), "arms": json.loads(result.table().to_json(orient="records")),
                          **({"causes": result.causes} if result.causes is not None else {}),
                          "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    _print_result(result, files)


def _say_failed(result, kept) -> None:
    """One line on stderr: which units failed, that no results.json was written, and how to finish."""
    listed = "; ".join(f"{unit} ({error})" for unit, error in result.failed.items())
    Console(stderr=True).print(
        f"[bold red]error:[/] {len(result.failed)} of {result.units_trained} unit(s) failed, so no results.json or "
        f"report.html was written: {escape(listed)}; the finished units are kept in {escape(str(kept))}; "
        "run the same command again to train only the missing ones", highlight=False, soft_wrap=True)


def _print_result(result, files: dict) -> None:
    """The study's table, its verdict, the causes it found (with --causes) and the files it wrote."""
    from goodfit.report.tables import study_table
    from goodfit.report.verdict import despite_warning, verdict

    console = cli.console
    console.print(study_table(result, width=console.width))
    console.print(Text.assemble("\n", ("verdict:", "bold"), f" {verdict(result)}\n"))  # wrapped at words
    if (despite := despite_warning(result)) is not None:  # the warning before training, and what was found
        console.print(Text.assemble(("note:", "bold"), f" {despite}\n"))
    if result.causes is not None:  # goodfit study --causes: what it found, in order (report.html has the rest)
        found = "; ".join(f"{i}. {c['name']} ({', '.join(c['remedies'])})"
                          for i, c in enumerate(result.causes["causes"], 1))
        console.print(Text.assemble(("causes:", "bold"), " " + (found or "none found") + "\n"))
    console.print(f"wrote {files['results']}, {files['report']}, {files['store']}  "
                  f"({result.units_trained} unit(s) trained now; {result.seconds:.1f} s of training in all)",
                  highlight=False)
