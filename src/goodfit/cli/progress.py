"""The live progress bars of `goodfit train` and `goodfit study`: one bar per population or per arm, with the
epoch's mean metrics beside it. rich.progress and the engine are imported when a bar is drawn.
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from goodfit import cli


def _narrow() -> bool:
    """A terminal under 120 columns: short bars, and validation alone in the live metrics."""
    return cli.console.width < 120


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


def _progress(description: str, bar_width: int, count: str, **options):
    """A rich `Progress` with the columns both commands show: what, bar, how far, time taken and left, metrics."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(description), BarColumn(bar_width=10 if _narrow() else bar_width), TextColumn(count),
                    TimeElapsedColumn(), _time_left(), TextColumn("{task.fields[live]}"), console=cli.console,
                    **options)


# The live metrics beside a bar, as (training part, validation part) for classes and for a number; below 120
# columns the validation part alone, so 80 columns crop nothing.
TRAIN_LIVE = (("train loss {m[train_loss]:.3f} acc {m[train_accuracy]:.1%} | ",
               "val loss {m[val_loss]:.3f} acc {m[val_accuracy]:.1%}"),
              ("train loss {m[train_loss]:.3f} RMSE {m[train_rmse]:.3g} | ",
               "val loss {m[val_loss]:.3f} RMSE {m[val_rmse]:.3g} R² {m[val_r2]:.2f}"))
STUDY_LIVE = (("train acc {m[train_accuracy]:.1%}  ", "val acc {m[val_accuracy]:.1%}  val loss {m[val_loss]:.3f}"),
              ("train RMSE {m[train_rmse]:.3g}  ", "val RMSE {m[val_rmse]:.3g}  val R² {m[val_r2]:.2f}"))


def _live(m, shapes) -> str:
    """The epoch's mean metrics `m` in one of the `shapes` above: the first for classes, the second for a number."""
    train, val = shapes[0] if "val_accuracy" in m else shapes[1]
    return (val if _narrow() else train + val).format(m=m)


def train_with_progress(splits, members, spec, config, quiet: bool):
    """`goodfit.engine.train` with one bar that follows the furthest population; `quiet` draws none."""
    from goodfit.engine import train as train_members

    if quiet:
        return train_members(splits, members, spec, config)
    with _progress("[bold]{task.description}", 40, "epoch {task.completed}/{task.total}", transient=False) as progress:
        task = progress.add_task("training", total=config.epochs, live="")

        def on_epoch(info: dict) -> None:  # populations may train side by side: the bar follows the furthest
            progress.update(task, completed=max(info["epoch"], progress.tasks[task].completed),
                            description=f"{info['architecture'].arch} x{len(members)}",
                            live=_live(info["metrics"].mean(), TRAIN_LIVE))

        return train_members(splits, members, spec, config, on_epoch=on_epoch)


class _StudyBars:
    """The study's events drawn as bars: one per arm of each unit, labelled with its condition when there are
    several; `warning` is said once, when the first unit starts (the plan was accepted)."""

    def __init__(self, progress, labels: list[str], warning: str | None):
        self.progress, self.labels, self.warning = progress, labels, warning
        self.tasks: dict[tuple[str, str], int] = {}

    def _of_unit(self, unit: str) -> list[int]:
        return [task for (u, _), task in self.tasks.items() if u == unit]

    def __call__(self, event: dict) -> None:
        import numpy as np

        progress, kind = self.progress, event["type"]
        if kind == "unit":
            if self.warning:
                Console(stderr=True).print(Text.assemble(("warning:", "bold yellow"), f" {self.warning}"))
                self.warning = None
            for arm in dict.fromkeys(event["arms"]):
                label = f"{arm}, {self.labels[event['condition']]}" if len(self.labels) > 1 else arm
                self.tasks[(event["unit"], arm)] = progress.add_task(escape(label), total=event["epochs"], live="")
        elif kind == "epoch":
            arms = np.array(event["arms"])
            for arm in dict.fromkeys(event["arms"]):
                task = self.tasks[(event["unit"], arm)]
                progress.update(task, completed=max(event["epoch"], progress.tasks[task].completed),
                                live=_live(event["metrics"].mean(arms == arm), STUDY_LIVE))
        elif kind == "unit_done":
            for task in self._of_unit(event["unit"]):
                progress.update(task, completed=progress.tasks[task].total)
            for note in event.get("notes", ()):
                progress.console.print(f"note: {escape(note)}", highlight=False)
        elif kind == "unit_failed":
            for task in self._of_unit(event["unit"]):
                progress.update(task, live=f"failed: {escape(event['error'])}")
        elif kind == "causes":  # --causes: each check as it begins
            progress.console.print(f"[dim]causes: {escape(event['step'])}[/]", highlight=False)


def run_study_with_progress(the_study, out_path, executor, quiet: bool, warning: str | None = None,
                            save_models: bool = False):
    """`Study.run` with a bar per arm of each unit; `quiet` draws none (and says no `warning`)."""
    from goodfit.report.tables import condition_label

    if quiet:
        return the_study.run(out_path, executor, save_models=save_models)
    labels = [condition_label(c, short=True) for c in the_study.plan["conditions"]]  # a learning curve's sizes
    with _progress("{task.description:>22}", 30, "{task.completed}/{task.total}", refresh_per_second=2) as progress:
        return the_study.run(out_path, executor, _StudyBars(progress, labels, warning), save_models=save_models)
