"""The recipe search: which combination and strength of remedies is best on this data, confirmed on fresh seeds.

A search draws random recipes from a `Space` and runs successive halving: every candidate trains for
a few epochs, the best third by the judged metric on validation (the study's: accuracy, balanced
accuracy, RMSE, ...) continues to three times as many, and so on up
to the full length; each rung is a study (one population per architecture, resumable, run through
the executor); with `continue_survivors`, its survivors train on from the weights, optimizer state
and random streams the previous rung left them (`engine.continuation`: the same members as trained
from the start, without training their first epochs again). The six single remedies at their
default strengths join the last rung, so the best of them is chosen the same way. Then the top recipes, that single remedy and the baseline train
again at full length on the user's seeds, which the search never saw, and are compared with the
study's paired statistics: the verdict rests on the confirmation alone.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from goodfit.data import Conditions, load
from goodfit.data.memory import source_of
from goodfit.engine import TrainConfig
from goodfit.fit import function_name
from goodfit.engine.continuation import Continuation
from goodfit.errors import GoodfitError
from goodfit.grammar import BASELINE, parse_seeds, single_arms
from goodfit.metrics import metric_for
from goodfit.models import ModelSpec
from goodfit.recipe.result import RecipeResult, describe
from goodfit.remedies import Arm
from goodfit.space import OWNERS, Space
from goodfit.study import DEFAULT_STUDY, Study, StudyResult

SEARCH_SEEDS = 2_000_000  # the search trains on seeds from here on: never a study's, never the confirmation's
MIN_EPOCHS = 3


def rung_plan(epochs: int, candidates: int, eta: int, top: int) -> list[tuple[int, int]]:
    """(candidates, epochs) per rung of successive halving, ending with `top` or more at full length.

    Example:
        >>> rung_plan(90, 27, 3, 3)
        [(27, 10), (9, 30), (3, 90)]
        >>> rung_plan(10, 8, 2, 3)
        [(8, 5), (4, 10)]
    """
    if top > candidates:
        raise GoodfitError(f"--top {top} keeps more recipes than the {candidates} candidates; "
                           f"pass --top {candidates} or fewer, or more --candidates")
    if eta < 2:
        raise GoodfitError(f"--eta must be at least 2 (the fraction 1/eta continues each rung), got {eta}")
    sizes = [candidates]
    while math.ceil(sizes[-1] / eta) >= top and sizes[-1] > top:
        sizes.append(math.ceil(sizes[-1] / eta))
    rungs = len(sizes)
    return [(n, max(MIN_EPOCHS, min(epochs, round(epochs / eta ** (rungs - 1 - i))))) for i, n in enumerate(sizes)]


class Recipe:
    """Search for the best combination of remedies, then confirm it on fresh seeds.

    Args:
        data: built-in name or path, or data in memory as `Study` takes it (`(X, y)`, a DataFrame with
            `target`, ...; see `goodfit.load`). Default `digits`.
        model: `auto`, `mlp`, `cnn1d`, `cnn2d` or a `ModelSpec`. Default `auto`.
        space: a `Space`, its spelling (`"dropout=0.05:0.5,l2=1e-5:1e-2,batchnorm"`), or None for
            every remedy. Default None.
        candidates: random recipes in the first rung. Default 27.
        eta: each rung keeps the best 1/eta and trains it eta times longer. Default 3.
        top: recipes confirmed on fresh seeds. Default 3.
        search_seeds: seeds per candidate in the search (2000000, 2000001, ...). Default 1 (on
            MNIST-1D, 2 chose the same recipe at 1.2 times the cost).
        seeds: the confirmation's seeds: a count, a range or a list. Default 5.
        epochs: full training length (the last rung and the confirmation). Default 100.
        conditions: one `Conditions`. Default: all data.
        target: label column for CSV or Parquet. Default None.
        task: `classification` or `regression`; None decides from the target. Default None.
        metric: what selects and judges (`goodfit.metrics.TASK_METRICS`); None: the study's default
            (accuracy, balanced accuracy on imbalanced classes, RMSE on regression). Default None.
        train: batch size, learning rate, optimizer, schedule, device. Default `TrainConfig()`.
        split_seed: seed of the split. Default 0.
        seed: seed of the random candidates. Default 0.
        continue_survivors: each rung's survivors train on from the weights, optimizer state and
            random streams the previous rung left them with, instead of from the start (the same
            members, so the same results within floating-point tolerance; in this process only, with
            the local executor). Default False: on MNIST-1D at 100 epochs it trained 7% fewer member-epochs
            but took as long (47 s against 43.5 s for the search, 2-core Xeon), since survivors stay in
            their first rung's smaller populations (`benchmarks/README.md`).
        optimizer, scheduler, scheduler_interval, clip_grad: the training's own, in place of `train`'s (see
            `TrainConfig`); every rung and the confirmation train with them. Default None.

    Example:
        >>> r = Recipe("wine", "mlp", space="dropout=0.1:0.5,l2", candidates=9, top=3, epochs=90)
        >>> r.rungs, r.search_seeds
        ([(9, 30), (3, 90)], [2000000])
        >>> [describe(c) for c in r.candidates[:3]]
        ['L2 1.3e-05', 'dropout 0.43', 'no remedy']
    """

    def __init__(self, data="digits", model: str | ModelSpec = "auto", space: Space | str | None = None,
                 candidates: int = 27, eta: int = 3, top: int = 3, search_seeds: int = 1,
                 seeds: int | str | list[int] = 5, epochs: int = 100, conditions: list[Conditions] | None = None,
                 target: str | None = None, train: TrainConfig = TrainConfig(), split_seed: int = 0, seed: int = 0,
                 task: str | None = None, metric: str | None = None, continue_survivors: bool = False,
                 optimizer=None, scheduler=None, scheduler_interval: str | None = None, clip_grad: float | None = None,
                 fit: Callable | None = None):
        train = train.with_training(optimizer=optimizer, scheduler=scheduler, scheduler_interval=scheduler_interval,
                                    clip_grad=clip_grad)
        if fit is None:
            data = source_of(data, target, task)  # data in memory: registered, named by its token for every rung
            dataset = load(data, target, task)
            kind, data_task = dataset.kind, dataset.task
        else:  # members are calls of the user's function, which holds the data: each rung's epochs its budget
            kind, data_task = "table", task or "classification"
        if metric is not None:
            metric = metric_for(metric, data_task).name
        space = Space.default(kind) if space is None else Space.parse(space, kind) if isinstance(space, str) else space
        if candidates < 2:
            raise GoodfitError(f"--candidates must be at least 2, got {candidates}")
        if not 1 <= search_seeds <= 100:
            raise GoodfitError(f"--search-seeds must be between 1 and 100, got {search_seeds}")
        if top < 1:
            raise GoodfitError(f"--top must be at least 1, got {top}")
        seeds = parse_seeds(str(seeds)) if isinstance(seeds, (int, str)) else list(seeds)
        if max(seeds) >= SEARCH_SEEDS:
            raise GoodfitError(f"confirmation seeds must stay below {SEARCH_SEEDS}, the search's own range")
        self.rungs = rung_plan(epochs, candidates, eta, top)
        self.kind = kind
        self.space = space
        rng = np.random.default_rng(seed)
        self.candidates = [Arm(f"c{i + 1:02d}", space.sample(rng)) for i in range(candidates)]
        self.args = dict(data=data, model=model, conditions=list(conditions or [Conditions()])[:1], target=target,
                         train=train, split_seed=split_seed, task=task, metric=metric)
        if fit is not None:
            self.args = dict(data=data, fit=fit, task=task, metric=metric, split_seed=split_seed)
        if conditions is not None and len(conditions) > 1:
            raise GoodfitError("a recipe searches on one condition; pass one --train-size")
        self.seeds = seeds
        self.search_seeds = [SEARCH_SEEDS + i for i in range(search_seeds)]
        self.epochs, self.top = epochs, top
        self.continue_survivors = continue_survivors
        spec = model if isinstance(model, ModelSpec) else ModelSpec(model)
        self.plan = {"data": data, "target": target,
                     "model": spec.to_dict() if fit is None else {"arch": "function", "fit": function_name(fit)},
                     "space": space.to_dict(),
                     "candidates": candidates, "eta": eta, "top": top, "search_seeds": self.search_seeds,
                     "seeds": seeds, "epochs": epochs, "rungs": self.rungs, "seed": seed,
                     "conditions": [c.to_dict() for c in list(conditions or [Conditions()])[:1]],
                     "train": train.to_dict() if fit is None else {"epochs": epochs}, "split_seed": split_seed}
        self.plan |= {k: v for k, v in (("task", task), ("metric", metric)) if v is not None}  # only when asked

    @classmethod
    def default(cls, train_size: int | None = None, label_noise: float = 0.0, imbalance: float = 1.0,
                **changes) -> "Recipe":
        """The search `goodfit recipe` runs: with no arguments on the default study's data (`DEFAULT_STUDY`:
        digits, the MLP, 300 training samples, 100 epochs), each argument given replacing its part.

        Args:
            train_size: training samples to keep. Default 300 on the embedded data, all of it on data you name.
            label_noise: fraction of training labels replaced by another class. Default 0.
            imbalance: size of the last class relative to the first. Default 1.0 (balanced).
            **changes: any other argument of `Recipe` (`conditions` instead of the three above); None keeps
                the default. Naming `data` leaves the settings made for digits (the MLP, 300 samples) for
                `Recipe`'s own (`auto`, all the data), as `goodfit recipe --data` does. The `train` settings
                take the recipe's `epochs`.

        Example:
            >>> r = Recipe.default(candidates=4, top=1)
            >>> r.plan["data"], r.plan["model"]["arch"], r.plan["conditions"][0]["train_size"]
            ('digits', 'mlp', 300)
        """
        given = {k: v for k, v in changes.items() if v is not None}
        if "conditions" in given and (train_size or label_noise or imbalance != 1.0):
            raise GoodfitError("give conditions, or train_size, label_noise and imbalance to build them, not both")
        embedded = "data" not in given
        size = train_size or (DEFAULT_STUDY["train_size"] if embedded else None)
        settings = {"data": DEFAULT_STUDY["data"], "epochs": DEFAULT_STUDY["epochs"],
                    **({"model": DEFAULT_STUDY["model"]} if embedded else {}),
                    "conditions": [Conditions(train_size=size, label_noise=label_noise, imbalance=imbalance)]}
        merged = {**settings, **given}
        return cls(**{**merged, "train": replace(merged.get("train", TrainConfig()), epochs=merged["epochs"])})

    def _study(self, arms: list[Arm], seeds: list[int], epochs: int, reference: bool = True) -> Study:
        """A rung's or the confirmation's study; only the confirmation fits the classical reference beside it."""
        return Study(arms=arms, seeds=seeds, epochs=epochs, reference=reference, **self.args)

    def run(self, out: str | Path | None = None, executor=None, on_event: Callable[[dict], None] | None = None
            ) -> RecipeResult:
        """Search rung by rung, then confirm; with `out`, each rung and the confirmation keep a resumable
        `study.db` under `out/search/rung-N/` and `out/confirm/`, the confirmation its members' weights under
        `out/confirm/models/` too, so that `RecipeResult.module` gives the chosen recipe back after a resumed run.

        Returns:
            The `RecipeResult`.
        """
        out = Path(out) if out is not None else None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            _bind(out / "recipe.json", self.plan)
        alive, results, rows, trained, seconds = list(self.candidates), [], [], 0, 0.0
        singles = list(single_arms(self.kind).values())
        if "fit" in self.args:  # a training function applies what the space names, not every remedy there is
            searched = {OWNERS[word] for word in self.space.searched}
            singles = [a for a in singles if type(a.remedies[0]) in searched]
        carry = Continuation() if self.continue_survivors else None  # survivors train on from the last rung
        for i, (size, epochs) in enumerate(self.rungs):
            last = i == len(self.rungs) - 1
            arms = [Arm(BASELINE)] + alive + (singles if last else [])
            if on_event:
                on_event({"type": "rung", "rung": i, "candidates": len(alive), "epochs": epochs})
            result = self._study(arms, self.search_seeds, epochs, reference=False).run(
                None if out is None else out / "search" / f"rung-{i}", executor, on_event, continuation=carry)
            _check(result)
            results.append(result)
            trained, seconds = trained + result.units_trained, seconds + result.seconds
            m = result.metric
            score = result.members.groupby("arm").agg(val_score=(f"val_{m.name}", "mean"), val_loss=("val_loss", "mean"))
            rank = lambda a: (m.gain(score.loc[a.name, "val_score"]), -score.loc[a.name, "val_loss"])  # noqa: E731
            ranked = sorted(alive, key=rank, reverse=True)  # best first; the lower validation loss breaks a tie
            keep = {a.name for a in ranked[: (self.rungs[i + 1][0] if not last else self.top)]}
            for arm in arms[1:]:
                rows.append({"rung": i, "epochs": epochs, "arm": arm.name, "single": arm in singles,
                             "metric": m.name, "val_score": float(score.loc[arm.name, "val_score"]),
                             "val_loss": float(score.loc[arm.name, "val_loss"]), "continued": arm.name in keep,
                             "remedies": describe(arm)})
            alive = [a for a in ranked if a.name in keep]
        single = max(singles, key=rank)
        choice = single.name if rank(single) > rank(alive[0]) else "recipe-1"
        recipes = [Arm(f"recipe-{k + 1}", a.remedies) for k, a in enumerate(alive)]
        selection = pd.DataFrame(rows)
        for k, a in enumerate(alive):  # the confirmed names, beside the search's
            selection.loc[selection["arm"] == a.name, "recipe"] = f"recipe-{k + 1}"
            selection.loc[(selection["arm"] == a.name) & (selection["rung"] == len(self.rungs) - 1), "arm"] = f"recipe-{k + 1}"
        if on_event:
            on_event({"type": "confirm", "arms": [single.name] + [r.name for r in recipes]})
        confirmation = self._study([Arm(BASELINE), single] + recipes, self.seeds, self.epochs).run(
            None if out is None else out / "confirm", executor, on_event, save_models=out is not None)
        _check(confirmation)
        return RecipeResult(self.plan, results, selection, confirmation, recipes, single.name, choice,
                            seconds + confirmation.seconds, trained + confirmation.units_trained)


def _check(result: StudyResult) -> None:
    if result.failed:
        listed = "; ".join(f"{u} ({e})" for u, e in result.failed.items())
        raise GoodfitError(f"{len(result.failed)} unit(s) failed, so the recipe cannot go on: {listed}; "
                           "the finished units are kept; run the same command again to train only the missing ones")


def _bind(path: Path, plan: dict) -> None:
    """Refuse to mix two searches in one folder, as a study's store does."""
    text = json.dumps(plan, sort_keys=True, indent=1)
    if path.is_file() and path.read_text() != text + "\n":
        raise GoodfitError(f"{path.parent} holds a recipe search with another plan; pass a new --out folder, "
                           "or repeat the original command to resume it")
    path.write_text(text + "\n")
