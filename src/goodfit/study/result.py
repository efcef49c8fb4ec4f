"""What a study found: per member records and histories, per arm aggregates, comparisons and power.

The numbers only; the sentences that read them (the verdict, the summary, the power warning) are
`goodfit.report.verdict`'s, and the notebook's table and figures `goodfit.report.notebook`'s. Each member's
trained module comes back too (`StudyResult.module`), from this run's memory or the weights kept under `out/models`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from goodfit.engine import Member, architecture_of, member_settings
from goodfit.errors import GoodfitError
from goodfit.grammar import BASELINE
from goodfit.metrics import METRICS, Metric, default_metric, metric_for
from goodfit.models import ModelSpec
from goodfit.remedies import Arm
from goodfit.stats import Comparison, compare_to_baseline, detectable_effect, mean_ci, seeds_for
from goodfit.store import Store
from goodfit.study.units import CONTROL, member_key, seeds_of, splits_for

ALPHA, POWER = 0.05, 0.8
MODELS, MODELS_INDEX = "models", "index.json"  # out/models/index.json: condition -> arm -> seed -> weights file


def saved_models(folder: Path | None) -> dict:
    """What `out/models/index.json` lists: condition -> arm -> seed -> file name in `folder`, all keys strings;
    empty when the study kept no weights there (it ran without `save_models`)."""
    index = Path(folder) / MODELS_INDEX if folder is not None else None
    return json.loads(index.read_text()) if index is not None and index.is_file() else {}


def planned_power(seeds: int, comparisons: int) -> dict:
    """What `seeds` can find among `comparisons` against the baseline (Holm), before any training.

    Returns:
        `alpha`, the strictest Holm level; `detectable_effect_size`, the smallest d_z (a difference over
        the seed-to-seed spread of the paired differences) found 80% of the time there (inf below two
        seeds); `seeds_for_effect_size_1`, the seeds that find a d_z of 1.

    Example:
        >>> p = planned_power(5, 7)
        >>> round(p["detectable_effect_size"], 1), p["seeds_for_effect_size_1"]
        (2.9, 17)
    """
    alpha = ALPHA / max(1, comparisons)
    return {"seeds": seeds, "comparisons": comparisons, "alpha": alpha, "power": POWER,
            "detectable_effect_size": detectable_effect(seeds, alpha, POWER),
            "seeds_for_effect_size_1": seeds_for(1.0, alpha, POWER)}


def judged_metric(plan: dict, dataset: dict | None) -> Metric:
    """What a study judges by: the plan's `metric`, else the task's default (`metrics.default_metric`), from its
    data's description (`Study.dataset_info`)."""
    task = (dataset or {}).get("task", "classification")
    name = plan.get("metric") or default_metric(task, (dataset or {}).get("train_class_counts")
                                                or (dataset or {}).get("class_counts"))[0]
    return metric_for(name, task)


