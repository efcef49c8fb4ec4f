"""Dropout: its value, spelling, words, `goodfit train` flag and search range, in one home.

The engine's `DropoutMasks` (engine/dropout.py) draws the masks; the layers apply them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.remedies.base import Flag, Remedy, check_range, check_search_range, number, search_range, two_digits


@dataclass(frozen=True)
class Dropout(Remedy):
    """Zero each hidden unit with probability `rate` while training (inverted dropout, none in eval).

    Args:
        rate: probability of dropping a hidden unit (a whole channel in convolutional layers).
            Default 0.5.

    Example:
        >>> Dropout(0.3)
        Dropout(rate=0.3)
        >>> Dropout(0.3).spell(), Dropout(0.3).describe(), Dropout(0.3).train_options()
        ('dropout=0.3', 'dropout 0.3', '--dropout 0.3')
    """

    key: ClassVar[str] = "dropout"
    words: ClassVar[tuple[str, ...]] = ("dropout",)
    setting_names: ClassVar[tuple[str, ...]] = ('dropout',)
    flags: ClassVar[tuple[Flag, ...]] = (Flag("dropout", float, 0.0, "Dropout rate of hidden units."),)
    rate: float = 0.5

    def __post_init__(self):
        check_range("dropout rate", self.rate, 0.0, 1.0, hint="; e.g. --dropout 0.3")

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"dropout": cls(0.3)}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "Dropout":
        return cls(number(settings, f"arm {word}={settings}", "dropout=0.5"))

    def spell(self) -> str:
        return f"dropout={self.rate:g}"

    def describe(self) -> str:
        return f"dropout {self.rate:g}"

    def axis_value(self) -> float:
        return self.rate

    @property
    def axis_label(self) -> str:
        return "dropout rate"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "Dropout | None":
        return cls(values["dropout"]) if values.get("dropout") else None

    def train_options(self) -> str:
        return f"--dropout {self.rate:g}"

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"dropout": (0.05, 0.5)}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        return (0.05, 0.5) if value is None else search_range(value, f"--space dropout={value}", "dropout=0.05:0.5")

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        check_search_range(word, setting, 0.0, 0.95, "dropout=0.05:0.5")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "Dropout | None":
        if space.get("dropout") and rng.random() < 0.5:
            return cls(two_digits(rng.uniform(*space["dropout"])))
        return None

    def module_keywords(self) -> dict:
        return {"dropout": self.rate}
