"""A study's units in worker processes on this machine: `ProcessExecutor(workers=N)`, `--workers N`.

Each worker is a process of its own (forked, as a DataLoader's workers are, or spawned once CUDA is in use)
holding its share of the CPUs (torch's threads and OpenMP's set to it), or one GPU where GPUs exist
(`CUDA_VISIBLE_DEVICES`). Tasks travel pickled by value (cloudpickle, as Ray sends them), so a training
function defined in a notebook cell or a script's `__main__` runs in a spawned worker too. The driver alone
writes the store, each unit as it comes back.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Callable, Iterable

import cloudpickle

from goodfit.errors import GoodfitError
from goodfit.executors import TRACEBACK_LINES, Failure

RETRIES = 1  # times a unit whose worker died is tried again in a fresh pool


def _start_worker(threads: int, gpus: list[str], counter) -> None:
    """In each new worker: its share of the CPUs, and its GPU when there are some."""
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    import torch

    torch.set_num_threads(threads)


def _run_pickled(blob: bytes):
    """In a worker: the task and its work, unpickled; an exception comes back as a `Failure` with the
    traceback's last lines, as a Ray worker sends it."""
    function, task = cloudpickle.loads(blob)
    try:
        return function(task, None)
    except Exception as err:  # noqa: BLE001 - any error of the unit is recorded in the study
        return Failure.of(err, TRACEBACK_LINES)


@contextmanager
def _main_left_alone():
    """Meanwhile the main module names no file and no module: a spawned worker would otherwise run a script's top
    level again (a script without `if __name__ == "__main__"` would start the study in every worker). Units
    travel by value, so workers need nothing of the main module."""
    main = sys.modules["__main__"]
    had_file, file, spec = hasattr(main, "__file__"), getattr(main, "__file__", None), getattr(main, "__spec__", None)
    try:
        if had_file:
            del main.__file__
        main.__spec__ = None
        yield
    finally:
        if had_file:
            main.__file__ = file
        main.__spec__ = spec


def _start_method() -> str:
    """`fork` where it is safe, as a DataLoader starts its workers: a worker begins with torch already imported,
    at once (a spawned one takes seconds to import it again); `spawn` once CUDA is initialized (a forked
    child cannot use it) or where fork is not offered."""
    import multiprocessing

    import torch

    if "fork" in multiprocessing.get_all_start_methods() and not torch.cuda.is_initialized():
        return "fork"
    return "spawn"


def _gpus() -> list[str]:
    """The GPUs a worker may be given, one each: `CUDA_VISIBLE_DEVICES`'s, or all torch sees."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [g for g in given.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


class ProcessExecutor:
    """Runs units in `workers` processes at once on this machine.

    Args:
        workers: processes running units side by side. Each gets `cpu_count // workers` threads (at least
            one), and where GPUs exist one of them, round robin. Default 2.

    A unit that raises comes back as a `Failure` (its error and the traceback's last lines) and the others
    go on. A worker that dies (killed, out of memory) breaks the pool: the units not yet back are tried again
    in a fresh one (`RETRIES` times), then recorded as failed, and running the study again trains only those.

    Example:
        >>> got = []
        >>> ProcessExecutor(workers=2).run([1, 2], lambda task, on_epoch: task * 10,
        ...                                lambda task, out: got.append(out))  # doctest: +SKIP
        >>> sorted(got)  # doctest: +SKIP
        [10, 20]
    """

    name = "processes"

    def __init__(self, workers: int = 2):
        if int(workers) != workers or workers < 1:
            raise GoodfitError(f"workers must be a whole number >= 1, got {workers}; e.g. --workers 2")
        self.workers = int(workers)

    def _pool(self) -> ProcessPoolExecutor:
        context = get_context(_start_method())
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                   initargs=(threads, _gpus(), context.Value("i", 0)))

    def run(self, tasks: Iterable, work: Callable, on_result: Callable, on_epoch: Callable | None = None) -> None:
        function = getattr(work, "function", work)
        blobs = []
        for task in tasks:
            try:
                blobs.append((task, cloudpickle.dumps((function, task))))
            except Exception as err:  # noqa: BLE001 - what cannot travel to a worker, said before anything runs
                raise GoodfitError(f"the study's units cannot be sent to worker processes ({type(err).__name__}: "
                                   f"{str(err).splitlines()[0] if str(err) else ''}); build what the training "
                                   "function holds (models, trainers, open files) inside it, or run with workers=1"
                                   ) from None
        pending, tries = list(blobs), {}
        while pending:
            pool, broken = self._pool(), []
            try:
                running = {}
                with _main_left_alone():  # the pool starts its workers as tasks are submitted
                    for task, blob in pending:
                        if tries.get(id(task)) is None and hasattr(work, "started"):
                            work.started(task)
                        running[pool.submit(_run_pickled, blob)] = (task, blob)
                for future in as_completed(running):
                    task, blob = running[future]
                    try:
                        out = future.result()
                    except BrokenProcessPool:  # a worker died (killed, out of memory): every unfinished unit
                        broken.append((task, blob))  # of this pool comes back so, and is tried again once
                        continue
                    on_result(task, out)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            pending = []
            for task, blob in broken:
                tries[id(task)] = tries.get(id(task), 0) + 1
                if tries[id(task)] > RETRIES:
                    on_result(task, Failure(f"the worker process running it died {RETRIES + 1} times"))
                else:
                    pending.append((task, blob))
