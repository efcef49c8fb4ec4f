"""The live progress bars of `goodfit train` and `goodfit study` on the command's console: one bar per population or
per arm, with the epoch's mean metrics beside it (drawn by `goodfit.study.progress`). The engine is imported when a
bar is drawn.
"""
from __future__ import annotations

from goodfit import cli
from goodfit.study.progress import TRAIN_LIVE, live, progress_bars, study_bars


def train_with_progress(splits, members, spec, config, quiet: bool):
    """`goodfit.engine.train` with one bar that follows the furthest population; `quiet` draws none."""
    from goodfit.engine import train as train_members

    if quiet:
        return train_members(splits, members, spec, config)
    with progress_bars(cli.console, "[bold]{task.description}", 40, "epoch {task.completed}/{task.total}",
                       transient=False) as progress:
        task = progress.add_task("training", total=config.epochs, live="")

        def on_epoch(info: dict) -> None:  # populations may train side by side: the bar follows the furthest
            progress.update(task, completed=max(info["epoch"], progress.tasks[task].completed),
                            description=f"{info['architecture'].arch} x{len(members)}",
                            live=live(info["metrics"].mean(), TRAIN_LIVE, cli.console))

        return train_members(splits, members, spec, config, on_epoch=on_epoch)


def run_study_with_progress(the_study, out_path, executor, quiet: bool, warning: str | None = None,
                            save_models: bool = False):
    """`Study.run` with a bar per arm of each unit; `quiet` draws none (and says no `warning`)."""
    if quiet:
        return the_study.run(out_path, executor, save_models=save_models, progress=False)
    with study_bars(the_study.plan, cli.console, warning) as bars:
        return the_study.run(out_path, executor, bars, save_models=save_models)
