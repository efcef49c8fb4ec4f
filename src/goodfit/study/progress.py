"""A study's live progress, drawn with rich in a terminal or a notebook: one bar per arm of each unit, with the
epoch's mean metrics beside it, and each unit's notes (how a module was run) as it finishes.

`Study.run` draws it for a person at a terminal or in a notebook; `goodfit study` draws the same bars on the
command's console (`cli/progress.py`). rich.progress is imported when a bar is drawn.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from goodfit.data.splits import condition_label

NARROW = 120  # under this many columns: short bars, and validation alone in the live metrics

# The live metrics beside a bar, as (training part, validation part) for classes and for a number; below NARROW
# columns the validation part alone, so 80 columns crop nothing.
TRAIN_LIVE = (("train loss {m[train_loss]:.3f} acc {m[train_accuracy]:.1%} | ",
               "val loss {m[val_loss]:.3f} acc {m[val_accuracy]:.1%}"),
              ("train loss {m[train_loss]:.3f} RMSE {m[train_rmse]:.3g} | ",
               "val loss {m[val_loss]:.3f} RMSE {m[val_rmse]:.3g} R² {m[val_r2]:.2f}"))
STUDY_LIVE = (("train acc {m[train_accuracy]:.1%}  ", "val acc {m[val_accuracy]:.1%}  val loss {m[val_loss]:.3f}"),
              ("train RMSE {m[train_rmse]:.3g}  ", "val RMSE {m[val_rmse]:.3g}  val R² {m[val_r2]:.2f}"))


def live(m, shapes, console: Console) -> str:
    """The epoch's mean metrics `m` in one of the `shapes` above: the first for classes, the second for a number."""
    train, val = shapes[0] if "val_accuracy" in m else shapes[1]
    return (val if console.width < NARROW else train + val).format(m=m)


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


def progress_bars(console: Console, description: str, bar_width: int, count: str, **options):
    """A rich `Progress` with the columns every bar shows: what, bar, how far, time taken and left, metrics."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(description), BarColumn(bar_width=10 if console.width < NARROW else bar_width),
                    TextColumn(count), TimeElapsedColumn(), _time_left(), TextColumn("{task.fields[live]}"),
                    console=console, **options)


class StudyBars:
    """The study's events (`Study.run`'s `on_event`) drawn as bars: one per arm of each unit, labelled with its
    condition when there are several; `warning` is said once, when the first unit starts (the plan was accepted)."""

    def __init__(self, progress, labels: list[str], warning: str | None = None):
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
                                live=live(event["metrics"].mean(arms == arm), STUDY_LIVE, progress.console))
        elif kind == "unit_done":
            for task in self._of_unit(event["unit"]):
                progress.update(task, completed=progress.tasks[task].total)
            for note in event.get("notes", ()):
                progress.console.print(f"note: {escape(note)}", highlight=False)
        elif kind == "unit_failed":
            for task in self._of_unit(event["unit"]):
                progress.update(task, live=f"failed: {escape(event['error'])}")
        elif kind == "causes":  # causes: each check as it begins
            progress.console.print(f"[dim]causes: {escape(event['step'])}[/]", highlight=False)


def shows_progress(console: Console) -> bool:
    """Whether a person is watching `console`: a terminal or a notebook (not a pipe, a file or a test)."""
    return console.is_terminal or console.is_jupyter


@contextmanager
def study_bars(plan: dict, console: Console, warning: str | None = None):
    """Bars for a study of `plan` on `console`, as the `on_event` to give `Study.run`."""
    labels = [condition_label(c, short=True) for c in plan["conditions"]]  # a learning curve's sizes
    with progress_bars(console, "{task.description:>22}", 30, "{task.completed}/{task.total}",
                       refresh_per_second=2) as progress:
        yield StudyBars(progress, labels, warning)


def with_progress(run: Callable[[Callable | None], object], plan: dict, progress: bool | None) -> object:
    """`run(on_event)` with bars on stderr when `progress` is True, or when None and a person is watching
    (`shows_progress`); without them (`run(None)`) otherwise."""
    console = Console(stderr=True)
    if progress is False or (progress is None and not shows_progress(console)):
        return run(None)
    with study_bars(plan, console) as bars:
        return run(bars)
