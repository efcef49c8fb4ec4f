"""The study: arms x seeds x conditions on one data set, run through an executor, judged with statistics.

`Study(...).run(out)` trains what the store lacks, then returns a `StudyResult` with the table,
the comparisons and the verdict; with `out` it has `goodfit.report` write results.json and report.html.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from goodfit.data import Conditions, load, split
from goodfit.diagnose import diagnose
from goodfit.engine import Member, MemberResult, TrainConfig, architecture_of, member_bytes, train
from goodfit.engine.continuation import Continuation
from goodfit.errors import GoodfitError
from goodfit.executors import Failure, LocalExecutor, Work
from goodfit.history import History
from goodfit.models import ModelSpec
from goodfit.grammar import BASELINE, parse_arm, parse_arms, parse_seeds
from goodfit.nn.population import MemberSettings
from goodfit.remedies import Arm, Augment, BatchNorm, EarlyStopping
from goodfit.metrics import Metric, default_metric, metric_for
from goodfit.stats import ACCURACY, LOSS, Comparison, compare_to_baseline, detectable_effect, mean_ci, seeds_for
from goodfit.store import Store
from goodfit.words import p_text

CONTROL = "control"  # the A/A control: the baseline again, on seeds of its own
CONTROL_SEEDS = 1_000_000  # a control's seed is this plus the baseline seed it is paired with
ALPHA, POWER = 0.05, 0.8
UNDIAGNOSED = "unknown"  # the regime of a member whose history the diagnosis refused; its evidence says why


# What `goodfit study` runs with no options: an MLP memorizes 300 digits (100% train accuracy,
# about 93% test) within 100 epochs. With each seed on its own split (the CLI's default), 5 seeds
# find differences of about 3 points: shrinking to a quarter is worse, the rest within that.
# clean labels against 20% wrong ones: the seed's story, regularization matters where the data misleads
DEFAULT_STUDY = {"data": "digits", "model": "mlp", "train_size": 300, "epochs": 100, "label_noise": (0.0, 0.2)}
DEFAULT_ARM_NAMES = (BASELINE, "dropout", "l2", "early_stopping", "augment", "batchnorm", "shrink", "all")


def sweep_arms(dropout: list[float] = (), l2: list[float] = (), decay: list[float] = ()) -> list[Arm]:
    """One arm per strength of a remedy, for a validation curve: `dropout=0.3`, `l2=0.0001`, ...

    The same arms as `dropout=0.3,l2=1e-4` in the arm grammar (`goodfit.grammar`).

    Example:
        >>> [a.name for a in sweep_arms(dropout=[0.1, 0.5])]
        ['dropout=0.1', 'dropout=0.5']
    """
    spelled = [f"{name}={v!r}" for name, values in (("dropout", dropout), ("l2", l2), ("decay", decay)) for v in values]
    return [parse_arm(text, "table") for text in spelled]


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
    train_size: int
    kind: str
    notes: tuple = ()  # how training ran, for a person to read (e.g. a module trained member by member)


@lru_cache(maxsize=8)
def _dataset(data: str, target: str | None, task: str | None = None):
    return load(data, target, task)


@lru_cache(maxsize=32)
def _splits(data: str, target: str | None, condition_json: str, split_seed: int, draw: int | None,
            task: str | None = None):
    return split(_dataset(data, target, task), Conditions(**json.loads(condition_json)), split_seed, resample=draw)


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


def run_unit(task: UnitTask, on_epoch: Callable | None = None, continuation: Continuation | None = None) -> UnitOutput:
    """Train one unit; a worker runs this and touches no store. With a `continuation` (in this process),
    members an earlier call trained for fewer epochs train on from where they ended."""
    start = time.perf_counter()
    members = [Member(Arm.from_dict(a), s) for a, s in task.members]
    model = task.factory or ModelSpec(**task.plan["model"])
    splits = splits_for(task.plan, task.condition)
    if task.plan.get("resample_splits"):  # each seed its own train/validation split; one population all the same
        splits = [splits_for(task.plan, task.condition, m.seed) for m in members]
    result = train(splits, members, model, TrainConfig(**task.plan["train"]), on_epoch=on_epoch,
                   continuation=continuation)
    first = splits[0] if isinstance(splits, list) else splits
    return UnitOutput(task.unit, task.condition, time.perf_counter() - start, result.members, first.num_classes,
                      len(first.y_train), first.kind, tuple(result.notes))


def _unit_name(condition: int, arch) -> str:
    head = f"c{condition}"
    if arch.arch == "custom":
        return f"{head}-custom-" + ",".join(f"{k}={v}" for k, v in arch.kwargs)
    return f"{head}-{arch.arch}-w{arch.width}-d{arch.depth}"


def member_key(condition: int, arm: str, seed: int) -> str:
    return f"{condition}/{arm}/{seed}"


class Study:
    """A controlled comparison of remedies on one data set.

    Every arm trains on the same splits with the same seeds, so a difference comes from the
    remedy alone. Members that share a condition and an architecture train as one population.

    Args:
        data: built-in name or path (see `goodfit.load`). Default `digits`.
        model: `auto`, `mlp`, `cnn1d`, `cnn2d`, a `ModelSpec`, or your own factory returning an
            `nn.Module` (see `goodfit.train`). Default `auto`.
        arms: the arms, as `Arm`s (the first must be the baseline: an arm with no remedy named
            `baseline`) or as spelled on the command line (`["dropout=0.5", "augment=shift:0.1"]`,
            see `goodfit.grammar`; the baseline is added first). Default: the baseline, each of
            the six remedies and all combined.
        seeds: number of seeds (0, 1, ...), a range such as `"10-14"`, or the seeds themselves.
            Default 5.
        epochs: epochs per member. Default 100.
        conditions: one or more `Conditions` (several train sizes make a learning curve).
            Default one condition with all data.
        target: label column for CSV or Parquet. Default None.
        train: other training settings (batch size, learning rate, optimizer, device) as a
            `TrainConfig`; its `epochs` is replaced by `epochs`. Default `TrainConfig()`.
        split_seed: seed of the train/validation/test split. Default 0.
        control: add the A/A control arm `control`, the baseline trained on seeds of its own
            (1000000 + each baseline seed), so its difference from the baseline is chance alone:
            the study's noise floor. Default False.
        resample_splits: each seed draws its own train/validation split from the same pool (the
            test set stays fixed), so the intervals include the data's variance; members still
            train as one population, each on its own data. Default False here: one split for all seeds
            (`goodfit study` resamples unless given `--one-split`).
        task: `classification` or `regression`; None decides from the target (see `goodfit.load`).
            Default None.
        metric: what the comparisons judge by (`goodfit.metrics.TASK_METRICS`): `accuracy`,
            `balanced_accuracy`, `macro_f1` or `loss` for classes, `rmse`, `mae`, `r2` or `loss` for
            regression. None: accuracy, balanced accuracy when the smallest training class holds under
            a third of the largest's samples, RMSE for regression. Default None.
        causes: also look for why the model overfits (`goodfit.causes.Causes`: small data, noisy labels,
            imbalance, shift, capacity) on the first condition's training set, with the study's model and
            training settings (each check's members stop 8 epochs after their best held-out loss) and its
            test part for the shift check; `StudyResult.causes` and results.json's `causes` hold what it
            found, `report.html` its section, and `study.db` keeps it for `goodfit report`. Default False.

    Example:
        >>> r = Study("wine", arms=["dropout=0.5"], seeds="3-4", epochs=3, control=True).run()
        >>> list(r.table()["arm"]), sorted(set(r.members["seed"]))
        (['baseline', 'dropout=0.5', 'control'], [3, 4, 1000003, 1000004])
    """

    def __init__(self, data: str = "digits", model: str | ModelSpec | Callable = "auto",
                 arms: list[Arm] | list[str] | None = None, seeds: int | str | list[int] = 5, epochs: int = 100,
                 conditions: list[Conditions] | None = None, target: str | None = None,
                 train: TrainConfig = TrainConfig(), split_seed: int = 0, control: bool = False,
                 resample_splits: bool = False, task: str | None = None, metric: str | None = None,
                 causes: bool = False):
        self.factory = model if callable(model) and not isinstance(model, (str, ModelSpec)) else None
        spec = model if isinstance(model, ModelSpec) else ModelSpec(model) if self.factory is None else None
        seeds = parse_seeds(str(seeds)) if isinstance(seeds, (int, str)) else [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise GoodfitError(f"seeds must be distinct, not negative and at least one, got {seeds}; e.g. --seeds 5")
        conditions = list(conditions or [Conditions()])
        config = TrainConfig(**{**train.to_dict(), "epochs": epochs})
        dataset = _dataset(str(data), target, task)  # fail early on bad data, before anything is trained
        if arms is None:
            arms = parse_arms(",".join(DEFAULT_ARM_NAMES), dataset.kind)
        elif not list(arms):
            raise GoodfitError("arms is empty; give the arms to compare, e.g. arms=['dropout=0.5', 'augment']")
        elif all(isinstance(a, str) for a in arms):
            arms = parse_arms(",".join(arms), dataset.kind)
        arms = [parse_arm(a, dataset.kind) if isinstance(a, str) else a for a in arms]
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise GoodfitError(f"arm names must be distinct, got {', '.join(names)}")
        if arms[0].name != BASELINE or arms[0].remedies:
            raise GoodfitError("the first arm must be the baseline: Arm('baseline') with no remedy")
        if CONTROL in names:
            raise GoodfitError(f"an arm is named {CONTROL!r}, the name of the A/A control; rename it, or use --control")
        for arm in arms:
            if arm.get(Augment):
                arm.get(Augment).check_kind(dataset.kind)
        self.dataset_info = dataset.describe()
        self.plan = {
            "data": str(data), "target": target,
            "model": spec.to_dict() if spec else {"factory": getattr(model, "__qualname__", repr(model))}, "arms": [a.to_dict() for a in arms],
            "seeds": seeds, "conditions": [c.to_dict() for c in conditions], "train": config.to_dict(),
            "split_seed": split_seed,
        }
        if control:  # only when asked, so that the plans (and stores) of earlier studies keep their fingerprint
            if max(seeds) >= CONTROL_SEEDS:
                raise GoodfitError(f"with --control, seeds must stay below {CONTROL_SEEDS}, the control's own range")
            self.plan["arms"].append(Arm(CONTROL).to_dict())
            self.plan["control_seeds"] = [CONTROL_SEEDS + s for s in seeds]
        if resample_splits:
            self.plan["resample_splits"] = True
        if task is not None:  # only when asked, as `control`
            self.plan["task"] = task
        if metric is not None:
            self.plan["metric"] = metric_for(metric, dataset.task).name
        config.loss_for(dataset.task)
        for c in range(len(conditions)):
            splits_for(self.plan, c, seeds[0])  # impossible conditions fail here, before training
        if dataset.task == "classification":  # the default metric follows the training sets' balance
            counts = [splits_for(self.plan, c).describe()["train_class_counts"] for c in range(len(conditions))]
            self.dataset_info["train_class_counts"] = min(counts, key=lambda n: min(n) / max(max(n), 1))
        self.causes = self._causes(spec, config, dataset.task) if causes else None

    def _causes(self, spec: ModelSpec | None, config: TrainConfig, task: str):
        """The causes checks on the first condition's training set, built (and so validated) before anything trains."""
        from goodfit.causes import CLASS_METRICS, Causes, training_set

        if spec is None:
            raise GoodfitError("causes needs a built-in model (mlp, cnn1d, cnn2d or auto), not a factory of your own; "
                               "leave causes out, or run goodfit causes with --model")
        if task != "classification":
            raise GoodfitError(f"{self.plan['data']} has a numeric target; causes looks at classes (noisy labels, "
                               "imbalance): leave out --causes")
        metric = self.plan.get("metric")
        return Causes(training_set(splits_for(self.plan, 0), self.dataset_info.get("name", self.plan["data"])),
                      model=spec, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                      device=config.device, metric=metric if metric in CLASS_METRICS else "accuracy")

    def _found_causes(self, store: Store | None, on_event: Callable[[dict], None] | None) -> dict | None:
        """What the causes checks found: kept in the store once run (the plan fixes their data), else run now."""
        kept = store.meta("causes") if store is not None else None
        if kept is not None or self.causes is None:
            return kept
        from goodfit.causes import planted_noise

        say = (lambda text: on_event({"type": "causes", "step": text})) if on_event else None
        found = self.causes.run(on_event=say)
        payload = {**found.to_dict(), "condition": 0,
                   "planted_noise": planted_noise(found, splits_for(self.plan, 0).noisy)}
        if store is not None:
            store.set_meta("causes", payload)
        return payload

    def power_note(self) -> str | None:
        """Before training: a warning when these seeds cannot find any but huge differences, else None.

        The need is measured in d_z, a difference over the seed-to-seed spread of the paired
        differences, at 80% power for the strictest Holm level (alpha over the comparisons).
        """
        return power_warning(len(self.plan["seeds"]), _comparisons_in(self.plan))

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.plan, sort_keys=True).encode()).hexdigest()[:16]

    def tasks(self) -> list[UnitTask]:
        """The plan cut into units: per condition, one per architecture."""
        tasks = []
        for c in range(len(self.plan["conditions"])):
            splits = splits_for(self.plan, c)
            groups: dict[str, list] = {}
            archs = {}
            for arm_dict in self.plan["arms"]:
                for seed in seeds_of(self.plan, arm_dict["name"]):
                    model = self.factory or ModelSpec(**self.plan["model"])
                    arch = architecture_of(Member(Arm.from_dict(arm_dict), seed), model, splits)
                    archs[_unit_name(c, arch)] = arch
                    groups.setdefault(_unit_name(c, arch), []).append((arm_dict, seed))
            tasks += [UnitTask(self.plan, c, unit, tuple(members), self.factory,
                               cost=float(len(members) * len(splits.y_train)),
                               member_bytes=self._member_bytes(archs[unit], members, splits))
                      for unit, members in groups.items()]
        return tasks

    def _member_bytes(self, arch, members: list, splits) -> int:
        """Memory the unit's largest member needs while training; 0 for a user's factory, not built here to size it."""
        if self.factory is not None:
            return 0
        arms = [Arm.from_dict(a) for a, _ in members]
        settings = MemberSettings(0, batchnorm=any(a.get(BatchNorm) for a in arms))
        own = splits.input_bytes if self.plan.get("resample_splits") else 0
        return member_bytes(arch, settings, splits, TrainConfig(**self.plan["train"]),
                            any(a.get(EarlyStopping) for a in arms)) + own  # with resampled splits, its own data

    def run(self, out: str | Path | None = None, executor=None, on_event: Callable[[dict], None] | None = None,
            command: str | None = None, report: bool = True,
            continuation: Continuation | None = None) -> "StudyResult":
        """Train every unit the store lacks, then judge; with `out`, write the study's files there.

        Args:
            out: folder for `study.db` (resumable), `results.json` and `report.html`, as `goodfit study
                --out` writes them (the last two only when no unit failed); None keeps everything in
                memory. Default None.
            executor: where units run. Default `LocalExecutor()`.
            on_event: progress callback receiving dicts with `type` `unit` (started), `epoch`,
                `unit_done` (with its `notes`) or `unit_failed` (with its `error`). An executor that runs units in other
                processes sends no `epoch` events. Default None.
            command: the command line to record in `results.json` and the report. Default None.
            report: with `out`, render `report.html` too (False: `results.json` alone; `goodfit report
                DIR` writes the report later). Default True.
            continuation: with the local executor, members a study run before with this continuation
                trained for fewer epochs train on from where they ended (`engine.continuation`; the
                same results as training them again), and afterwards it holds this study's. Default None.

        Returns:
            The `StudyResult`; its `failed` names the units that failed (their members are missing
            from it, and running the study again trains them).
        """
        executor = executor or LocalExecutor()
        store = None
        if out is not None:
            Path(out).mkdir(parents=True, exist_ok=True)
            store = Store(Path(out) / "study.db", lock=True)
            store.bind_plan(self.plan)
            store.set_meta("dataset", self.dataset_info)
        done = store.finished_units() if store else set()
        have = store.finished_members() if store else set()  # a store may hold them under other units' names
        todo = []
        for t in self.tasks():
            left = tuple(m for m in t.members if member_key(t.condition, m[0]["name"], m[1]) not in have)
            if t.unit not in done and left:
                todo.append(t if len(left) == len(t.members) else
                            replace(t, members=left, cost=t.cost * len(left) / len(t.members)))
        records, histories, seconds, failed = [], [], [], {}

        def on_result(task: UnitTask, output: UnitOutput | Failure) -> None:
            if isinstance(output, Failure):
                failed[task.unit] = output.error
                if store is not None:
                    store.save_failure(task.unit, output.error, output.detail)
                if on_event:
                    on_event({"type": "unit_failed", "unit": task.unit, "error": output.error})
                return
            recs, hist = _records(output)
            if store is not None:
                store.save_unit(output.unit, output.seconds, recs, hist)
            records.extend(recs)
            seconds.append(output.seconds)
            histories.extend(h.assign(member=k) for k, h in hist.items())
            if on_event:
                on_event({"type": "unit_done", "unit": task.unit, "seconds": output.seconds, "notes": output.notes})

        def on_epoch_for(task: UnitTask):
            arms = [Arm.from_dict(a).name for a, _ in task.members]
            if on_event:
                on_event({"type": "unit", "unit": task.unit, "condition": task.condition, "arms": arms,
                          "epochs": self.plan["train"]["epochs"]})

            def on_epoch(info: dict) -> None:
                if on_event:
                    on_event({"type": "epoch", "unit": task.unit, "epoch": info["epoch"],
                              "arms": [arms[i] for i in info["members"]], "metrics": info["metrics"]})
            return on_epoch

        work = run_unit
        if continuation is not None and isinstance(executor, LocalExecutor):
            work = partial(run_unit, continuation=continuation)
        executor.run(todo, Work(work, on_epoch_for), on_result)
        causes = self._found_causes(store, on_event)
        if store is not None:
            records, frame, seconds = store.records(), store.history(), list(store.unit_seconds().values())
            failed = store.failures()
            store.close()
        else:
            frame = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame()
        result = StudyResult(self.plan, self.dataset_info, records, frame, sum(seconds), len(todo), failed,
                             causes=causes)
        if out is not None and not failed:
            from goodfit.report.outputs import write_outputs

            result.files = write_outputs(result, out, command=command, report=report)
        return result


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


