"""Where a study's units run: in this process, or on a Ray cluster (`goodfit.executors.ray`).

An executor takes picklable tasks and a work function, and hands each result back to the driver,
which alone writes the store.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Callable, Iterable

from goodfit.errors import GoodfitError


@dataclass(frozen=True)
class Work:
    """The work an executor does per task, in the two forms executors need.

    `function(task, on_epoch)` is plain and picklable: what a worker in another process runs.
    `started(task)` runs in the driver when a task begins: it announces the task and returns the
    task's live `on_epoch` callback (or None). Calling the `Work` runs a task here with live
    progress, `function(task, started(task))`; that is all an in-process executor needs.

    Args:
        function: `(task, on_epoch) -> output`, picklable.
        started: `(task) -> on_epoch or None`, called in the driver. Default: announces nothing.

    Example:
        >>> seen = []
        >>> work = Work(lambda task, on_epoch: task * 10, started=lambda task: seen.append(task))
        >>> work(4), seen
        (40, [4])
    """

    function: Callable
    started: Callable = lambda task: None

    def __call__(self, task, on_epoch: Callable | None = None):
        return self.function(task, self.started(task) or on_epoch)


TRACEBACK_LINES = 12  # of a user's code's traceback, what a failure keeps beside its one line


@dataclass(frozen=True)
class Failure:
    """What an executor hands to `on_result` instead of an output when a task failed for good.

    Args:
        error: one line, `ExceptionType: message`.
        detail: the traceback or the engine's account of what happened. Default "".
    """

    error: str
    detail: str = ""

    @classmethod
    def of(cls, err: BaseException, lines: int | None = None) -> "Failure":
        """The failure of the exception being handled: `one_line(err)`, and its traceback, the last `lines` of it
        when given (what a user's own code raised, read without the layers of goodfit's own calls)."""
        trace = traceback.format_exc()
        if lines is not None:
            trace = "".join(trace.splitlines(keepends=True)[-lines:])
        return cls(one_line(err), trace)


def one_line(err: BaseException) -> str:
    """`ExceptionType: first line of its message`, at most 300 characters.

    Example:
        >>> one_line(ValueError("bad value")), one_line(KeyError())
        ('ValueError: bad value', 'KeyError')
    """
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300].rstrip(": ")


class LocalExecutor:
    """Runs units one after another in this process, forwarding live progress.

    An exception in a unit stops the study with its traceback; units already handed to
    `on_result` are kept (the store resumes from them).

    Example:
        >>> got = []
        >>> LocalExecutor().run([1, 2], lambda task, on_epoch: task * 10, lambda task, out: got.append(out))
        >>> got
        [10, 20]
    """

    name = "local"

    def run(self, tasks: Iterable, work: Callable, on_result: Callable, on_epoch: Callable | None = None) -> None:
        for task in tasks:
            on_result(task, work(task, on_epoch))


def _ray_executor(**options):
    """A `RayExecutor`, imported only when asked for: `import goodfit` never imports ray."""
    from goodfit.executors.ray import RayExecutor

    return RayExecutor(**options)


def _process_executor(workers: int = 2):
    """A `ProcessExecutor`, imported only when asked for."""
    from goodfit.executors.processes import ProcessExecutor

    return ProcessExecutor(workers)


EXECUTORS = {"local": LocalExecutor, "ray": _ray_executor}


def executor_for(name: str, address: str | None = None, workers: int | None = None):
    """The executor `name` (`local` or `ray`, as `--executor` takes it), joined to the Ray cluster at `address`
    (`--address`, e.g. `ray://head:10001`) when given; None starts Ray on this machine. On this machine, `workers`
    above 1 (`--workers`) runs units in that many processes at once (`processes.ProcessExecutor`).

    Example:
        >>> executor_for("local").name, executor_for("local", workers=2).name
        ('local', 'processes')
    """
    if name not in EXECUTORS:
        raise GoodfitError(f"executor {name!r} is unknown; use one of {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise GoodfitError(f"--address {address} names a Ray cluster; add --executor ray to run there")
    if workers is not None and (int(workers) != workers or workers < 1):
        raise GoodfitError(f"workers must be a whole number >= 1, got {workers}; e.g. --workers 2")
    if workers is not None and workers > 1:
        if name != "local":
            raise GoodfitError("--workers runs units in processes on this machine; Ray gives each unit its share of "
                               "the cluster itself: leave --workers out with --executor ray")
        return _process_executor(workers)
    return EXECUTORS[name](**({"address": address} if address is not None else {}))
