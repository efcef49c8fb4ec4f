"""The plan of a study: arms x seeds x conditions on one data set, and the units it is cut into.

`Study(...)` checks and fixes the plan (nothing trains); `Study.default()` is what `goodfit study` runs with
no options; `Study.run(out)` hands the plan and its units to `goodfit.study.run`.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from goodfit.data import Conditions
from goodfit.data.dataset import TASKS
from goodfit.data.memory import in_memory, source_of
from goodfit.engine import Member, TrainConfig, architecture_of, member_bytes
from goodfit.engine.members import model_keywords
from goodfit.engine.continuation import Continuation
from goodfit.fit import function_name
from goodfit.errors import GoodfitError
from goodfit.grammar import ALL, BASELINE, SINGLES, parse_arm, parse_arms, parse_seeds
from goodfit.metrics import metric_for
from goodfit.models import ModelSpec
from goodfit.nn.module_architecture import ignored_keywords
from goodfit.nn.population import MemberSettings
from goodfit.remedies import Arm, Augment, BatchNorm, EarlyStopping
from goodfit.study.progress import with_progress
from goodfit.study.result import StudyResult
from goodfit.study.run import run_study
from goodfit.study.units import CONTROL, UnitTask, dataset_of, seeds_of, splits_for, unit_name

CONTROL_SEEDS = 1_000_000  # a control's seed is this plus the baseline seed it is paired with

# What `goodfit study` runs with no options (`Study.default()`): an MLP memorizes 300 digits (100% train
# accuracy, about 93% test) within 100 epochs, on clean labels and on 20% wrong ones: regularization matters
# where the data misleads. Each seed on its own split, 5 seeds find differences of about 3 points.
DEFAULT_STUDY = {"data": "digits", "model": "mlp", "train_size": 300, "epochs": 100, "label_noise": (0.0, 0.2)}
DEFAULT_ARM_NAMES = (BASELINE, *SINGLES, ALL)  # the baseline, each of the six classic remedies alone, all six


def sweep_arms(dropout: list[float] = (), l2: list[float] = (), decay: list[float] = ()) -> list[Arm]:
    """One arm per strength of a remedy, for a validation curve: `dropout=0.3`, `l2=0.0001`, ...

    The same arms as `dropout=0.3,l2=1e-4` in the arm grammar (`goodfit.grammar`).

    Example:
        >>> [a.name for a in sweep_arms(dropout=[0.1, 0.5])]
        ['dropout=0.1', 'dropout=0.5']
    """
    spelled = [f"{name}={v!r}" for name, values in (("dropout", dropout), ("l2", l2), ("decay", decay)) for v in values]
    return [parse_arm(text, "table") for text in spelled]


class Study:
    """A controlled comparison of remedies on one data set.

    Every arm trains on the same splits with the same seeds, so a difference comes from the
    remedy alone. Members that share a condition and an architecture train as one population.

    Args:
        data: built-in name or path, or data in memory: `(X, y)` of arrays, tensors or lists, a
            DataFrame with `target`, `{"train": (X, y), "test": (X, y)}` or a map-style torch dataset
            (see `goodfit.load`). In-memory data is named in the plan by a token of its contents
            (`memory:<name>:<hash>`), so the same arrays give the same fingerprint. Default `digits`.
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
        optimizer, scheduler, scheduler_interval, clip_grad: the training's own, in place of `train`'s (see
            `TrainConfig`): `optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4, weight_decay=0.05)`,
            `scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)`, stepped per
            epoch or per batch (`scheduler_interval="step"`), `clip_grad=1.0`. Every member trains with them; the
            plan records what they build. Default None: `train`'s.
        reference: also fit a classical model from scikit-learn (logistic regression or gradient boosting for
            classes, ridge or gradient boosting for numbers, picked on validation) on each condition and seed's
            split, scored on the same test rows as the members (`goodfit.study.reference`); `StudyResult.reference`
            and results.json's `reference` hold it, the tables show it as a row `reference (...)`, not tested
            against the baseline. Images and sequences have one only under the MLP. Default True.

    Example:
        >>> r = Study("wine", arms=["dropout=0.5"], seeds="3-4", epochs=3, control=True).run()
        >>> list(r.table()["arm"]), sorted(set(r.members["seed"]))
        (['baseline', 'dropout=0.5', 'control'], [3, 4, 1000003, 1000004])
    """

    def __init__(self, data="digits", model: str | ModelSpec | Callable = "auto",
                 arms: list[Arm] | list[str] | None = None, seeds: int | str | list[int] = 5, epochs: int = 100,
                 conditions: list[Conditions] | None = None, target: str | None = None,
                 train: TrainConfig = TrainConfig(), split_seed: int = 0, control: bool = False,
                 resample_splits: bool = False, task: str | None = None, metric: str | None = None,
                 causes: bool = False, optimizer: str | Callable | None = None, scheduler: str | Callable | None = None,
                 scheduler_interval: str | None = None, clip_grad: float | None = None, fit: Callable | None = None,
                 reference: bool = True):
        seeds = parse_seeds(str(seeds)) if isinstance(seeds, (int, str)) else [int(s) for s in seeds]
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise GoodfitError(f"seeds must be distinct, not negative and at least one, got {seeds}; e.g. --seeds 5")
        self.fit = fit
        self.reference = reference
        self.warnings: list[str] = []  # said before training: a keyword the user's factory ignores
        if fit is not None:
            self._of_function(fit, None if data == "digits" else data, arms, seeds, epochs, conditions, split_seed,
                              control, task, metric, causes)
            return
        self.factory = model if callable(model) and not isinstance(model, (str, ModelSpec)) else None
        spec = model if isinstance(model, ModelSpec) else ModelSpec(model) if self.factory is None else None
        conditions = list(conditions or [Conditions()])
        config = replace(train, epochs=epochs).with_training(optimizer=optimizer, scheduler=scheduler,
                                                             scheduler_interval=scheduler_interval, clip_grad=clip_grad)
        self.config = config  # with the user's own optimizer or scheduler, which the plan only describes
        data = source_of(data, target, task)  # data in memory: registered, named by its token
        dataset = dataset_of(data, target, task)  # fail early on bad data, before anything is trained
        arms = _checked_arms(arms, dataset.kind)
        self.dataset_info = dataset.describe()
        self.plan = {
            "data": data, "target": target,
            "model": spec.to_dict() if spec else {"factory": getattr(model, "__qualname__", repr(model))}, "arms": [a.to_dict() for a in arms],
            "seeds": seeds, "conditions": [c.to_dict() for c in conditions], "train": config.to_dict(),
            "split_seed": split_seed,
        }
        if control:  # only when asked, so that the plans (and stores) of earlier studies keep their fingerprint
            self._add_control(seeds)
        if resample_splits:
            self.plan["resample_splits"] = True
        if task is not None:  # only when asked, as `control`
            self.plan["task"] = task
        if metric is not None:
            self.plan["metric"] = metric_for(metric, dataset.task).name
        config.loss_for(dataset.task)
        for c in range(len(conditions)):
            splits_for(self.plan, c, seeds[0])  # impossible conditions fail here, before training
        self.dataset_info["test_rows"] = int(len(splits_for(self.plan, 0, seeds[0]).y_test))  # alike in every condition
        if dataset.task == "classification":  # the default metric follows the training sets' balance
            counts = [splits_for(self.plan, c).describe()["train_class_counts"] for c in range(len(conditions))]
            self.dataset_info["train_class_counts"] = min(counts, key=lambda n: min(n) / max(max(n), 1))
        self.causes = self._causes(spec, config, dataset.task) if causes else None
        self.warnings = _ignored_by_factory(self.factory, arms, dataset.input_shape) if self.factory else []
        for said in self.warnings:
            warnings.warn(said, stacklevel=2)

    def _add_control(self, seeds: list[int]) -> None:
        if max(seeds) >= CONTROL_SEEDS:
            raise GoodfitError(f"with --control, seeds must stay below {CONTROL_SEEDS}, the control's own range")
        self.plan["arms"].append(Arm(CONTROL).to_dict())
        self.plan["control_seeds"] = [CONTROL_SEEDS + s for s in seeds]

    def _of_function(self, fit: Callable, data, arms, seeds: list[int], epochs: int, conditions, split_seed: int,
                     control: bool, task: str | None, metric: str | None, causes: bool) -> None:
        """A study whose members are calls of the user's `fit(settings, seed)` (`goodfit.fit`): the function holds
        the data and the model, so the plan names them only by the function's name (and `data`'s, when given)."""
        if not callable(fit):
            raise GoodfitError(f"fit must be a function fit(settings, seed) that trains one member and returns its "
                               f"history, got a {type(fit).__name__}")
        if conditions is not None or causes:
            raise GoodfitError("a study of a training function has no conditions or causes of its own: the function "
                               "holds the data; leave conditions and causes out")
        if task is not None and task not in TASKS:
            raise GoodfitError(f"task {task!r} is unknown; use classification or regression")
        self.factory, self.config, self.causes = None, TrainConfig(epochs=epochs), None
        name = function_name(fit)
        label = str(data) if data is not None else name
        task = task or "classification"
        self.dataset_info = {"name": label, "kind": "function", "task": task, "samples": None, "input_shape": [],
                             "classes": [], "fixed_test_set": False}
        self.plan = {"data": label, "target": None, "model": {"arch": "function", "fit": name},
                     "arms": [a.to_dict() for a in _checked_arms(arms, "table")], "seeds": seeds,
                     "conditions": [Conditions().to_dict()], "train": {"epochs": epochs, "device": "cpu"},
                     "split_seed": split_seed, "fit": name, "task": task}
        if control:
            self._add_control(seeds)
        if metric is not None:
            self.plan["metric"] = metric_for(metric, task).name

    @classmethod
    def default(cls, train_size: Sequence[int | None] | None = None, label_noise: Sequence[float] | None = None,
                imbalance: float = 1.0, **changes) -> "Study":
        """The study `goodfit study` runs: with no arguments the embedded one, each argument given replacing its part.

        The embedded study is `DEFAULT_STUDY`: digits, the MLP, 300 training samples, clean labels and 20%
        wrong ones, 100 epochs, the default arms over 5 seeds, each seed on its own split (`resample_splits`).

        Args:
            train_size: training-set sizes, one condition each (times each `label_noise`). Default 300 on
                the embedded data, all of it on data you name.
            label_noise: fractions of wrong training labels, one condition each. Default 0 and 0.2 on the
                embedded data, 0 on data you name.
            imbalance: the class imbalance of every condition. Default 1.0 (balanced).
            **changes: any other argument of `Study` (`conditions` instead of the three above); None keeps
                the default. Naming `data` leaves the settings made for digits (the MLP, 300 samples, wrong
                labels) for `Study`'s own (`auto`, all the data, clean labels), as `goodfit study --data` does.

        Example:
            >>> s = Study.default()
            >>> s.plan["model"]["arch"], [(c["train_size"], c["label_noise"]) for c in s.plan["conditions"]]
            ('mlp', [(300, 0.0), (300, 0.2)])
            >>> Study.default(data="wine", seeds=2).plan["conditions"][0]["train_size"] is None
            True
        """
        given = {k: v for k, v in changes.items() if v is not None}
        if "conditions" in given and (train_size or label_noise or imbalance != 1.0):
            raise GoodfitError("give conditions, or train_size, label_noise and imbalance to build them, not both")
        embedded = "data" not in given
        sizes = list(train_size or ([DEFAULT_STUDY["train_size"]] if embedded else [None]))
        noises = list(label_noise or (DEFAULT_STUDY["label_noise"] if embedded else [0.0]))
        settings = {"data": DEFAULT_STUDY["data"], "epochs": DEFAULT_STUDY["epochs"], "resample_splits": True,
                    **({"model": DEFAULT_STUDY["model"]} if embedded else {}),
                    "conditions": [Conditions(train_size=n, label_noise=q, imbalance=imbalance)
                                   for n in sizes for q in noises]}
        return cls(**{**settings, **given})

    def _causes(self, spec: ModelSpec | None, config: TrainConfig, task: str):
        """The causes checks on the first condition's training set, as the study trains: its model (a factory of
        the user's included), its training settings (optimizer, schedule, clipping, loss) and its metric where
        causes can use it; rows named as the user's file has them. Built (and so validated) before anything trains."""
        from goodfit.causes import CLASS_METRICS, TARGET_METRICS, Causes, training_set

        splits = splits_for(self.plan, 0)
        metric = self.plan.get("metric")
        usable = TARGET_METRICS if task == "regression" else CLASS_METRICS
        return Causes(training_set(splits, self.dataset_info.get("name", self.plan["data"])),
                      model=spec if spec is not None else self.factory, epochs=config.epochs,
                      metric=metric if metric in usable else None, train=config, rows=splits.train_rows,
                      test_rows=splits.test_rows)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.plan, sort_keys=True).encode()).hexdigest()[:16]

    def tasks(self) -> list[UnitTask]:
        """The plan cut into units: per condition, one per architecture; a training function's, one per member."""
        if self.fit is not None:  # each member its own unit: stored as it finishes, run where a worker is free
            return [UnitTask(self.plan, 0, f"c0-fit-{arm['name']}-{seed}", ((arm, seed),), fit=self.fit)
                    for arm in self.plan["arms"] for seed in seeds_of(self.plan, arm["name"])]
        tasks = []
        for c in range(len(self.plan["conditions"])):
            splits = splits_for(self.plan, c)
            groups: dict[str, list] = {}
            archs = {}
            for arm_dict in self.plan["arms"]:
                for seed in seeds_of(self.plan, arm_dict["name"]):
                    model = self.factory or ModelSpec(**self.plan["model"])
                    arch = architecture_of(Member(Arm.from_dict(arm_dict), seed), model, splits)
                    archs[unit_name(c, arch)] = arch
                    groups.setdefault(unit_name(c, arch), []).append((arm_dict, seed))
            tasks += [UnitTask(self.plan, c, unit, tuple(members), self.factory,
                               cost=float(len(members) * len(splits.y_train)),
                               member_bytes=self._member_bytes(archs[unit], members, splits), config=self.config,
                               dataset=in_memory(self.plan["data"]))
                      for unit, members in groups.items()]
        return tasks

    def _member_bytes(self, arch, members: list, splits) -> int:
        """Memory the unit's largest member needs while training; 0 for a user's factory, not built here to size it."""
        if self.factory is not None:
            return 0
        arms = [Arm.from_dict(a) for a, _ in members]
        settings = MemberSettings(0, batchnorm=any(a.get(BatchNorm) for a in arms))
        own = splits.input_bytes if self.plan.get("resample_splits") else 0
        return member_bytes(arch, settings, splits, self.config,
                            any(a.get(EarlyStopping) for a in arms)) + own  # with resampled splits, its own data

    def run(self, out: str | Path | None = None, executor=None, on_event: Callable[[dict], None] | None = None,
            continuation: Continuation | None = None, save_models: bool = False,
            workers: int | None = None, progress: bool | None = None) -> "StudyResult":
        """Train every unit the store lacks, then judge; with `out`, keep each finished unit in `out/study.db`.

        Args:
            out: folder for `study.db`, the resumable store (run again, a study trains only what it lacks);
                None keeps everything in memory. `goodfit.write_outputs(result, out)` writes `results.json`
                and `report.html` beside it, as `goodfit study --out` does. Default None.
            executor: where units run. Default `LocalExecutor()`.
            on_event: progress callback receiving dicts with `type` `unit` (started), `epoch`,
                `unit_done` (with its `notes`) or `unit_failed` (with its `error`). An executor that runs units in other
                processes sends no `epoch` events. Default None.
            continuation: with the local executor, members a study run before with this continuation
                trained for fewer epochs train on from where they ended (`engine.continuation`; the
                same results as training them again), and afterwards it holds this study's. Default None.
            workers: units run in this many processes at once on this machine, each with its share of the CPUs
                (or a GPU each where there are some): a training function's members side by side. Default None:
                the executor's way (one after another here).
            save_models: with `out`, write each member's kept weights (a plain state dict, `torch.save`) to
                `out/models/` as its unit finishes, listed in `out/models/index.json` (condition, arm, seed to
                file), so that `StudyResult.from_store(out).module(...)` gives the trained modules back; members
                a resumed run does not train again keep their files. Default False: only the returned result
                holds the weights, of the members this run trained.
            progress: draw a bar per arm of each unit (rich, on stderr) with the epoch's metrics, and each unit's
                notes as it finishes (how a module was run). Default None: when a person is watching, in a
                terminal or a notebook, and no `on_event` is given; True or False to choose.

        Returns:
            The `StudyResult`; its `failed` names the units that failed (their members are missing
            from it, and running the study again trains them); `module(arm, seed)` gives a member's trained module.
        """
        if workers is not None:
            if executor is not None:
                raise GoodfitError("give workers or an executor, not both")
            from goodfit.executors import executor_for

            executor = executor_for("local", workers=workers)
        if save_models and out is None:
            raise GoodfitError("save_models writes the weights beside study.db; pass out, the folder to keep them in")
        def run(events):
            return run_study(self.plan, self.dataset_info, self.tasks(), self.causes, out, executor, events,
                             continuation, save_models, notes=self.warnings, reference=self.reference)

        if on_event is not None:
            return run(on_event)
        return with_progress(run, self.plan, progress)


