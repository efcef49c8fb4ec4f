"""Class weights (in the loss, or balanced sampling): value, spelling, words, flag and search, in one home.

The engine's `LossWeights` and `BalancedSampling` (engine/class_weights.py) apply them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import Flag, Remedy, options

CLASS_WEIGHTINGS = ("loss", "balanced")


@dataclass(frozen=True)
class ClassWeights(Remedy):
    """Count every class as much as the others: loss weights inverse to class frequency, or balanced sampling.

    With `loss`, a sample of class c weighs `N / (C * n_c)` in the training loss (the weights average 1
    over the training set, as scikit-learn's `class_weight="balanced"`). With `balanced`, each member's
    minibatches are drawn with replacement so that every class comes up equally often. Classification only.

    Args:
        how: `loss` (weights in the loss) or `balanced` (balanced sampling). Default `loss`.

    Example:
        >>> ClassWeights("balanced").how
        'balanced'
        >>> ClassWeights().spell(), ClassWeights("balanced").spell(), ClassWeights("balanced").describe()
        ('class_weights', 'class_weights=balanced', 'class weights (balanced sampling)')
    """

    key: ClassVar[str] = "class_weights"
    words: ClassVar[tuple[str, ...]] = ("class_weights",)
    setting_names: ClassVar[tuple[str, ...]] = ('class_weights',)
    in_all: ClassVar[bool] = False  # an answer to a data set's labels, not one of the six
    needs_classes: ClassVar[bool] = True
    flags: ClassVar[tuple[Flag, ...]] = (
        Flag("class-weights", str, None, "Count every class alike: loss (weights inverse to class frequency) or "
                                         "balanced (balanced sampling)."),)
    how: str = "loss"

    def __post_init__(self):
        if self.how not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"class weights {self.how!r} is unknown; use one of {', '.join(CLASS_WEIGHTINGS)}, "
                               "e.g. class_weights=balanced")

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"class_weights": cls()}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "ClassWeights":
        where = f"arm {word}={settings}"
        o = options(where, settings, "how", {"how": "balanced"}, "class_weights=balanced")
        if o["how"] not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"{where}: use one of {', '.join(CLASS_WEIGHTINGS)}, e.g. class_weights=balanced")
        return cls(o["how"])

    def spell(self) -> str:
        return "class_weights" if self.how == CLASS_WEIGHTINGS[0] else f"class_weights={self.how}"

    def describe(self) -> str:
        return "class weights (in the loss)" if self.how == "loss" else "class weights (balanced sampling)"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "ClassWeights | None":
        return cls(values["class_weights"]) if values.get("class_weights") else None

    def train_options(self) -> str:
        return f"--class-weights {self.how}"

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        return "loss" if value is None else value

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        if setting is not None and setting not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"--space class_weights={setting}: use {' or '.join(CLASS_WEIGHTINGS)}")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "ClassWeights | None":
        if space.get("class_weights") and rng.random() < 0.5:
            return cls(space["class_weights"])
        return None

    def settings(self) -> dict:
        return {"class_weights": self.how}
