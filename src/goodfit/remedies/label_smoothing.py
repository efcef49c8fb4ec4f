"""Label smoothing: its value, spelling, words, flag and search, in one home.

The engine's `Smoothing` (engine/label_smoothing.py) softens each member's targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.remedies.base import Flag, Remedy, check_range, check_search_range, number, search_range, two_digits

SEARCH_RANGE = (0.05, 0.2)


@dataclass(frozen=True)
class LabelSmoothing(Remedy):
    """Train on softened targets: the given class keeps `1 - amount` and `amount` is spread over all classes.

    The usual answer to noisy labels: a wrong label costs less to fit, and confident logits are not
    rewarded. Classification only; validation and test are scored on the labels as given.

    Args:
        amount: the share of each target spread evenly over the classes, in [0, 1). Default 0.1.

    Example:
        >>> LabelSmoothing().amount
        0.1
        >>> LabelSmoothing(0.05).spell(), LabelSmoothing(0.05).describe()
        ('label_smoothing=0.05', 'label smoothing 0.05')
    """

    key: ClassVar[str] = "label_smoothing"
    words: ClassVar[tuple[str, ...]] = ("label_smoothing",)
    setting_names: ClassVar[tuple[str, ...]] = ('label_smoothing',)
    in_all: ClassVar[bool] = False  # an answer to a data set's labels, not one of the six
    needs_classes: ClassVar[bool] = True
    flags: ClassVar[tuple[Flag, ...]] = (
        Flag("label-smoothing", float, 0.0, "Share of each target spread over the classes (0 = off)."),)
    amount: float = 0.1

    def __post_init__(self):
        check_range("label smoothing", self.amount, 0.0, 1.0, hint="; e.g. label_smoothing=0.1")

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"label_smoothing": cls(0.1)}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "LabelSmoothing":
        return cls(number(settings, f"arm {word}={settings}", "label_smoothing=0.1"))

    def spell(self) -> str:
        return f"label_smoothing={self.amount:g}"

    def describe(self) -> str:
        return f"label smoothing {self.amount:g}"

    def axis_value(self) -> float:
        return self.amount

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "LabelSmoothing | None":
        return cls(values["label_smoothing"]) if values.get("label_smoothing") else None

    def train_options(self) -> str:
        return f"--label-smoothing {self.amount:g}"

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        if value is None:
            return SEARCH_RANGE
        return search_range(value, f"--space label_smoothing={value}", "label_smoothing=0.05:0.2")

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        check_search_range(word, setting, 0.0, 0.5, "label_smoothing=0.05:0.2")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "LabelSmoothing | None":
        if space.get("label_smoothing") and rng.random() < 0.5:
            return cls(two_digits(rng.uniform(*space["label_smoothing"])))
        return None

    def settings(self) -> dict:
        return {"label_smoothing": self.amount}
