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
from rich.text import Text

from goodfit.errors import GoodfitError

app = typer.Typer(
    help="goodfit: is my network memorizing, since when, and which regularization fixes it on my data?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from goodfit import __version__

        print(f"goodfit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print goodfit's version and exit.")) -> None:
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


def _arm_from_options(kind: str, values: dict, arm: str | None = None):
    """The arm that `goodfit train`'s remedy options (each remedy's own flags, by `Flag.dest`) or `--arm` ask for."""
    from goodfit.grammar import parse_arm, spell
    from goodfit.remedies import REGISTRY, Arm, train_flags

    given = [f"--{f.name}" for f in train_flags() if values.get(f.dest, f.default) != f.default]
    if arm is not None:
        if given:
            raise GoodfitError(f"--arm {arm} and {', '.join(given)} both set remedies; put them all in --arm, "
                               f"e.g. --arm dropout=0.3+l2=1e-4")
        return parse_arm(arm, kind)
    parts = tuple(r for r in (cls.from_flags(values, kind) for cls in REGISTRY) if r is not None)
    return Arm(spell(Arm("remedies", parts)), parts)


def _with_remedy_flags(command):
    """`command` with one typer option per flag of every registered remedy, placed before its `arm` option;
    the values reach it as keyword arguments (`**remedy_flags`)."""
    import inspect

    from goodfit.remedies import train_flags

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