def _records(output: UnitOutput) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """Final metrics and diagnosis of each member of a finished unit."""
    records, histories = [], {}
    for r in output.results:
        key = member_key(output.condition, r.member.arm.name, r.member.seed)
        kept = _kept_row(r.history, r)
        used = [type(x).key for x in r.member.arm.remedies]
        context = {"num_params": r.num_params, "remedies": used, "train_size": output.train_size,
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
            **({} if regression else {"train_accuracy": float(kept["train_accuracy"]),
                                      "val_accuracy": float(kept["val_accuracy"])}),
            "val_loss": float(kept["val_loss"]),
            "gap": float(r.scores.get("test_rmse", np.nan) - kept["train_rmse"]) if regression
            else float(kept["train_accuracy"] - r.test_accuracy),
            "best_epoch": r.best_epoch, "stopped_epoch": r.stopped_epoch, "diverged": r.diverged,
            "epochs_run": int(r.history["epoch"].max()), "num_params": r.num_params,
            "architecture": r.architecture.to_dict(), "diagnosis": diagnosis,
        })
        histories[key] = r.history
    return records, histories


def _counted(n: int, noun: str) -> str:
    """`1 comparison`, `3 comparisons`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _comparisons_in(plan: dict) -> int:
    """How many arms are compared with the baseline (the control is judged on its own)."""
    return sum(a["name"] not in (BASELINE, CONTROL) for a in plan["arms"])


def power_warning(seeds: int, comparisons: int) -> str | None:
    """A warning when `seeds` cannot find any but huge differences among `comparisons` (Holm), else None.

    Example:
        >>> power_warning(10, 3) is None
        True
        >>> print(power_warning(3, 7))
        with 3 seeds and 7 comparisons (Holm), practically no difference can be called significant: it would have to be 8.7 times the seed-to-seed spread of its paired differences to be found 80% of the time; --seeds 17 finds one as large as its spread
    """
    if comparisons == 0:
        return None
    enough = seeds_for(1.0, ALPHA / comparisons)
    if seeds < 2:
        return (f"with {seeds} seed no difference can be tested: a comparison needs two seeds or more; --seeds {enough} "
                "finds a difference as large as its seed-to-seed spread")
    need = detectable_effect(seeds, ALPHA / comparisons)
    if need <= 3.0:
        return None
    size = ("no difference, however large against the seed-to-seed spread of its paired differences, is found 80% "
            "of the time" if not np.isfinite(need) else
            f"it would have to be {need:.1f} times the seed-to-seed spread of its paired differences to be found 80% "
            "of the time")
    return (f"with {seeds} seeds and {_counted(comparisons, 'comparison')} (Holm), practically no difference can be "
            f"called significant: {size}; --seeds {enough} finds one as large as its spread")


def base_score(table: pd.DataFrame) -> float:
    """The baseline's judged score in a condition's rows of `StudyResult.table()`."""
    return float(table[table["arm"] == BASELINE]["score"].iloc[0])


def describe_condition(condition: dict) -> str:
    """How a condition reads in a sentence: ' with 300 training samples, 30% label noise'.

    Example:
        >>> describe_condition({"train_size": 300, "label_noise": 0.3, "imbalance": 1.0})
        ' with 300 training samples, 30% label noise'
    """
    parts = []
    if condition.get("train_size"):
        parts.append(f"{condition['train_size']} training samples")
    if condition.get("label_noise"):
        parts.append(f"{condition['label_noise']:.0%} label noise")
    if condition.get("imbalance", 1.0) < 1.0:
        parts.append(f"class imbalance {condition['imbalance']:g}")
    return " with " + ", ".join(parts) if parts else ""


def _better_and_worse(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table rows significantly better and significantly worse than the baseline, largest gain first."""
    sig = rows[rows["significant"].astype(bool)].sort_values("gain", ascending=False)
    return sig[sig["gain"] > 0], sig[sig["gain"] < 0]


