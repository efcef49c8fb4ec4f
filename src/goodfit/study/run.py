"""Running a study: the units its store lacks go to an executor, each finished one is stored, then the result.

Only this driver writes the store (whole units only) and, with `save_models`, each member's weights beside it
(`out/models`); workers run `units.run_unit` and touch nothing.
It is handed the plan and its units (`plan.Study` cuts them) and knows nothing of who made them; the
files a person reads beside the store (results.json, report.html) are the report's (`goodfit.report.outputs`).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from goodfit.atomic import write_atomic
from goodfit.engine.continuation import Continuation
from goodfit.executors import Failure, LocalExecutor, Work
from goodfit.remedies import Arm
from goodfit.store import Store
from goodfit.study.reference import reference_of
from goodfit.study.result import MODELS, MODELS_INDEX, StudyResult, judged_metric, saved_models
from goodfit.study.units import UnitOutput, UnitTask, member_key, records_of, run_unit, splits_for


def _found_causes(plan: dict, causes, store: Store | None, on_event: Callable[[dict], None] | None) -> dict | None:
    """What the `causes` checks (a `goodfit.causes.Causes`, or None) found: kept in the store once run (the plan
    fixes their data), else run now."""
    kept = store.meta("causes") if store is not None else None
    if kept is not None or causes is None:
        return kept
    from goodfit.causes import planted_noise

    say = (lambda text: on_event({"type": "causes", "step": text})) if on_event else None
    found = causes.run(on_event=say)
    payload = {**found.to_dict(), "condition": 0,
               "planted_noise": planted_noise(found, splits_for(plan, 0).noisy)}
    if store is not None:
        store.set_meta("causes", payload)
    return payload


def _kept_reference(plan: dict, dataset: dict, store: Store | None) -> dict:
    """The study's classical reference (`reference.reference_of`): kept in the store once computed (the plan fixes
    its splits and seeds), else computed now, once per condition and seed, in this process."""
    kept = store.meta("reference") if store is not None else None
    if kept is not None:
        return kept
    found = reference_of(plan, dataset, judged_metric(plan, dataset))
    if store is not None:
        store.set_meta("reference", found)
    return found


def _model_file(condition: int, arm: str, seed: int) -> str:
    """A member's weights file, a safe name whatever the arm's (`=`, `:`, `,`, `+`), with a hash of the arm's
    name so that two arms never share one.

    Example:
        >>> _model_file(1, "augment=shift:0.1+noise:0.05", 3)
        'c1-augment_shift_0.1_noise_0.05-1784638a-s3.pt'
    """
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", arm).strip("_")[:48]
    return f"c{condition}-{slug}-{hashlib.sha256(arm.encode()).hexdigest()[:8]}-s{seed}.pt"


def _save_models(folder: Path, output: UnitOutput) -> None:
    """Each member of a finished unit's kept weights, a plain state dict `torch.save`d, and `index.json` listing
    them with those already there; every file written whole (`write_atomic`)."""
    folder.mkdir(exist_ok=True)
    index = saved_models(folder)
    for r in output.results:
        name = _model_file(output.condition, r.member.arm.name, r.member.seed)
        write_atomic(folder / name, lambda p, state=r.state_dict: torch.save(state, p))
        index.setdefault(str(output.condition), {}).setdefault(r.member.arm.name, {})[str(r.member.seed)] = name
    write_atomic(folder / MODELS_INDEX, json.dumps(index, indent=1) + "\n")


def _todo(tasks: list[UnitTask], done: set, have: set) -> list[UnitTask]:
    """The units still to train, each cut to the members the store does not hold (under any unit's name)."""
    todo = []
    for t in tasks:
        left = tuple(m for m in t.members if member_key(t.condition, m[0]["name"], m[1]) not in have)
        if t.unit not in done and left:
            todo.append(t if len(left) == len(t.members) else
                        replace(t, members=left, cost=t.cost * len(left) / len(t.members)))
    return todo


def run_study(plan: dict, dataset: dict, tasks: list[UnitTask], causes=None, out: str | Path | None = None,
              executor=None, on_event: Callable[[dict], None] | None = None,
              continuation: Continuation | None = None, save_models: bool = False, notes: list[str] = (),
              reference: bool = True) -> StudyResult:
    """Train every unit of `tasks` the store lacks, then judge; `notes`, what was said before training, lead the
    result's notes.

    `plan`, `dataset` (its description), `tasks` (the plan cut into units) and `causes` (the causes checks, or
    None) are a `Study`'s; the other arguments are `Study.run`'s. The result holds the weights of every member
    trained now; with `save_models` (and `out`) each finished unit's are written to `out/models` too. With
    `reference` (a `Study`'s), a classical model is fitted on the same splits and seeds after the units
    (`goodfit.study.reference`) and kept in the store's meta.
    """
    executor = executor or LocalExecutor()
    store = None
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        store = Store(Path(out) / "study.db", lock=True)
        store.bind_plan(plan)
        store.set_meta("dataset", dataset)
    todo = _todo(tasks, store.finished_units() if store else set(), store.finished_members() if store else set())
    records, histories, seconds, failed, states = [], [], [], {}, {}
    said = list(store.meta("notes") or []) if store is not None else []  # how training ran, kept with the study

    def keep_notes(new) -> None:
        added = [n for n in dict.fromkeys(new) if n not in said]
        said.extend(added)
        if store is not None and added:
            store.set_meta("notes", said)

    keep_notes(notes)  # what was said before training (a keyword the factory ignores)

    def on_result(task: UnitTask, output: UnitOutput | Failure) -> None:
        if isinstance(output, Failure):
            failed[task.unit] = output.error
            if store is not None:
                store.save_failure(task.unit, output.error, output.detail)
            if on_event:
                on_event({"type": "unit_failed", "unit": task.unit, "error": output.error})
            return
        recs, hist = records_of(output)
        if save_models and out is not None:  # before the store: a member the store holds has its file
            _save_models(Path(out) / MODELS, output)
        states.update({member_key(output.condition, r.member.arm.name, r.member.seed): r.state_dict
                       for r in output.results})
        if store is not None:
            store.save_unit(output.unit, output.seconds, recs, hist)
        records.extend(recs)
        seconds.append(output.seconds)
        keep_notes(output.notes)
        histories.extend(h.assign(member=k) for k, h in hist.items())
        if on_event:
            on_event({"type": "unit_done", "unit": task.unit, "seconds": output.seconds, "notes": output.notes})

    def on_epoch_for(task: UnitTask):
        arms = [Arm.from_dict(a).name for a, _ in task.members]
        if on_event:
            on_event({"type": "unit", "unit": task.unit, "condition": task.condition, "arms": arms,
                      "epochs": plan["train"]["epochs"]})

        def on_epoch(info: dict) -> None:
            if on_event:
                on_event({"type": "epoch", "unit": task.unit, "epoch": info["epoch"],
                          "arms": [arms[i] for i in info["members"]], "metrics": info["metrics"]})
        return on_epoch

    work = run_unit
    if continuation is not None and isinstance(executor, LocalExecutor):
        work = partial(run_unit, continuation=continuation)
    executor.run(todo, Work(work, on_epoch_for), on_result)
    found = _found_causes(plan, causes, store, on_event)
    kept = _kept_reference(plan, dataset, store) if reference else None
    if store is not None:
        records, frame, seconds = store.records(), store.history(), list(store.unit_seconds().values())
        failed = store.failures()
        store.close()
    else:
        frame = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame()
    return StudyResult(plan, dataset, records, frame, sum(seconds), len(todo), failed, causes=found, notes=said,
                       states=states,
                       models=Path(out) / MODELS if out is not None else None,
                       factory=next((t.factory for t in tasks), None), reference=kept)