@app.command(short_help="Train one model (or several seeds) and show its curves.")
@_with_remedy_flags
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
    arm: str = typer.Option(None, "--arm", help="All remedies as one study arm, instead of the options above, e.g. "
                                                "dropout=0.3+l2=1e-4+augment=shift:0.1 (what goodfit recipe prints)."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    task: str = typer.Option(None, help="classification or regression (default: decided from the target)."),
    loss: str = typer.Option("auto", help="cross_entropy for classes; mse, mae or huber for a number."),
    out: str = typer.Option("runs/train", help="Output folder for history.csv, model.pt and config.json."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
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
    from goodfit.data import Conditions, load, split
    from goodfit.engine import Member, TrainConfig
    from goodfit.models import ModelSpec
    from goodfit.runs import RunRecord, check_out, prepare_out, save_run

    if seeds < 1:
        raise GoodfitError(f"--seeds must be at least 1, got {seeds}")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss)
    conditions = Conditions(train_size=train_size, label_noise=label_noise, imbalance=imbalance)
    spec = ModelSpec(model, hidden, layers)
    dataset = load(data, target, task)
    if not as_json and dataset.why:
        console.print(f"task: {dataset.task} ({dataset.why})")
    arm = _arm_from_options(dataset.kind, remedy_flags, arm)
    check_out(out)  # created once there is something to write: a failed run leaves no empty folder
    splits = split(dataset, conditions, seed)
    members = [Member(arm, seed + i) for i in range(seeds)]
    result = _train_with_progress(splits, members, spec, config, quiet=as_json)
    record = RunRecord("goodfit " + " ".join(sys.argv[1:]), data, target, dataset.describe(), conditions.to_dict(), seed,
                       splits.describe(), spec.to_dict(), arm.to_dict(), [m.seed for m in members], config.to_dict())
    files = save_run(prepare_out(out), result, record)
    _print_train_summary(result, files, as_json)


def _time_left():
    """A progress column: `0:03 left` once rich can estimate it, nothing before (a bare "eta" said nothing)."""
    from rich.progress import ProgressColumn

    class TimeLeft(ProgressColumn):
        def render(self, task) -> Text:
            left = task.time_remaining
            if left is None or task.finished:
                return Text("")
            return Text(f"{int(left) // 60}:{int(left) % 60:02d} left", style="progress.remaining")

    return TimeLeft()


def _train_with_progress(splits, members, spec, config, quiet: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from goodfit.engine import train as train_members

    if quiet:
        return train_members(splits, members, spec, config)
    narrow = console.width < 120  # validation alone in the live metrics, so 80 columns crop nothing
    columns = [TextColumn("[bold]{task.description}"), BarColumn(bar_width=10 if narrow else 40),
               TextColumn("epoch {task.completed}/{task.total}"), TimeElapsedColumn(), _time_left(),
               TextColumn("{task.fields[live]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("training", total=config.epochs, live="")

        def on_epoch(info: dict) -> None:
            m = info["metrics"].mean()
            arch = info["architecture"]
            # populations may train side by side: the bar follows the furthest
            train = (f"train loss {m['train_loss']:.3f} acc {m['train_accuracy']:.1%} | " if "val_accuracy" in m else
                     f"train loss {m['train_loss']:.3f} RMSE {m['train_rmse']:.3g} | ")
            val = (f"val loss {m['val_loss']:.3f} acc {m['val_accuracy']:.1%}" if "val_accuracy" in m else
                   f"val loss {m['val_loss']:.3f} RMSE {m['val_rmse']:.3g} R² {m['val_r2']:.2f}")
            live = val if narrow else train + val
            progress.update(task, completed=max(info["epoch"], progress.tasks[task].completed),
                            description=f"{arch.arch} x{len(members)}", live=live)

        return train_members(splits, members, spec, config, on_epoch=on_epoch)


def _print_train_summary(result, files: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"results": [{"seed": r.member.seed, "arm": r.member.arm.name, "best_epoch": r.best_epoch,
                                       "stopped_epoch": r.stopped_epoch, "diverged": r.diverged,
                                       "test_loss": r.test_loss, "test_accuracy": r.test_accuracy,
                                       **{k: v for k, v in r.scores.items() if k.startswith("test_")},
                                       "num_params": r.num_params} for r in result.members],
                          "notes": result.notes,
                          "seconds": round(result.seconds, 3), "files": {k: str(v) for k, v in files.items()}},
                         indent=2))
        return
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
    console.print(table)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    try:
        from goodfit.report.terminal import curves_text
    except ImportError:
        curves_text = None
    if curves_text is not None:
        console.print(curves_text(result.history().member(0), width=80, height=16), highlight=False, markup=False)
    from goodfit.diagnose import diagnose

    try:
        d = diagnose(result.history())
        since = f" since epoch {d.onset_epoch}" if d.onset_epoch else ""
        console.print(f"[bold]verdict:[/] {d.regime.replace('_', ' ')}{since}, best epoch {d.best_epoch} "
                      f"(confidence {d.confidence}); the evidence: goodfit diagnose {escape(str(files['history']))}")
    except GoodfitError as err:  # too short to judge
        console.print(f"no verdict: {escape(str(err))}")
    console.print(f"wrote {files['history']}, {files['model']}, {files['config']}", highlight=False)


def _parse_ints(text: str | None, option: str) -> list[int]:
    values = _parse_floats(text, option)
    if any(v != int(v) for v in values):
        raise GoodfitError(f"{option} takes whole numbers separated by commas, got {text!r}; e.g. {option} 100,300")
    return [int(v) for v in values]


def _executor(name: str, address: str | None):
    """The executor `--executor` names, joined to `--address` when given; one-line errors for what cannot be."""
    from goodfit.executors import EXECUTORS

    if name not in EXECUTORS:
        raise GoodfitError(f"executor {name!r} is unknown; use one of {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise GoodfitError(f"--address {address} names a Ray cluster; add --executor ray to run there")
    return EXECUTORS[name](**({"address": address} if address is not None else {}))


@app.command()
def study(
    data: str = typer.Option(None, help="Built-in data set or file; default: the embedded study (see below)."),
    target: str = typer.Option(None, help="Label column of a CSV or Parquet file."),
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
    imbalance: float = typer.Option(1.0, help="Size of the last class relative to the first (1 = balanced)."),
    dropout: str = typer.Option(None, help="Dropout rates to sweep, e.g. 0.1,0.3,0.5 (a validation curve; "
                                           "the same as --arms dropout=0.1,dropout=0.3,dropout=0.5)."),
    l2: str = typer.Option(None, help="L2 strengths to sweep, e.g. 1e-5,1e-4,1e-3."),
    decay: str = typer.Option(None, help="Decoupled weight-decay strengths to sweep."),
    batch_size: int = typer.Option(32, help="Samples per step."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    optimizer: str = typer.Option("adam", help="adam or sgd."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    split_seed: int = typer.Option(0, help="Seed of the train/validation/test split."),
    task: str = typer.Option(None, help="classification or regression (default: decided from the target)."),
    metric: str = typer.Option(None, help="What the comparisons judge by: accuracy, balanced_accuracy, macro_f1 or loss "
                                          "(classes); rmse, mae, r2 or loss (regression). Default: accuracy, "
                                          "balanced_accuracy on imbalanced classes, rmse for regression."),
    loss: str = typer.Option("auto", help="cross_entropy for classes; mse, mae or huber for a number."),
    executor: str = typer.Option("local", help="Where units run: local (this process) or ray (see docs/cluster.md)."),
    address: str = typer.Option(None, help="Ray cluster to join with --executor ray, e.g. ray://head:10001 "
                                            "(default: start Ray on this machine); a cluster's token comes from "
                                            "RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."),
    out: str = typer.Option("runs/study", help="Output folder: study.db, results.json, report.html."),
    causes: bool = typer.Option(False, "--causes", help="Also run goodfit causes on the first condition's training set "
                                                        "(and test set, for shift): report.html and results.json "
                                                        "get a causes section."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json's verdict and table as JSON."),
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
    """
    from goodfit.data import Conditions
    from goodfit.engine import TrainConfig
    from goodfit.grammar import parse_arms, parse_seeds
    from goodfit.study import DEFAULT_STUDY, Study, sweep_arms

    runner = _executor(executor, address)
    seed_list = parse_seeds(seeds)
    default = data is None
    data = data or DEFAULT_STUDY["data"]
    model = model or (DEFAULT_STUDY["model"] if default else "auto")
    epochs = epochs or (DEFAULT_STUDY["epochs"] if default else 100)
    sizes = _parse_ints(train_size, "--train-size") or ([DEFAULT_STUDY["train_size"]] if default else [None])
    noises = _parse_floats(label_noise, "--label-noise") or (list(DEFAULT_STUDY["label_noise"]) if default else [0.0])
    conditions = [Conditions(train_size=n, label_noise=q, imbalance=imbalance) for n in sizes for q in noises]
    from goodfit.data import load

    loaded = load(data, target, task)
    kind = loaded.kind
    if not as_json and loaded.why:
        console.print(f"task: {loaded.task} ({loaded.why})")
    sweeps = sweep_arms(_parse_floats(dropout, "--dropout"), _parse_floats(l2, "--l2"), _parse_floats(decay, "--decay"))
    if arms is not None:
        chosen = parse_arms(arms, kind)
    elif sweeps:
        chosen = parse_arms("baseline", kind)
    else:
        chosen = None
    if chosen is not None:
        named = {a.name for a in chosen}
        chosen += [a for a in sweeps if a.name not in named]
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss)
    the_study = Study(data, model, chosen, seed_list, epochs, conditions, target, config, split_seed,
                      control=control, resample_splits=resample_splits, task=task, metric=metric, causes=causes)
    from goodfit.runs import prepare_out

    out_path = prepare_out(out)
    command = "goodfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["study"] else "goodfit study"
    result = _run_study_with_progress(the_study, out_path, runner, quiet=as_json, command=command,
                                      warning=the_study.power_note())
    if result.failed:
        listed = "; ".join(f"{unit} ({error})" for unit, error in result.failed.items())
        kept = out_path / "study.db"
        Console(stderr=True).print(
            f"[bold red]error:[/] {len(result.failed)} of {result.units_trained} unit(s) failed, so no results.json or "
            f"report.html was written: {escape(listed)}; the finished units are kept in {escape(str(kept))}; "
            "run the same command again to train only the missing ones", highlight=False, soft_wrap=True)
        sys.exit(1)
    files = result.files  # the study wrote results.json and report.html beside study.db
    if as_json:
        print(json.dumps({"verdict": result.verdict, "arms": json.loads(result.table().to_json(orient="records")),
                          **({"causes": result.causes} if result.causes is not None else {}),
                          "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    from goodfit.report.tables import study_table

    console.print(study_table(result, width=console.width))
    console.print(Text.assemble("\n", ("verdict:", "bold"), f" {result.verdict}\n"))  # wrapped at words
    if result.causes is not None:  # goodfit study --causes: what it found, in order (report.html has the rest)
        found = result.causes["causes"]
        console.print(Text.assemble(("causes:", "bold"), " " + ("; ".join(f"{i}. {c['name']} ({', '.join(c['remedies'])})"
                                                                          for i, c in enumerate(found, 1))
                                                                or "none found") + "\n"))
    console.print(f"wrote {files['results']}, {files['report']}, {files['store']}  "
                  f"({result.units_trained} unit(s) trained now; {result.seconds:.1f} s of training in all)",
                  highlight=False)


def _run_study_with_progress(the_study, out_path, executor, quiet: bool, command: str, warning: str | None = None):
    import numpy as np
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from goodfit.report.tables import condition_label

    if quiet:
        return the_study.run(out_path, executor, command=command)
    narrow = console.width < 120  # validation alone in the live metrics, so 80 columns crop nothing
    columns = [TextColumn("{task.description:>22}"), BarColumn(bar_width=10 if narrow else 30),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), _time_left(),
               TextColumn("{task.fields[live]}")]
    with Progress(*columns, console=console, refresh_per_second=2) as progress:
        tasks: dict[str, int] = {}
        labels = [condition_label(c, short=True) for c in the_study.plan["conditions"]]  # a learning curve's sizes

        said = []

        def on_event(event: dict) -> None:
            if event["type"] == "unit" and warning and not said:  # once, when training starts (the plan was accepted)
                said.append(warning)
                Console(stderr=True).print(Text.assemble(("warning:", "bold yellow"), f" {warning}"))
            if event["type"] == "unit":
                for arm in dict.fromkeys(event["arms"]):
                    label = f"{arm}, {labels[event['condition']]}" if len(labels) > 1 else arm
                    tasks[(event["unit"], arm)] = progress.add_task(escape(label), total=event["epochs"], live="")
            elif event["type"] == "epoch":
                arms = np.array(event["arms"])
                for arm in dict.fromkeys(event["arms"]):
                    m = event["metrics"].mean(arms == arm)
                    task = tasks[(event["unit"], arm)]
                    progress.update(task, completed=max(event["epoch"], progress.tasks[task].completed),
                                    live=(("" if narrow else f"train acc {m['train_accuracy']:.1%}  ")
                                          + f"val acc {m['val_accuracy']:.1%}  val loss {m['val_loss']:.3f}"
                                          if "val_accuracy" in m else
                                          ("" if narrow else f"train RMSE {m['train_rmse']:.3g}  ")
                                          + f"val RMSE {m['val_rmse']:.3g}  val R² {m['val_r2']:.2f}"))
            elif event["type"] == "unit_done":
                for (unit, _), task in tasks.items():
                    if unit == event["unit"]:
                        progress.update(task, completed=progress.tasks[task].total)
                for note in event.get("notes", ()):
                    progress.console.print(f"note: {escape(note)}", highlight=False)
            elif event["type"] == "unit_failed":
                for (unit, _), task in tasks.items():
                    if unit == event["unit"]:
                        progress.update(task, live=f"failed: {escape(event['error'])}")
            elif event["type"] == "causes":  # --causes: each check as it begins
                progress.console.print(f"[dim]causes: {escape(event['step'])}[/]", highlight=False)

        return the_study.run(out_path, executor, on_event, command=command)


@app.command()
def recipe(
    data: str = typer.Option(None, help="Built-in data set or file; default: the default study's data (digits, 300 "
                                        "training images, MLP)."),
    target: str = typer.Option(None, help="Label column of a CSV or Parquet file."),
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
    label_noise: float = typer.Option(0.0, help="Fraction of training labels replaced by another class."),
    imbalance: float = typer.Option(1.0, help="Size of the last class relative to the first (1 = balanced)."),
    batch_size: int = typer.Option(32, help="Samples per step."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    optimizer: str = typer.Option("adam", help="adam or sgd."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    seed: int = typer.Option(0, help="Seed of the random candidates."),
    task: str = typer.Option(None, help="classification or regression (default: decided from the target)."),
    metric: str = typer.Option(None, help="What selects and judges: accuracy, balanced_accuracy, macro_f1 or loss "
                                          "(classes); rmse, mae, r2 or loss (regression). Default as in study."),
    loss: str = typer.Option("auto", help="cross_entropy for classes; mse, mae or huber for a number."),
    executor: str = typer.Option("local", help="Where rungs run: local or ray (see docs/cluster.md)."),
    address: str = typer.Option(None, help="Ray cluster to join with --executor ray."),
    out: str = typer.Option("runs/recipe", help="Output folder: results.json, report.html, search/ and confirm/ stores."),
    reports: bool = typer.Option(False, "--reports", help="Also write a report.html for each rung and the "
                                                          "confirmation (seconds each; `goodfit report DIR` can later)."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json's verdict and command as JSON."),
):
    """Which combination and strength of remedies is best on this data? Search, then confirm on fresh seeds.

    Successive halving over random recipes (the judged metric on validation decides who continues), then the
    top recipes, the best single remedy and the baseline train again on seeds the search never
    used; the verdict rests on that confirmation alone. Running the same command again resumes.

    Examples:

        goodfit recipe --data mnist1d --model mlp

        goodfit recipe --data my.csv --target label --space dropout=0:0.5,l2=1e-5:1e-2,augment --seeds 10
    """
    from goodfit.data import Conditions
    from goodfit.engine import TrainConfig
    from goodfit.recipe import Recipe
    from goodfit.report.recipe import write_recipe_outputs
    from goodfit.study import DEFAULT_STUDY

    runner = _executor(executor, address)
    default = data is None
    data = data or DEFAULT_STUDY["data"]
    model = model or (DEFAULT_STUDY["model"] if default else "auto")
    epochs = epochs or (DEFAULT_STUDY["epochs"] if default else 100)
    train_size = train_size or (DEFAULT_STUDY["train_size"] if default else None)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, device=device, loss=loss)
    search = Recipe(data, model, space, candidates, eta, top, search_seeds, seeds, epochs,
                    [Conditions(train_size=train_size, label_noise=label_noise, imbalance=imbalance)], target, config,
                    seed=seed, task=task, metric=metric, reports=reports)
    from goodfit.runs import prepare_out

    out_path = prepare_out(out)
    if not as_json:
        console.print(f"search: {candidates} candidates in {len(search.rungs)} rungs "
                      f"({', '.join(f'{n} x {e} epochs' for n, e in search.rungs)}), {search_seeds} search seed(s); "
                      f"then the top {top}, the best single remedy and the baseline on {len(search.seeds)} fresh seeds",
                      highlight=False)

    def on_event(event: dict) -> None:
        if as_json:
            return
        if event["type"] == "rung":
            console.print(f"rung {event['rung'] + 1}: {event['candidates']} candidates x {event['epochs']} epochs",
                          highlight=False)
        elif event["type"] == "confirm":
            console.print(f"confirming {', '.join(event['arms'])} on fresh seeds", highlight=False)
        elif event["type"] == "unit_failed":
            console.print(f"[red]unit {escape(event['unit'])} failed:[/] {escape(event['error'])}", highlight=False)

    result = search.run(out_path, runner, on_event)
    command = "goodfit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["recipe"] else "goodfit recipe"
    files = write_recipe_outputs(result, out_path, command=command)
    if as_json:
        print(json.dumps({"verdict": result.verdict, "command": result.command(), "choice": result.chosen.name,
                          "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    from goodfit.grammar import spell
    from goodfit.report.tables import study_table

    console.print(study_table(result.confirmation, width=console.width))
    for arm, words in zip(result.recipes, result.descriptions()):
        console.print(f"  {arm.name}: {escape(words)}\n    arm: {escape(spell(arm))}", highlight=False, soft_wrap=True)
    console.print(Text.assemble("\n", ("verdict:", "bold"), f" {result.verdict}\n"))  # wrapped at words
    console.print(f"train with {escape(result.chosen.name)}:\n  {escape(_shell_lines(result.command()))}\n", soft_wrap=True,
                  highlight=False)
    console.print(f"wrote {files['results']}, {files['report']}  ({result.units_trained} unit(s) trained now; "
                  f"{result.seconds:.1f} s of training in all)", highlight=False)


def _shell_lines(command: str) -> str:
    """A long command cut at spaces into lines the shell joins again (` \\`), to fit the terminal."""
    import textwrap

    lines = textwrap.wrap(command, max(40, console.width - 6), break_long_words=False, break_on_hyphens=False)
    return " \\\n    ".join(lines)


@app.command(short_help="Rebuild a study's results.json and report.html from study.db.")
def report(
    folder: str = typer.Argument(..., help="The --out folder of a study."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict and table as JSON."),
):
    """Rebuild results.json and report.html of a study from its study.db, training nothing.

    Example:

    \b
        goodfit report runs/study
    """
    from goodfit.report.outputs import write_outputs
    from goodfit.study import StudyResult

    result = StudyResult.from_store(folder)
    files = write_outputs(result, folder)
    if as_json:
        print(json.dumps({"verdict": result.verdict, "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    console.print(Text.assemble(("verdict:", "bold"), f" {result.verdict}"))  # wrapped at words
    console.print(f"wrote {files['results']} and {files['report']}", highlight=False)


@app.command()
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
    from pathlib import Path

    from goodfit.diagnose import Context, context_from_config
    from goodfit.diagnose import diagnose as diagnose_history
    from goodfit.history import read_history, read_line, read_run_config

    if num_classes is not None and num_classes < 2:
        raise GoodfitError(f"--num-classes must be at least 2, got {num_classes}")
    history = read_history(file, num_classes=num_classes, train_loss=train_loss, val_loss=val_loss,
                           train_accuracy=train_acc, val_accuracy=val_acc, epoch=epoch)
    err_console = Console(stderr=True)
    if not as_json:
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
        from goodfit.weights import read_weights, weights_vs_curves  # torch: only when there are weights to read

        report = read_weights(model_path)
    if as_json:
        out = result.to_dict()
        out["read"] = {"format": history.format, "series": dict(history.read), "notes": list(history.notes),
                       "warnings": list(history.warnings)}
        if report is not None:
            out["weights"] = {**report.to_dict(), "vs_curves": weights_vs_curves(result.regime, report)}
        print(json.dumps(out, indent=2))
        return
    from goodfit.report.terminal import diagnosis_renderable

    members = f" ({len(history.members)} members)" if len(history.members) > 1 else ""
    console.print(Text(f"{file}: {read_line(history)}{members}"))  # wrapped at words
    console.print(diagnosis_renderable(result, history, weights=report, width=min(width, console.width)))


@app.command(short_help="Why the model overfits on your data: small, noisy, imbalanced, shifted, or capacity.")
def causes(
    data: str = typer.Option("digits", "--data", help="Built-in data set name or a .csv, .parquet, .npz file or image folder."),
    target: str = typer.Option(None, "--target", help="Label column of a CSV or Parquet file."),
    test: str = typer.Option(None, "--test", help="A file of test rows with the same columns, for the shift check."),
    model: str = typer.Option("mlp", "--model", help="mlp, cnn1d, cnn2d or auto."),
    width: int = typer.Option(None, "--width", help="Hidden units (MLP) or channels (CNN); default the model's."),
    depth: int = typer.Option(None, "--depth", help="Hidden layers (MLP) or convolution blocks (CNN)."),
    folds: int = typer.Option(5, "--folds", help="Folds of the out-of-fold probabilities."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per fold and per learning-curve size."),
    epochs: int = typer.Option(30, "--epochs", help="Most epochs of a fold's member (each stops 8 after its best)."),
    metric: str = typer.Option("accuracy", "--metric", help="accuracy, balanced_accuracy or macro_f1 (learning curve, capacity)."),
    top: int = typer.Option(10, "--top", help="Mislabeled rows to list on the terminal (all go to --out)."),
    out: str = typer.Option(None, "--out", help="Folder for causes.json and label_scores.csv (every row's scores)."),
    as_json: bool = typer.Option(False, "--json", help="Print the causes as JSON."),
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
    from pathlib import Path

    from goodfit.causes import Causes
    from goodfit.models import ModelSpec

    if top < 0:
        raise GoodfitError(f"--top must be 0 or more, got {top}")
    for name, value in (("--width", width), ("--depth", depth)):
        if value is not None and value < 1:
            raise GoodfitError(f"{name} must be at least 1, got {value}")
    finder = Causes(data, target=target, model=ModelSpec(model, width, depth), test=test, folds=folds, seeds=seeds, epochs=epochs, metric=metric)
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
    console.print(f"{escape(result.data)}: {result.rows} rows, {len(result.class_names)} classes; "
                  f"checked {', '.join(result.checked)} in {result.seconds:.0f} s", highlight=False)
    if not result.causes:
        console.print("[bold]no cause found[/]: the labels look clean, the classes balanced, and more data would "
                      "add little", highlight=False)
    for i, cause in enumerate(result.causes, 1):
        console.print(f"\n[bold]{i}. {cause.name}[/]: {escape(cause.evidence)}", highlight=False)  # wrapped at words
        console.print(f"   remedies: {', '.join(cause.remedies)}", highlight=False)
    issues = found["label_issues"]
    if issues and top:
        table = Table(title=f"rows most likely mislabeled ({len(issues)} judged so, "
                            f"{result.labels.share:.1%}; the first {min(top, len(issues))})")
        for column in ("row", "given", "likely", "score"):
            table.add_column(column, justify="right")
        for issue in issues[:top]:
            table.add_row(str(issue["row"]), issue["given"], issue["likely"], f"{issue['score']:.3f}")
        console.print(table)
    c = result.curve
    console.print(f"learning curve ({result.metric}): " + ", ".join(f"{m:.1%} at {n}" for n, m in zip(c.sizes, c.metric))
                  + f"; expected {c.at_2x:.1%} at 2x ({c.interval_2x[0]:.1%} to {c.interval_2x[1]:.1%}), "
                    f"{c.at_4x:.1%} at 4x", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    if out:
        console.print(f"wrote {Path(out) / 'causes.json'} and {Path(out) / 'label_scores.csv'}", highlight=False)


@app.command(short_help="Per-layer weight norms and heavy-tail alpha of a state dict.")
def weights(
    file: str = typer.Argument(..., help="A saved state dict, e.g. runs/one/model.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print only the statistics as JSON."),
):
    """Per-layer weight norms and the heavy-tail exponent alpha (2-6 well trained, < 2 over-, > 6 under-trained).

    Examples:

        goodfit weights runs/one/model.pt

        goodfit weights checkpoint_state_dict.pt --json
    """
    from goodfit.report.terminal import weights_table
    from goodfit.weights import read_weights

    report = read_weights(file)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console.print(weights_table(report))
    alpha = report.median_alpha
    console.print("median alpha: " + ("no layer has enough eigenvalues to fit" if alpha is None
                                      else f"{alpha:.2f} over {len(report.fitted)} layer(s), {report.verdict}"),
                  highlight=False)


def _short_helps() -> None:
    """Each command's line in `goodfit --help` is its docstring's first sentence (ending in `.`, `?` or `:`)
    unless it names a short_help: click would cut a longer first paragraph with "..." to fit the terminal."""
    import re

    for info in app.registered_commands:
        if info.short_help is None and info.callback.__doc__:
            info.short_help = re.split(r"(?<=[.?])\s|:\s", info.callback.__doc__.strip(), maxsplit=1)[0]


_short_helps()


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
