"""A study's units: populations of members that share a condition and an architecture, trained by a worker.

Owns a unit's task and output, the splits every arm of a condition shares, and what each finished
member leaves behind: its final metrics and its diagnosis (regime `unknown` where the diagnosis refuses it).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from goodfit.data import Conditions, Dataset, load, split
from goodfit.data.memory import register
from goodfit.diagnose import diagnose
from goodfit.engine import Member, MemberResult, TrainConfig, train
from goodfit.engine.continuation import Continuation
from goodfit.errors import GoodfitError
from goodfit.executors import TRACEBACK_LINES, Failure
from goodfit.history import History
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, EarlyStopping

CONTROL = "control"  # the A/A control: the baseline again, on seeds of its own
UNDIAGNOSED = "unknown"  # the regime of a member whose history the diagnosis refused; its evidence says why


@dataclass(frozen=True)
class UnitTask:
    """One population to train: members that share a data condition and an architecture. Picklable."""

    plan: dict
    condition: int
    unit: str
    members: tuple  # ((arm dict, seed), ...)
    factory: Callable | None = None  # a user's nn.Module factory, when the plan names one
    cost: float = 1.0  # members x training samples: how an executor weighs units against each other
    member_bytes: int = 0  # memory one member needs while training (0: unknown), for an executor to size by
    dataset: Dataset | None = None  # the data itself when the plan names in-memory data, for a worker to register
    config: TrainConfig | None = None  # the training settings, the user's own optimizer or scheduler included
    fit: Callable | None = None  # the user's training function `fit(settings, seed)`: its members are calls of it

    @property
    def device(self) -> str:
        """The plan's device, `cpu`, `cuda` or `auto`: an executor gives the unit a GPU for the last two."""
        return self.plan["train"]["device"]

    def split(self, sizes: list[int]) -> list["UnitTask"]:
        """The unit cut by member into sub-populations of `sizes` members, in order; each trains as its own population."""
        ends = np.cumsum([0, *sizes])
        return [replace(self, members=self.members[a:b], cost=self.cost * (b - a) / len(self.members))
                for a, b in zip(ends[:-1], ends[1:])]

    def merge(self, outputs: list["UnitOutput"]) -> "UnitOutput":
        """The unit's output from its sub-populations' (in `split` order): members in the unit's order,
        seconds summed (the unit's training time, wherever it ran)."""
        notes = tuple(dict.fromkeys(n for out in outputs for n in out.notes))
        return replace(outputs[0], seconds=sum(out.seconds for out in outputs),
                       results=[r for out in outputs for r in out.results], notes=notes)


@dataclass
class UnitOutput:
    unit: str
    condition: int
    seconds: float
    results: list[MemberResult]
    num_classes: int
    train_size: int | None  # None: a training function's members, whose data goodfit does not see
    kind: str
    notes: tuple = ()  # how training ran, for a person to read (e.g. a module trained member by member)


@lru_cache(maxsize=8)
def dataset_of(data: str, target: str | None, task: str | None = None):
    """The data set a plan names (cached: every unit and condition of a study reads the same one)."""
    return load(data, target, task)


@lru_cache(maxsize=32)
def _splits(data: str, target: str | None, condition_json: str, split_seed: int, draw: int | None,
            task: str | None = None):
    return split(dataset_of(data, target, task), Conditions(**json.loads(condition_json)), split_seed, resample=draw)


def splits_for(plan: dict, condition: int, draw: int | None = None):
    """The splits of one condition of a plan (cached: every arm sees the same data).

    With `resample_splits` in the plan, `draw` (a member's seed) picks that member's own
    train/validation split; the test part is the same for all.
    """
    draw = draw if plan.get("resample_splits") else None
    return _splits(plan["data"], plan["target"], json.dumps(plan["conditions"][condition], sort_keys=True),
                   plan["split_seed"], draw, plan.get("task"))


def seeds_of(plan: dict, arm: str) -> list[int]:
    """The seeds an arm trains with: the plan's, or the control's own."""
    return plan["control_seeds"] if arm == CONTROL and "control_seeds" in plan else plan["seeds"]


def member_key(condition: int, arm: str, seed: int) -> str:
    return f"{condition}/{arm}/{seed}"


def unit_name(condition: int, arch) -> str:
    """A unit's name from its condition and architecture: `c0-mlp-w256-d2`."""
    head = f"c{condition}"
    if arch.arch == "custom":
        return f"{head}-custom-" + ",".join(f"{k}={v}" for k, v in arch.kwargs)
    return f"{head}-{arch.arch}-w{arch.width}-d{arch.depth}"


