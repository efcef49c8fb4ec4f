"""What a recipe search found: the recipes, the confirmation on fresh seeds, and the numbers that judge them.

The numbers only (each recipe against the best single remedy, the search's optimism, what to train with,
the `goodfit train` command); the verdict's sentences are `goodfit.report.recipe_verdict`'s.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
from torch import nn

from goodfit.grammar import BASELINE, spell
from goodfit.metrics import Metric
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, Shrink, WeightDecay
from goodfit.stats import Comparison, compare_to_baseline
from goodfit.study import StudyResult


def describe(arm: Arm) -> str:
    """A recipe in words, each remedy as its own home words it: `dropout 0.21, L2 0.0003, augment shift 0.12`.

    Example:
        >>> describe(Arm("r", (Dropout(0.2), Augment(shift=0.1, noise=0.05))))
        'dropout 0.2, augment shift 0.1 + noise 0.05'
    """
    return arm.describe()


def train_options(arm: Arm) -> str:
    """The `goodfit train` options that train with this recipe: each remedy's own flags, or the whole arm as
    `--arm SPELLING` when a setting has no flag of its own (flags and `--arm` do not mix).

    Example:
        >>> train_options(Arm("r", (Dropout(0.2), WeightDecay(3e-4), Augment(shift=0.1), Shrink(0.5))))
        '--dropout 0.2 --l2 0.0003 --augment shift=0.1 --width 0.5'
        >>> train_options(Arm("r", (Dropout(0.2), BatchNorm(0.05))))
        '--arm dropout=0.2+batchnorm=0.05'
    """
    options = [r.train_options() for r in arm.remedies]
    return f"--arm {spell(arm)}" if any(o.startswith("--arm ") for o in options) else " ".join(options)


@dataclass
class RecipeResult:
    """What the search found and what the confirmation on fresh seeds says.

    `rungs` are the search's studies in order; `selection` one row per candidate and rung with its
    validation score `val_score` (the judged metric, named in `metric`, mean over search seeds), its
    validation loss and whether it continued;
    `confirmation` the study of the baseline, the best single remedy and the top recipes on the
    user's seeds; `recipes` the top recipes' arms, best first; `single` the best single remedy's name.
    """

    plan: dict
    rungs: list[StudyResult]
    selection: pd.DataFrame
    confirmation: StudyResult
    recipes: list[Arm]
    single: str
    choice: str = ""  # what to train with: recipe-1, or the single remedy when it ranked above every recipe
    seconds: float = 0.0
    units_trained: int = 0
    _against_single: list[Comparison] = field(default_factory=list, repr=False)

    def __post_init__(self):
        judged = self.confirmation.judged
        by_arm = self.confirmation._by_arm(0, judged)
        names = [a.name for a in self.recipes]
        self._against_single = compare_to_baseline({self.single: by_arm[self.single]} |
                                                   {n: by_arm[n] for n in names if n in by_arm}, self.single,
                                                   judged)

    @property
    def metric(self) -> Metric:
        """What the search selected by and the confirmation judges by (the confirmation study's metric)."""
        return self.confirmation.metric

    def descriptions(self) -> list[str]:
        """Each recipe in words, in the order of `recipes`."""
        return [describe(a) for a in self.recipes]

    def against_single(self) -> list[Comparison]:
        """Each recipe against the best single remedy on the fresh seeds, paired, Holm-corrected over the recipes."""
        return self._against_single

    def optimism(self) -> pd.DataFrame:
        """Per recipe: the judged metric on validation when selected (search seeds), on validation and test
        confirmed (fresh seeds); `optimism` is how much better the selection looked than the confirmation."""
        m = self.metric
        last = self.selection[self.selection["rung"] == self.selection["rung"].max()].set_index("arm")
        members = self.confirmation.members
        rows = []
        for arm in self.recipes + [Arm(self.single)]:
            mine = members[members["arm"] == arm.name]
            rows.append({"arm": arm.name, "metric": m.name, "selected_val": float(last.loc[arm.name, "val_score"]),
                         "confirmed_val": float(mine[f"val_{m.name}"].mean()),
                         "confirmed_test": float(mine[f"test_{m.name}"].mean())})
        frame = pd.DataFrame(rows)
        frame["optimism"] = [m.gain(s - c) for s, c in zip(frame["selected_val"], frame["confirmed_val"])]
        return frame

    @property
    def best(self) -> Arm:
        """The best recipe of the search (a combination, chosen on the judged metric on validation)."""
        return self.recipes[0]

    @property
    def chosen(self) -> Arm:
        """What to train with: the best recipe, or the best single remedy if it ranked above it on validation;
        the baseline when the fresh seeds found that choice significantly worse than it."""
        arms = {a["name"]: Arm.from_dict(a) for a in self.confirmation.plan["arms"]}
        pick = self.choice or self.best.name
        c = self.worse_than_baseline(pick)
        return arms[BASELINE] if c is not None else arms[pick]

    def module(self, seed: int | None = None) -> nn.Module:
        """The chosen recipe's trained module (the arm `chosen` names), as the confirmation trained it on `seed`.

        Args:
            seed: one of the confirmation's seeds (`plan["seeds"]`); None takes the first. Default None.

        Returns:
            The model with that member's kept weights, in eval mode (`StudyResult.module`).

        Example:
            >>> from goodfit.recipe import Recipe
            >>> r = Recipe("wine", "mlp", space="dropout=0.1:0.5", candidates=2, top=1, seeds=1, epochs=3).run()
            >>> r.module().training
            False
        """
        seeds = self.confirmation.plan["seeds"]
        return self.confirmation.module(self.chosen.name, seeds[0] if seed is None else seed)

    def worse_than_baseline(self, name: str) -> Comparison | None:
        """The confirmation's comparison of arm `name` with the baseline if it found the arm significantly
        worse, else None."""
        c = {c.arm: c for c in self.confirmation.comparisons()}.get(name)
        return c if c is not None and c.significant and self.metric.gain(c.difference.mean) < 0 else None

    def command(self) -> str:
        """The `goodfit train` command that trains with the chosen recipe, its remedies as one `--arm` (the
        spelling `goodfit study --arms` reads too); for a training function's recipe, the study of it against
        the baseline."""
        plan = self.plan
        if plan["model"].get("arch") == "function":  # a training function's recipe: the arm its function is given
            return f"goodfit study --script <your script> --arms baseline,{spell(self.chosen)} --epochs {plan['epochs']}"
        cond = plan["conditions"][0]
        parts = ["goodfit train", f"--data {plan['data']}"]
        if plan.get("target"):
            parts.append(f"--target {plan['target']}")
        if plan.get("task"):
            parts.append(f"--task {plan['task']}")
        if plan["model"].get("arch"):
            parts.append(f"--model {plan['model']['arch']}")
        if cond.get("train_size"):
            parts.append(f"--train-size {cond['train_size']}")
        if cond.get("label_noise"):
            parts.append(f"--label-noise {cond['label_noise']:g}")
        if cond.get("imbalance", 1.0) != 1.0:
            parts.append(f"--imbalance {cond['imbalance']:g}")
        parts.append(f"--epochs {plan['epochs']}")
        if plan["train"].get("loss", "auto") != "auto":
            parts.append(f"--loss {plan['train']['loss']}")
        chosen = spell(self.chosen)
        return " ".join(parts + ([f"--arm {chosen}"] if chosen != BASELINE else []))

    def to_dict(self) -> dict:
        """The numbers of `results.json` (the report adds the verdict's words:
        `goodfit.report.recipe.recipe_payload`)."""
        return {
            "goodfit": "recipe/1", "plan": self.plan, "command": self.command(),
            "choice": self.chosen.name, "metric": self.metric.name,
            "recipes": [{"name": a.name, "description": describe(a), "arm": spell(a), "options": train_options(a),
                         **a.to_dict()}
                        for a in self.recipes],
            "single": self.single,
            "against_baseline": [c.to_dict() for c in self.confirmation.comparisons()],
            "against_single": [c.to_dict() for c in self.against_single()],
            "optimism": json.loads(self.optimism().to_json(orient="records")),
            "selection": json.loads(self.selection.to_json(orient="records")),
            "confirmation": self.confirmation.to_dict(),
        }
