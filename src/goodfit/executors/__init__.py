"""Where a study's units run: in this process now; a distributed engine can take the same seam.

An executor takes picklable tasks and a work function, and hands each result back to the driver,
which alone writes the store.
"""
from __future__ import annotations

from typing import Callable, Iterable


class LocalExecutor:
    """Runs units one after another in this process, forwarding live progress.

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


EXECUTORS = {"local": LocalExecutor}