def _ignored_by_factory(factory: Callable, arms: list[Arm], input_shape: tuple) -> list[str]:
    """A line for each keyword an arm passes that the user's factory ignores (`ignored_keywords`): said before
    training, since that arm would train exactly as the baseline."""
    name = getattr(factory, "__qualname__", type(factory).__name__)
    said, seen = [], set()
    for arm in arms:
        keywords = {k: v for k, v in model_keywords(Member(arm, 0)).items() if (k, repr(v)) not in seen}
        for key in ignored_keywords(factory, keywords, tuple(input_shape)):
            seen.add((key, repr(keywords[key])))
            said.append(f"{key}={keywords[key]!r} was passed to {name} (arm {arm.name!r}) but changes nothing in the "
                        f"module it builds (no layer, weight or output differs): the arm will train as the baseline; "
                        f"use {key}= in {name}")
    return said


def _checked_arms(arms, kind: str) -> list[Arm]:
    """The arms as `Arm`s for data of `kind`: the default ones when None, the baseline first, names distinct."""
    if arms is None:
        arms = parse_arms(",".join(DEFAULT_ARM_NAMES), kind)
    elif not list(arms):
        raise GoodfitError("arms is empty; give the arms to compare, e.g. arms=['dropout=0.5', 'augment']")
    elif all(isinstance(a, str) for a in arms):
        arms = parse_arms(",".join(arms), kind)
    arms = [parse_arm(a, kind) if isinstance(a, str) else a for a in arms]
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise GoodfitError(f"arm names must be distinct, got {', '.join(names)}")
    if arms[0].name != BASELINE or arms[0].remedies:
        raise GoodfitError("the first arm must be the baseline: Arm('baseline') with no remedy")
    if CONTROL in names:
        raise GoodfitError(f"an arm is named {CONTROL!r}, the name of the A/A control; rename it, or use --control")
    for arm in arms:
        if arm.get(Augment):
            arm.get(Augment).check_kind(kind)
    return arms


def comparisons_in(plan: dict) -> int:
    """How many arms are compared with the baseline (the control is judged on its own)."""
    return sum(a["name"] not in (BASELINE, CONTROL) for a in plan["arms"])