def run_unit(task: UnitTask, on_epoch: Callable | None = None, continuation: Continuation | None = None) -> UnitOutput:
    """Train one unit; a worker runs this and touches no store. With a `continuation` (in this process),
    members an earlier call trained for fewer epochs train on from where they ended."""
    start = time.perf_counter()
    members = [Member(Arm.from_dict(a), s) for a, s in task.members]
    if task.fit is not None:
        return _run_function(task, members, start)
    model = task.factory or ModelSpec(**task.plan["model"])
    if task.dataset is not None:  # in-memory data: a worker in another process learns its token here
        register(task.dataset)
    splits = splits_for(task.plan, task.condition)
    if task.plan.get("resample_splits"):  # each seed its own train/validation split; one population all the same
        splits = [splits_for(task.plan, task.condition, m.seed) for m in members]
    result = train(splits, members, model, task.config or TrainConfig(**task.plan["train"]), on_epoch=on_epoch,
                   continuation=continuation)
    first = splits[0] if isinstance(splits, list) else splits
    return UnitOutput(task.unit, task.condition, time.perf_counter() - start, result.members, first.num_classes,
                      len(first.y_train), first.kind, tuple(result.notes))


def _judged(plan: dict) -> str:
    """The metric a training function's study judges by: the plan's, else its task's default (its data's class
    counts are the function's, unseen here: accuracy, or RMSE for a regression)."""
    return plan.get("metric") or ("rmse" if plan.get("task") == "regression" else "accuracy")


def _run_function(task: UnitTask, members: list[Member], start: float) -> UnitOutput | Failure:
    """The unit's members trained by calling the user's function, one after another (`goodfit.fit`). A member
    whose function raises is the unit's `Failure`, its error in one line and its traceback's last lines beside
    it: the study records it and goes on."""
    from goodfit.fit import fit_member

    results, notes = [], []
    for member in members:
        try:
            result, scored_on = fit_member(task.fit, member, task.plan["train"]["epochs"], _judged(task.plan))
        except Exception as err:  # noqa: BLE001 - the user's code: recorded, never the end of the study
            return Failure.of(err, TRACEBACK_LINES)
        results.append(result)
        if scored_on == "validation":
            notes.append(f"{result.architecture.name} logged no test score: members are scored on validation at "
                         "their kept epoch")
    return UnitOutput(task.unit, task.condition, time.perf_counter() - start, results, 0, None, "function",
                      tuple(dict.fromkeys(notes)))


def _kept_row(history: pd.DataFrame, result: MemberResult) -> pd.Series:
    """The history row of the epoch whose weights were kept (best for early stopping, else last)."""
    if result.member.arm.get(EarlyStopping) and result.best_epoch is not None:
        return history.set_index("epoch").loc[result.best_epoch]
    return history.set_index("epoch").iloc[-1]


def _undiagnosed(reason: str, result: MemberResult) -> dict:
    """A failed member diagnosis: regime `unknown`, the diagnosis's refusal as its evidence, and nothing
    the diagnosis did not say (no onset, best epoch, gap, advice or confidence)."""
    epochs = int(result.history["epoch"].max())
    evidence = [reason] + ([f"training diverged: its losses were no longer finite by epoch {epochs}"]
                           if result.diverged else [])  # the engine's record, not a verdict
    return {"regime": UNDIAGNOSED, "onset_epoch": None, "best_epoch": None, "gap": {}, "evidence": evidence,
            "advice": [], "confidence": None, "judged_on": None, "epochs": epochs}


def records_of(output: UnitOutput) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """Final metrics and diagnosis of each member of a finished unit, and each member's history by its key."""
    records, histories = [], {}
    for r in output.results:
        key = member_key(output.condition, r.member.arm.name, r.member.seed)
        kept = _kept_row(r.history, r)
        context = {"num_params": r.num_params, "remedies": r.member.arm.words, "train_size": output.train_size,
                   "num_classes": output.num_classes or None, "data_kind": output.kind}  # 0 classes: regression
        try:
            diagnosis = diagnose(History(r.history.assign(member=0), output.num_classes or None), context=context).to_dict()
        except GoodfitError as err:  # the diagnosis refused this history: say so, never guess a regime for it
            diagnosis = _undiagnosed(str(err), r)
        regression = "train_rmse" in kept
        records.append({
            "member": key, "condition": output.condition, "arm": r.member.arm.name, "seed": r.member.seed,
            **r.scores,  # every metric of the task with the kept weights: train_, val_, test_
            "test_accuracy": r.test_accuracy, "test_loss": r.test_loss,
            **({} if regression else {"train_accuracy": float(kept.get("train_accuracy", np.nan)),
                                      "val_accuracy": float(kept.get("val_accuracy", np.nan))}),
            "val_loss": float(kept.get("val_loss", np.nan)),
            "gap": float(r.scores.get("test_rmse", np.nan) - kept["train_rmse"]) if regression
            else float(kept.get("train_accuracy", np.nan) - r.test_accuracy),
            "best_epoch": r.best_epoch, "stopped_epoch": r.stopped_epoch, "diverged": r.diverged,
            "epochs_run": int(r.history["epoch"].max()), "num_params": r.num_params, "frozen_params": r.frozen_params,
            "architecture": r.architecture.to_dict(), "diagnosis": diagnosis,
            **({} if r.scored_on == "test" else {"scored_on": r.scored_on}),
        })
        histories[key] = r.history
    return records, histories
