"""A study's units as Ray tasks: on a local Ray runtime, or on a cluster that already runs Ray.

Each unit runs as one task on a worker, or, when it is owed more than one worker, as several
tasks of a sub-population each (`sizing.sub_units`), merged when all are back; the driver alone
writes the store, whole units only. ray is an optional extra (`pip install "goodfit[ray]"`), imported only
when a study runs here.
"""
from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from contextlib import nullcontext
from typing import Callable, Iterable

from goodfit.errors import GoodfitError
from goodfit.executors import Failure, one_line
from goodfit.executors.ray_token import authenticated

JOIN_ATTEMPTS = 3  # joining retries only a client session that failed to start
from goodfit.executors.sizing import sub_units

_RUNNING = object()  # a sub-task's output slot until it is back


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
        return Failure.of(err)


class RayExecutor:
    """Runs each unit of a study as Ray tasks, on a local Ray runtime or an existing cluster.

    Without `address` it starts a Ray runtime on this machine for the duration of `run` (unless
    this process already called `ray.init`, whose runtime it then uses); with `address` it joins
    that cluster, with the user's token when it requires one (`ray_token.authenticated`). Units are
    submitted at once, costliest first, and Ray schedules them over the workers. A unit owed more
    than one worker (its share of the cluster's CPUs spans several nodes, or several GPUs, or its
    members exceed a node's memory) is cut by member into sub-populations (`sizing.sub_units`), each
    a task of its own, when the task can be cut (it has `split(sizes)` and `merge(outputs)`); the
    sub-populations' outputs are merged into the unit's when all are back. Each task asks for the
    CPUs (and GPU) its part of the share gives it, and its worker sets torch's threads to that.
    Results come back unit by unit and `on_result` runs in the driver. A task whose worker dies
    (or whose node dies) is retried up to `max_retries` times; a unit that raises, or whose
    retries run out, reaches `on_result` as a `Failure` (the first failed sub-population's) and
    the others go on. Live progress is per unit: `work.started(task)` runs when a unit is
    submitted; epochs are not reported back.

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
        for attempt in range(JOIN_ATTEMPTS):
            try:
                with warnings.catch_warnings():  # a failed connection also warns; the error below says it all
                    warnings.simplefilter("ignore", UserWarning)
                    ray.init(address=self.address, logging_level=logging.ERROR)
                return True
            except (ConnectionError, RuntimeError, ValueError) as err:
                # A busy client server can fail to start the session it spawns for this client
                # ("Initialization failure from server"); that passes, an unreachable cluster does not.
                if "Initialization failure" in str(err) and attempt + 1 < JOIN_ATTEMPTS:
                    time.sleep(2.0 * (attempt + 1))
                    continue
                raise GoodfitError(
                    f"could not join the Ray cluster at {self.address!r} ({one_line(err)}); check that it "
                    "is up and pass its address, e.g. --address ray://HEAD:10001") from None
        return True

    def run(self, tasks: Iterable, work: Callable, on_result: Callable, on_epoch: Callable | None = None) -> None:
        """Run every task on Ray and hand each output (or `Failure`) to `on_result` in the driver.

        Args:
            tasks: picklable tasks; a task's `cost` weighs it against the others, its `device`
                (when it has one) asks for a GPU, its `members` and `member_bytes` size its
                sub-populations, made with its `split` and merged with its `merge`.
            work: `(task, on_epoch) -> output`, picklable; a `goodfit.executors.Work` runs its
                `function` on the workers and its `started` here.
            on_result: `(task, output)`, called in the driver as each task finishes.
            on_epoch: not used: epochs run on the workers and are not reported back. Default None.
        """
        tasks = list(tasks)
        if not tasks:
            return
        import ray

        with nullcontext() if ray.is_initialized() else authenticated(self.address):
            started_here = self._connect(ray)
            try:
                self._run(ray, tasks, getattr(work, "function", work), getattr(work, "started", None), on_result)
            finally:
                if started_here:
                    ray.shutdown()

    def _parts(self, ray, tasks: list) -> list[tuple]:
        """Each task (costliest first) with its sub-tasks and the CPUs and GPUs each asks for."""
        cluster = ray.cluster_resources()
        node = max((n["Resources"] for n in ray.nodes() if n["Alive"]), key=lambda r: r.get("CPU", 0), default={})
        costs = [float(getattr(task, "cost", 1.0)) for task in tasks]
        parts = []
        for task, cost in sorted(zip(tasks, costs), key=lambda tc: -tc[1]):
            can_split = hasattr(task, "split") and hasattr(task, "merge")
            members = len(task.members) if can_split else 1
            plan = sub_units(members, cost / sum(costs), cluster, node, getattr(task, "member_bytes", 0),
                             getattr(task, "device", "cpu"))
            parts.append((task, task.split(plan.sizes) if len(plan.sizes) > 1 else [task], plan.cpus, plan.gpus))
        return parts

    def _run(self, ray, tasks: list, function: Callable, started: Callable | None, on_result: Callable) -> None:
        remote = ray.remote(_on_worker)
        pending, outputs = {}, {}
        for task, subtasks, cpus, gpus in self._parts(ray, tasks):
            options = {"num_cpus": cpus, "num_gpus": gpus, "max_retries": self.max_retries}
            outputs[id(task)] = [_RUNNING] * len(subtasks)
            for i, sub in enumerate(subtasks):
                pending[remote.options(**options).remote(function, sub, cpus)] = (task, i)
            if started is not None:
                started(task)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            task, i = pending.pop(done[0])
            got = outputs[id(task)]
            got[i] = self._output(ray, done[0])
            if not any(out is _RUNNING for out in got):
                failed = [out for out in got if isinstance(out, Failure)]
                on_result(task, failed[0] if failed else got[0] if len(got) == 1 else task.merge(got))

    def _output(self, ray, ref):
        """A finished task's output, or a `Failure` when Ray could not run it."""
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as err:  # the worker died on every try, or the task never ran
            cause = getattr(err, "cause", None) or err
            died = isinstance(err, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                                    ray.exceptions.OutOfMemoryError))
            tries = f" (its worker died {self.max_retries + 1} time(s))" if died else ""
            return Failure(one_line(cause) + tries, str(err))