@dataclass
class StudyResult:
    """What a study found: per member records and histories, per arm aggregates, comparisons, power.

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
    causes: dict | None = None  # what `Study(causes=True)` found (`goodfit causes --json`'s shape), else None
    notes: list[str] = field(default_factory=list)  # how training ran, a line each (a module converted or run
    # member by member, an optimizer stepped alone, scores taken on validation): what the engine said
    states: dict[str, dict] = field(default_factory=dict, repr=False)  # member key -> the kept weights, of the
    # members this run trained (CPU tensors); `module` reads them, else the files under `models`
    models: Path | None = None  # out/models: where a study run with `save_models` keeps every member's weights
    factory: Callable | None = field(default=None, repr=False)  # the user's module factory, when the plan names one
    reference: dict | None = None  # the classical model on the same splits and seeds (`study.reference.reference_of`)

    def __post_init__(self):
        arm_at = {a["name"]: i for i, a in enumerate(self.plan["arms"])}
        seed_at = {s: i for i, s in enumerate(self.plan["seeds"])}
        self._paired = dict(zip(self.plan.get("control_seeds", []), self.plan["seeds"]))  # control seed -> its pair
        seed_at |= {s: seed_at[b] for s, b in self._paired.items()}
        self.records = sorted(self.records, key=lambda r: (r["condition"], arm_at[r["arm"]], seed_at[r["seed"]]))
        self.members = pd.DataFrame(self.records)
        self.arm_names = [a["name"] for a in self.plan["arms"]]
        self._power: dict[int, dict] = {}
        self._table: tuple[pd.DataFrame, pd.DataFrame] | None = None  # (the members it was built from, table())

    def __repr__(self) -> str:
        """One line: what was compared, on what, how many members; `table()` and `members` hold the rest."""
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
            notes = store.meta("notes") or []
            reference = store.meta("reference")
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
        return cls(plan, dataset, records, frame, seconds, causes=causes, notes=notes, models=Path(out) / MODELS,
                   reference=reference)

    def module(self, arm: str, seed: int, condition: int = 0, factory: Callable | None = None) -> nn.Module:
        """One member's trained module: the model it trained as, with the weights it kept, in eval mode.

        The module is your factory's own (its class, built with the keywords the arm's remedies pass it:
        `dropout=`, `batchnorm=`, `width=`), or goodfit's built-in model; the weights are those the member's
        scores were measured with (the best epoch's under early stopping that restores them, else the last).
        They come from this run's memory, else from `out/models`, where a study run with `save_models=True`
        (`goodfit study --save-models`) keeps them: a result rebuilt with `from_store` needs that.

        Args:
            arm: the arm's name, as `members["arm"]` spells it.
            seed: the member's seed.
            condition: the condition's position in the plan. Default 0.
            factory: the module factory the study trained, for a result rebuilt with `from_store` (the store
                keeps its name only); None takes the study's own. Default None.

        Returns:
            A fresh `nn.Module` holding the member's weights, in eval mode; `state_dict()` gives them back.

        Example:
            >>> from goodfit.study import Study
            >>> r = Study("wine", arms=["dropout=0.3"], seeds=1, epochs=2).run()
            >>> m = r.module("dropout=0.3", 0)
            >>> m.training, [layer.p for layer in m.modules() if isinstance(layer, nn.Dropout)][:1]
            (False, [0.3])
        """
        member = self._member(arm, seed, condition)
        state = self.states.get(member_key(condition, arm, seed))
        if state is None:
            state = self._saved_state(arm, seed, condition)
        model = factory or self.factory
        if model is None and "factory" in self.plan["model"]:
            name = self.plan["model"]["factory"]
            raise GoodfitError(f"this study trained your model factory {name}, which its store names but does not "
                               f"keep; pass it: module({arm!r}, {seed}, factory={name})")
        arch = architecture_of(member, model or ModelSpec(**self.plan["model"]), splits_for(self.plan, condition, seed))
        with torch.random.fork_rng(devices=[]):  # building initializes weights: leave the caller's generator alone
            module = arch.build(member_settings(member))
        module.load_state_dict(state)
        return module.eval()

    def _member(self, arm: str, seed: int, condition: int) -> Member:
        """The finished member `arm`, `seed` on `condition`, or an error naming what this study holds."""
        listed = lambda values: ", ".join(map(str, values))  # noqa: E731
        if condition not in range(len(self.conditions)):
            raise GoodfitError(f"no condition {condition}; this study has conditions "
                               f"{listed(range(len(self.conditions)))}")
        if arm not in self.arm_names:
            raise GoodfitError(f"no arm {arm!r}; this study has arms {listed(self.arm_names)}")
        if seed not in (seeds := seeds_of(self.plan, arm)):
            raise GoodfitError(f"arm {arm!r} has no seed {seed}; its seeds are {listed(seeds)}")
        if not any((r["condition"], r["arm"], r["seed"]) == (condition, arm, seed) for r in self.records):
            raise GoodfitError(f"arm {arm!r}, seed {seed} on condition {condition} has not finished (its unit "
                               "failed or has not trained yet); run the study again to train it")
        arm_dict = next(a for a in self.plan["arms"] if a["name"] == arm)
        return Member(Arm.from_dict(arm_dict), seed)

    def _saved_state(self, arm: str, seed: int, condition: int) -> dict:
        """The member's weights as `save_models` kept them under `out/models`, or an error saying how to keep them."""
        name = saved_models(self.models).get(str(condition), {}).get(arm, {}).get(str(seed))
        if name is None:
            where = f" in {self.models}" if self.models is not None else ""
            raise GoodfitError(f"the weights of arm {arm!r}, seed {seed} on condition {condition} were not kept{where}: "
                               "a study keeps them on disk only when run with --save-models (save_models=True), and "
                               "does not train a finished member again; run it with --save-models into a new --out")
        return torch.load(self.models / name, map_location="cpu", weights_only=True)

    @property
    def conditions(self) -> list[dict]:
        return self.plan["conditions"]

    @property
    def metric(self) -> Metric:
        """What the comparisons judge by: the plan's `metric`, else the task's default (`metrics.default_metric`)."""
        return judged_metric(self.plan, self.dataset)

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
        level (`planned_power`), and the smallest difference in accuracy that makes (`detectable_difference`, a
        fraction) from the seed-to-seed spread of the paired differences, pooled over the arms and
        the control (`spread`, the root mean square of their standard deviations; NaN when unknown)."""
        if condition not in self._power:
            comps = self.comparisons(condition)
            planned = planned_power(self.table_seeds(condition), len(comps))
            control = self.control(condition)
            spreads = [c.spread for c in comps + ([control] if control else []) if np.isfinite(c.spread)]
            spread = float(np.sqrt(np.mean(np.square(spreads)))) if spreads else float("nan")
            need = planned["detectable_effect_size"]
            self._power[condition] = {
                **planned, "spread": spread,
                "detectable_difference": need * spread if np.isfinite(need) else float("inf"),
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
        the same for every seed (an interval of no width). `firmness` is the chance a fresh run on as many
        seeds repeats the call, `borderline` that it is under 80%, `seeds_to_settle` the seeds that would
        find the observed difference 80% of the time (`goodfit.stats.firmness`, `seeds_to_settle`).

        Built once per `members` (the verdict and the report read it dozens of times); each call gets a copy."""
        if self._table is None or self._table[0] is not self.members:
            self._table = (self.members, self._built_table())
        return self._table[1].copy()

    def _built_table(self) -> pd.DataFrame:
        """`table()` computed from the members."""
        if self.members.empty:
            first = next(iter(self.failed.items()), None)
            why = f"; the first failure: {first[0]}: {first[1]}" if first else ""
            raise GoodfitError(f"no member of this study has finished, so there is nothing to compare "
                               f"({len(self.failed)} unit(s) failed){why}")
        rows = []
        for c in range(len(self.conditions)):
            comps = {x.arm: x for x in self.comparisons(c)}
            control = self.control(c)
            if control is not None:
                comps[CONTROL] = control
            sub = self.members[self.members["condition"] == c]
            for arm in self.arm_names:
                g = sub[sub["arm"] == arm]
                if not g.empty:
                    rows.append(self._row(c, arm, g, comps.get(arm)))
        return pd.DataFrame(rows).astype({"seeds_to_settle": "Int64"})  # a count, or null where nothing was tested

    def _row(self, c: int, arm: str, g: pd.DataFrame, comp: Comparison | None) -> dict:
        """One arm's row of `table()` on condition `c`, from its members `g` and its comparison."""
        acc = mean_ci(g["test_accuracy"], scale=METRICS["accuracy"].scale)
        loss = mean_ci(g["test_loss"], scale=METRICS["loss"].scale)
        score = mean_ci(g[self.judged], scale=self.metric.scale)
        gap = mean_ci(g["gap"], scale=(-1.0, 1.0) if "train_accuracy" in g else (None, None))
        regimes = pd.Series([d["regime"] for d in g["diagnosis"]]).value_counts()
        return {
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
            "firmness": comp.firmness if comp else None, "borderline": bool(comp.borderline) if comp else None,
            "seeds_to_settle": comp.seeds_to_settle if comp else None,  # how firm the call is (`stats.firmness`)
            "gap": gap.mean,
            "train_accuracy": float(g["train_accuracy"].mean()) if "train_accuracy" in g else None,
            "train_clean_accuracy": (float(g["train_clean_accuracy"].mean())  # under goodfit's label noise
                                     if "train_clean_accuracy" in g and g["train_clean_accuracy"].notna().all()
                                     else None),
            "best_epoch": float(np.nanmedian(g["best_epoch"].astype(float))),
            "regime": regimes.index[0], "regime_agreement": f"{regimes.iloc[0]}/{len(g)}",
            "diverged": int(g["diverged"].sum()),
        }

    def reference_row(self, condition: int = 0) -> dict | None:
        """The reference's row on a condition: `arm` (`reference (ridge, alpha=10)`), its model's `name`, the seeds,
        and its test score and loss over them with 95% CIs, as an arm's row of `table()` has them; None without
        a reference. It is not compared with the baseline: no difference, p or significance."""
        found = next((c for c in (self.reference or {}).get("conditions", []) if c["condition"] == condition), None)
        if found is None:
            return None
        score = mean_ci(found["test"][self.metric.name], scale=self.metric.scale)
        loss = mean_ci(found["test"]["loss"], scale=METRICS["loss"].scale)
        return {"condition": condition, "arm": f"reference ({found['name']})", "name": found["name"],
                "role": "reference", "seeds": len(found["seeds"]), "metric": self.metric.name,
                "score": score.mean, "score_low": score.low, "score_high": score.high,
                "test_loss": loss.mean, "test_loss_low": loss.low, "test_loss_high": loss.high}

    def to_dict(self) -> dict:
        """The numbers of `results.json`: plan, data, per-arm aggregates, comparisons, power, members (the report
        adds the verdict's words: `goodfit.report.outputs.study_payload`)."""
        table = self.table()
        conditions = range(len(self.conditions))
        return {
            "goodfit": "results/1",
            "plan": self.plan,
            "dataset": self.dataset,
            "arms": json.loads(table.to_json(orient="records")),
            "comparisons": [[x.to_dict() for x in self.comparisons(c)] for c in conditions],
            "controls": [None if self.control(c) is None else self.control(c).to_dict() for c in conditions],
            "power": [self.power(c) for c in conditions],
            "splits": "resampled per seed" if self.plan.get("resample_splits") else "one split for all seeds",
            "members": json.loads(self.members.to_json(orient="records")),
            **({"causes": self.causes} if self.causes is not None else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            **({"reference": {**self.reference, "rows": [row for c in conditions
                                                         if (row := self.reference_row(c)) is not None]}}
               if self.reference is not None else {}),
            **({"learning_rates": self.learning_rates()} if self.history is not None and "lr" in self.history else {}),
        }

    @property
    def scored_on(self) -> str:
        """What the members' test scores are: `test`, or `validation` (at each member's kept epoch) where a training
        function's histories held no test score."""
        if "scored_on" in self.members and (self.members["scored_on"] == "validation").any():
            return "validation"
        return "test"

    def learning_rates(self) -> dict[str, list[float]]:
        """Each member's learning rate per epoch (the rate each epoch began with), by member key: the schedule
        that ran, as the history records it."""
        rates = self.history.dropna(subset=["lr"]).sort_values("epoch").groupby("member", sort=False)["lr"]
        return {str(member): [float(v) for v in values] for member, values in rates}
