"""A study's units as Ray tasks: on a local Ray runtime, or on a cluster that already runs Ray.

Each unit runs as one task on a worker and comes back to the driver as it finishes; the driver
alone writes the store. ray is an optional extra (`pip install "goodfit[ray]"`), imported only
when a study runs here.
"""
from __future__ import annotations

import importlib.util
import math
import logging
import traceback
import warnings
from typing import Callable, Iterable

from goodfit.errors import GoodfitError
from goodfit.executors import Failure

GPU_DEVICES = ("cuda", "auto")  # a unit asking for one of these takes a GPU when the cluster has any


def _one_line(err: BaseException) -> str:
    """`ExceptionType: first line of its message`, at most 300 characters."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:300].rstrip(": ")


def _on_worker(function: Callable, task, threads: int):
    """Runs on a Ray worker: train one task with `threads` torch threads; an exception comes back as a `Failure`.

    Catching it here keeps a unit that fails deterministically from being retried (Ray retries only
    a task whose worker died) and brings its message back in one line, with the traceback beside it.
    """
    import torch

    torch.set_num_threads(threads)
    try:
        return function(task, None)
    except Exception as err:  # any error of the unit is recorded in the study, not raised in the driver
        return Failure(_one_line(err), traceback.format_exc())


def unit_resources(cluster: dict, largest_node_cpus: float, share: float, device: str) -> tuple[int, int]:
    """CPUs and GPUs one unit asks Ray for.

    A unit that may use a GPU (`device` cuda or auto) takes one GPU and one CPU when the cluster
    has GPUs. Otherwise it takes its `share` of the cluster's CPUs (its cost over all units'
    costs), rounded up, at least one and at most a whole node: of two equal units on 16 CPUs each
    takes 8; of 40, each takes 1; a unit with 70% of a study's work on 2 CPUs takes both.
    The worker sets torch's threads to that number.

    Args:
        cluster: `ray.cluster_resources()`, e.g. `{"CPU": 16.0, "GPU": 2.0}`.
        largest_node_cpus: CPUs of the largest node, the most one task can get.
        share: the unit's fraction of the study's work, in (0, 1].
        device: the plan's device, `cpu`, `cuda` or `auto`.

    Returns:
        `(num_cpus, num_gpus)` per task.

    Example:
        >>> unit_resources({"CPU": 16.0}, 8.0, share=0.5, device="cpu")
        (8, 0)
        >>> unit_resources({"CPU": 2.0}, 2.0, share=0.7, device="cpu"), unit_resources({"CPU": 2.0}, 2.0, 0.3, "cpu")
        ((2, 0), (1, 0))
        >>> unit_resources({"CPU": 16.0, "GPU": 2.0}, 8.0, share=0.025, device="auto")
        (1, 1)
    """
    if cluster.get("GPU", 0) >= 1 and device in GPU_DEVICES:
        return 1, 1
    cpus = math.ceil(cluster.get("CPU", 1) * share - 1e-9)
    return max(1, min(cpus, int(largest_node_cpus))), 0


class RayExecutor:
    """Runs each unit of a study as a Ray task, on a local Ray runtime or an existing cluster.

    Without `address` it starts a Ray runtime on this machine for the duration of `run` (unless
    this process already called `ray.init`, whose runtime it then uses); with `address` it joins
    that cluster. Units are submitted at once, costliest first, and Ray schedules them over the
    workers, each with the CPUs (and GPU) `unit_resources` gives it for its share of the work.
    Results come back as they finish and
    `on_result` runs in the driver. A task whose worker dies is retried up to `max_retries` times;
    a unit that raises, or whose retries run out, reaches `on_result` as a `Failure` and the others
    go on. Live progress is per unit: `work.started(task)` runs when a unit is submitted; epochs
    are not reported back.

    Args:
        address: a Ray cluster to join, e.g. `ray://head:10001` (Ray client) or `auto` on a node
            of the cluster. Default None: start a runtime on this machine.
        num_cpus: CPUs of the local runtime; only without `address`. Default None: all of them.
        max_retries: times a task is retried after its worker died. Default 3.

    Example:
        >>> got = []
        >>> RayExecutor(num_cpus=2).run([1, 2], lambda task, on_epoch: task * 10,
        ...                             lambda task, out: got.append(out))  # doctest: +SKIP
        >>> sorted(got)  # doctest: +SKIP
        [10, 20]
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3):
        if importlib.util.find_spec("ray") is None:
            raise GoodfitError('the ray executor needs Ray, which is not installed; pip install "goodfit[ray]"')
        if address is not None and num_cpus is not None:
            raise GoodfitError("num_cpus sizes a Ray runtime started here; a cluster joined at an address has its own")
        if num_cpus is not None and num_cpus < 1:
            raise GoodfitError(f"num_cpus must be at least 1, got {num_cpus}")
        if max_retries < 0:
            raise GoodfitError(f"max_retries must be 0 or more, got {max_retries}")
        self.address, self.num_cpus, self.max_retries = address, num_cpus, max_retries

    def _connect(self, ray) -> bool:
        """Start or join a Ray runtime unless this process has one; True when this call started it."""
        if ray.is_initialized():
            return False
        if self.address is None:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)
            return True
        try:
            with warnings.catch_warnings():  # a failed connection also warns; the error below says it all
                warnings.simplefilter("ignore", UserWarning)
                ray.init(address=self.address, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise GoodfitError(f"could not join the Ray cluster at {self.address!r} ({_one_line(err)}); check that it "
                               "is up and pass its address, e.g. --address ray://HEAD:10001") from None
        return True

    def run(self, tasks: Iterable, work: Callable, on_result: Callable, on_epoch: Callable | None = None) -> None:
        """Run every task on Ray and hand each output (or `Failure`) to `on_result` in the driver.

        Args:
            tasks: picklable tasks; a task's `device` attribute (when it has one) asks for a GPU.
            work: `(task, on_epoch) -> output`, picklable; a `goodfit.executors.Work` runs its
                `function` on the workers and its `started` here.
            on_result: `(task, output)`, called in the driver as each task finishes.
            on_epoch: not used: epochs run on the workers and are not reported back. Default None.
        """
        tasks = list(tasks)
        if not tasks:
            return
        import ray

        started_here = self._connect(ray)
        try:
            self._run(ray, tasks, getattr(work, "function", work), getattr(work, "started", None), on_result)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray, tasks: list, function: Callable, started: Callable | None, on_result: Callable) -> None:
        cluster = ray.cluster_resources()
        largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=1)
        remote = ray.remote(_on_worker)
        pending = {}
        costs = [float(getattr(task, "cost", 1.0)) for task in tasks]
        # the costliest units first, so the long ones start early and short ones fill the gaps after
        for task, cost in sorted(zip(tasks, costs), key=lambda tc: -tc[1]):
            cpus, gpus = unit_resources(cluster, largest, cost / sum(costs), getattr(task, "device", "cpu"))
            options = {"num_cpus": cpus, "num_gpus": gpus, "max_retries": self.max_retries}
            pending[remote.options(**options).remote(function, task, cpus)] = task
            if started is not None:
                started(task)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(done[0])
            try:
                output = ray.get(done[0])
            except ray.exceptions.RayError as err:  # the worker died on every try, or the task never ran
                cause = getattr(err, "cause", None) or err
                died = isinstance(err, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                                        ray.exceptions.OutOfMemoryError))
                tries = f" (its worker died {self.max_retries + 1} time(s))" if died else ""
                output = Failure(_one_line(cause) + tries, str(err))
            on_result(task, output)