def condition_names(conditions: list[dict]) -> list[str]:
    """Each condition named by what sets it apart from the others, for a sentence that spans them.

    Example:
        >>> condition_names([{"train_size": 300, "label_noise": 0.0}, {"train_size": 300, "label_noise": 0.2}])
        ['on clean labels', 'with 20% wrong labels']
        >>> condition_names([{"train_size": 100}, {"train_size": 1000}])
        ['with 100 training samples', 'with 1000 training samples']
    """
    def differs(key, default):
        return len({c.get(key) if c.get(key) is not None else default for c in conditions}) > 1

    names = []
    for c in conditions:
        parts = []
        if differs("train_size", None):
            parts.append(f"with {c['train_size']} training samples" if c.get("train_size") else "with all the data")
        if differs("label_noise", 0.0):
            parts.append(f"with {c['label_noise']:.0%} wrong labels" if c.get("label_noise") else "on clean labels")
        if differs("imbalance", 1.0):
            parts.append(f"at class imbalance {c['imbalance']:g}" if c.get("imbalance", 1.0) < 1.0 else
                         "on balanced classes")
        names.append(" ".join(parts) or describe_condition(c).strip() or "on all the data")
    return names


@dataclass
class StudyResult:
    """What a study found: per member records and histories, per arm aggregates, comparisons, verdict.

    `seconds` is the training time of all units (however many runs it took); `units_trained` counts
    the units this run trained (or tried to); `failed` maps each unit that failed to its error.
    Members come in the plan's order (condition, arm, seed), whatever order the units finished in.
    """

    plan: dict
    dataset: dict
    records: list[dict]
    history: pd.DataFrame = field(repr=False)
    seconds: float = 0.0
    units_trained: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # what `Study.run(out)` wrote: results, report, store
    causes: dict | None = None  # what `Study(causes=True)` found (`goodfit causes --json`'s shape), else None

    def __post_init__(self):
        arm_at = {a["name"]: i for i, a in enumerate(self.plan["arms"])}
        seed_at = {s: i for i, s in enumerate(self.plan["seeds"])}
        self._paired = dict(zip(self.plan.get("control_seeds", []), self.plan["seeds"]))  # control seed -> its pair
        seed_at |= {s: seed_at[b] for s, b in self._paired.items()}
        self.records = sorted(self.records, key=lambda r: (r["condition"], arm_at[r["arm"]], seed_at[r["seed"]]))
        self.members = pd.DataFrame(self.records)
        self.arm_names = [a["name"] for a in self.plan["arms"]]
        self._power: dict[int, dict] = {}

    def __repr__(self) -> str:
        """One line: what was compared, on what, how many members; `verdict`, `table()` and `members` hold the rest."""
        return (f"StudyResult(data={self.dataset.get('name')!r}, arms={self.arm_names}, seeds={self.plan['seeds']}, "
                f"conditions={len(self.plan['conditions'])}, members={len(self.records)}, metric={self.metric.name!r}, "
                f"failed={len(self.failed)})")

    @classmethod
    def from_store(cls, out: str | Path) -> "StudyResult":
        """Rebuild the result of a study from its `study.db`, training nothing."""
        path = Path(out) / "study.db"
        if not path.is_file():
            raise GoodfitError(f"no study.db in {str(out)!r}; pass the --out folder of a goodfit study")
        store = Store(path)
        try:
            plan, dataset, records, frame = store.plan(), store.meta("dataset"), store.records(), store.history()
            causes = store.meta("causes")
            seconds = sum(store.unit_seconds().values())
            running = store.running()
        finally:
            store.close()
        then = f"{running} is training it; run goodfit report again when it ends" if running else \
            "run the study command again to train them"
        if plan is None or not records:
            raise GoodfitError(f"{path} holds no finished members yet; {then}")
        if len(judged := {r["condition"] for r in records if r["arm"] == BASELINE}) < len(plan["conditions"]):
            raise GoodfitError(f"{path} holds a finished baseline for {len(judged)} of {len(plan['conditions'])} "
                               f"conditions yet; {then}")
        return cls(plan, dataset, records, frame, seconds, causes=causes)

    @property
    def conditions(self) -> list[dict]:
        return self.plan["conditions"]

    @property
    def metric(self) -> Metric:
        """What the comparisons judge by: the plan's `metric`, else the task's default (`metrics.default_metric`)."""
        task = (self.dataset or {}).get("task", "classification")
        name = self.plan.get("metric") or default_metric(task, (self.dataset or {}).get("train_class_counts")
                                                         or (self.dataset or {}).get("class_counts"))[0]
        return metric_for(name, task)

    @property
    def judged(self) -> str:
        """The members' column the comparisons use: `test_<metric>`."""
        return f"test_{self.metric.name}"

    def _by_arm(self, condition: int, metric: str) -> dict[str, dict[int, float]]:
        """Per arm, the metric per seed; the control's seeds are given as the baseline seeds they pair with."""
        rows = self.members[self.members["condition"] == condition]
        return {arm: {self._paired.get(s, s): v for s, v in zip(g["seed"], g[metric])}
                for arm, g in rows.groupby("arm", sort=False)}

    def comparisons(self, condition: int = 0, metric: str | None = None) -> list[Comparison]:
        """Every arm against the baseline on one condition, paired by seed, Holm-corrected together,
        on the members' column `metric` (default the judged one, `judged`).

        The A/A control is not one of them (see `control`): it is a check of the study, not a remedy.
        """
        metric = metric or self.judged
        by_arm = self._by_arm(condition, metric)
        ordered = {a: by_arm[a] for a in self.arm_names if a in by_arm and a != CONTROL}
        return compare_to_baseline(ordered, BASELINE, metric)

    def control(self, condition: int = 0, metric: str | None = None) -> Comparison | None:
        """The A/A control against the baseline, on its own (not Holm-adjusted), or None without one.

        Both train the same way on different seeds, so the difference is chance alone: the noise
        floor. A significant control (about one study in twenty by chance) means the seeds cannot
        be trusted to separate the arms.
        """
        by_arm = self._by_arm(condition, metric or self.judged)
        if CONTROL not in by_arm or BASELINE not in by_arm:
            return None
        return compare_to_baseline({BASELINE: by_arm[BASELINE], CONTROL: by_arm[CONTROL]}, BASELINE, metric)[0]

    def power(self, condition: int = 0) -> dict:
        """What this study could detect: the smallest d_z found 80% of the time at the strictest Holm
        level, and the smallest difference in accuracy that makes (`detectable_difference`, a
        fraction) from the seed-to-seed spread of the paired differences, pooled over the arms and
        the control (`spread`, the root mean square of their standard deviations; NaN when unknown)."""
        if condition not in self._power:
            comps = self.comparisons(condition)
            n, m = int(self.table_seeds(condition)), len(comps)
            alpha = ALPHA / max(1, m)
            need = detectable_effect(n, alpha, POWER)
            control = self.control(condition)
            spreads = [c.spread for c in comps + ([control] if control else []) if np.isfinite(c.spread)]
            spread = float(np.sqrt(np.mean(np.square(spreads)))) if spreads else float("nan")
            self._power[condition] = {
                "seeds": n, "comparisons": m, "alpha": alpha, "power": POWER, "detectable_effect_size": need,
                "spread": spread, "detectable_difference": need * spread if np.isfinite(need) else float("inf"),
                "seeds_for_effect_size_1": seeds_for(1.0, alpha, POWER),
            }
        return self._power[condition]

    def table_seeds(self, condition: int = 0) -> int:
        """The number of baseline seeds that finished on a condition."""
        rows = self.members[(self.members["condition"] == condition) & (self.members["arm"] == BASELINE)]
        return len(rows)

    def table(self) -> pd.DataFrame:
        """One row per condition and arm: test accuracy and loss with 95% CIs (kept within what the
        quantity can take), the paired difference against the baseline with its Holm-adjusted 95%
        interval (`diff_low`, `diff_high`: it excludes zero exactly when `significant`) and
        Holm-corrected p, the gap, the best epoch, the regime. The A/A control's row, if any, comes
        last; its interval and p are its own, not adjusted. `all_equal` marks a difference that was
        the same for every seed (an interval of no width)."""
        rows = []
        for c in range(len(self.conditions)):
            comps = {x.arm: x for x in self.comparisons(c)}
            control = self.control(c)
            if control is not None:
                comps[CONTROL] = control
            sub = self.members[self.members["condition"] == c]
            for arm in self.arm_names:
                g = sub[sub["arm"] == arm]
                if g.empty:
                    continue
                acc, loss = mean_ci(g["test_accuracy"], scale=ACCURACY), mean_ci(g["test_loss"], scale=LOSS)
                score = mean_ci(g[self.judged], scale=self.metric.scale)
                gap = mean_ci(g["gap"], scale=(-1.0, 1.0) if "train_accuracy" in g else (None, None))
                regimes = pd.Series([d["regime"] for d in g["diagnosis"]]).value_counts()
                comp = comps.get(arm)
                rows.append({
                    "condition": c, "train_size": self.conditions[c]["train_size"], "arm": arm, "seeds": len(g),
                    "role": arm if arm in (BASELINE, CONTROL) else "remedy",
                    "metric": self.metric.name, "score": score.mean, "score_low": score.low, "score_high": score.high,
                    "test_accuracy": acc.mean, "test_accuracy_low": acc.low, "test_accuracy_high": acc.high,
                    "test_loss": loss.mean, "test_loss_low": loss.low, "test_loss_high": loss.high,
                    "diff": comp.difference.mean if comp else None,
                    "gain": self.metric.gain(comp.difference.mean) if comp else None,
                    "diff_low": comp.adjusted.low if comp else None,
                    "diff_high": comp.adjusted.high if comp else None,
                    "all_equal": bool(comp.difference.all_equal) if comp else None,
                    "p_holm": comp.p_holm if comp else None, "significant": bool(comp.significant) if comp else None,
                    "effect_size": comp.effect_size if comp else None,
                    "gap": gap.mean,
                    "train_accuracy": float(g["train_accuracy"].mean()) if "train_accuracy" in g else None,
                    "train_clean_accuracy": (float(g["train_clean_accuracy"].mean())  # under goodfit's label noise
                                             if "train_clean_accuracy" in g and g["train_clean_accuracy"].notna().all()
                                             else None),
                    "best_epoch": float(np.nanmedian(g["best_epoch"].astype(float))),
                    "regime": regimes.index[0], "regime_agreement": f"{regimes.iloc[0]}/{len(g)}",
                    "diverged": int(g["diverged"].sum()),
                })
        return pd.DataFrame(rows)

    def verdict_for(self, condition: int = 0) -> str:
        """One sentence: what helped, by how much and how sure we are, or that nothing differed."""
        t = self.table()
        t = t[t["condition"] == condition]
        m = self.metric
        reached = f"{m.value(base_score(t))} test {m.label}"
        base = t[t["arm"] == BASELINE].iloc[0]
        n = int(base["seeds"])
        where = f"{self.dataset['name']}" + describe_condition(self.conditions[condition])
        others = t[t["arm"] != BASELINE]
        if n < 2 or others.empty:
            return (f"On {where}, the baseline reached {reached}; "
                    "comparisons need at least two seeds and one arm besides the baseline.")
        control = others[others["arm"] == CONTROL]
        others = others[others["arm"] != CONTROL]
        if others.empty:
            return (f"On {where}, the baseline reached {reached}; "
                    "comparisons need at least one arm besides the baseline.")
        significant = others["significant"].astype(bool)
        better, worse = _better_and_worse(others)

        def describe(r) -> str:
            if r["all_equal"]:
                return f"{r['arm']} ({m.change(r['diff'])} on every seed, {p_text(r['p_holm'])} after Holm)"
            return (f"{r['arm']} ({m.change(r['diff'])}, Holm-adjusted 95% CI {m.change(r['diff_low'], False)} to "
                    f"{m.change(r['diff_high'], False)}, {p_text(r['p_holm'])} after Holm)")

        head = f"On {where}, over {n} seeds, against the baseline's {reached}: "
        if better.empty and worse.empty:
            top = others.loc[others["gain"].abs().sort_values(ascending=False).index].iloc[0]
            found = (head + f"no remedy made a significant difference; the largest change was {top['arm']} "
                     f"({m.change(top['diff'])}, {p_text(top['p_holm'])} after Holm).")
        else:
            parts = []
            if not better.empty:
                parts.append(f"{describe(better.iloc[0])} helped most" +
                             (f"; also better: {', '.join(better['arm'].iloc[1:])}" if len(better) > 1 else ""))
            if not worse.empty:
                parts.append("significantly worse: " + ", ".join(f"{r['arm']} ({m.change(r['diff'], False)})"
                                                                 for _, r in worse.iterrows()))
            rest = others[~significant]["arm"].tolist()
            if rest:
                parts.append(f"no significant difference for {', '.join(rest)}")
            found = head + "; ".join(parts) + "."
        return " ".join([found, *self._floor_sentences(condition, control)])

    def _floor_sentences(self, condition: int, control: pd.DataFrame) -> list[str]:
        """What chance alone does here: the A/A control's difference, and the smallest detectable difference."""
        said, m = [], self.metric
        if not control.empty:
            r = control.iloc[0]
            if r["all_equal"]:
                spread = f"{m.change(r['diff'])} on every seed"
            else:
                spread = (f"{m.change(r['diff'])}, 95% CI {m.change(r['diff_low'], False)} to "
                          f"{m.change(r['diff_high'], False)}, {p_text(r['p_holm'])}")
            if r["significant"]:
                said.append(f"WARNING: the A/A control, the baseline on other seeds, differs significantly from the "
                            f"baseline ({spread}): chance alone moves results this much here, so the verdict above "
                            "cannot be trusted; add seeds" + ("." if self.plan.get("resample_splits") else
                                                              " or resample the splits (--resample-splits)."))
            else:
                said.append(f"Noise floor: the A/A control, the baseline on other seeds, differs by {spread} "
                            "(no significant difference, as it should).")
        power = self.power(condition)
        t = self.table()
        base = base_score(t[t["condition"] == condition])
        room = (max(m.high - base, base - m.low) if m.low is not None and m.high is not None and np.isfinite(base)
                else float("inf"))  # the largest difference the metric's range leaves the baseline
        if not power["spread"] > 1e-9:  # no spread, up to rounding in the last bits
            said.append("Every seed moved every arm by the same amount, so the seeds show no spread to judge "
                        "the smallest detectable difference from.")
        elif np.isfinite(power["detectable_difference"]) and power["detectable_difference"] <= room:
            found = power["detectable_difference"]
            size = f"{found * 100:.1f} points" if m.percent else m.value(found)
            said.append(f"With {power['seeds']} seeds and {_counted(power['comparisons'], 'comparison')}, "
                        f"differences of {size} or more are found 80% of the time "
                        f"(from the seeds' observed spread).")
        elif power["comparisons"]:
            said.append(f"With {power['seeds']} seeds and {_counted(power['comparisons'], 'comparison')}, no "
                        f"realistic difference could be found; --seeds {power['seeds_for_effect_size_1']} finds one as large as its "
                        "seed-to-seed spread.")
        return said

    def summary(self) -> str | None:
        """Across several conditions, one sentence: what mattered in each ("on clean labels no remedy mattered;
        with 20% wrong labels, all (+13.5 points), augment (+12.1) ... gained"); None for one condition."""
        if len(self.conditions) < 2:
            return None
        t, m, parts = self.table(), self.metric, []
        for c, name in enumerate(condition_names(self.conditions)):
            rows = t[(t["condition"] == c) & ~t["arm"].isin([BASELINE, CONTROL])]
            if rows.empty or rows["p_holm"].isna().all():
                return None  # a condition without comparisons (one seed): the per-condition verdicts say why
            better, worse = _better_and_worse(rows)
            base = m.value(base_score(t[t["condition"] == c]))
            if better.empty:
                said = f"{name} no remedy beat the baseline's {base}"
            else:
                gains = [f"{r['arm']} ({m.change(r['diff'], unit=k == 0)})" for k, (_, r) in enumerate(better.iterrows())]
                listed = gains[0] if len(gains) == 1 else ", ".join(gains[:-1]) + " and " + gains[-1]
                said = f"{name}, {listed} beat the baseline's {base}"
            if not worse.empty:
                said += " (worse: " + ", ".join(f"{r['arm']} {m.change(r['diff'], unit=False)}"
                                                for _, r in worse.iterrows()) + ")"
            parts.append(said)
        significant = t["significant"].fillna(False).astype(bool).any()
        return ("In short: " + "; ".join(parts) +
                (" (significant after Holm, details per condition below)." if significant else
                 " (details per condition below)."))

    @property
    def verdict(self) -> str:
        head = self.summary()
        return " ".join(([head] if head else []) + [self.verdict_for(c) for c in range(len(self.conditions))])

    def to_dict(self) -> dict:
        """The `results.json` payload: plan, data, per-arm aggregates, comparisons, members, verdict."""
        table = self.table()
        return {
            "goodfit": "results/1",
            "plan": self.plan,
            "dataset": self.dataset,
            "verdict": self.verdict,
            "verdicts": [self.verdict_for(c) for c in range(len(self.conditions))],
            "arms": json.loads(table.to_json(orient="records")),
            "comparisons": [[x.to_dict() for x in self.comparisons(c)] for c in range(len(self.conditions))],
            "controls": [None if self.control(c) is None else self.control(c).to_dict() for c in range(len(self.conditions))],
            "power": [self.power(c) for c in range(len(self.conditions))],
            "splits": "resampled per seed" if self.plan.get("resample_splits") else "one split for all seeds",
            "members": json.loads(self.members.to_json(orient="records")),
            **({"causes": self.causes} if self.causes is not None else {}),
        }

    def plot(self):
        """The study's figures (test accuracy with CIs, learning curves per arm, the gap over epochs, ...).

        Returns:
            A dict of matplotlib figures by key (see `goodfit.report.figures.study_figures`) that a
            notebook shows as pictures with their titles.
        """
        from goodfit.report.notebook import study_plot

        return study_plot(self)

    def _repr_html_(self) -> str:
        from goodfit.report.notebook import study_html

        return study_html(self)
