"""Weight decay, as a true L2 penalty (`l2`) or decoupled AdamW-style decay (`decay`), in one home.

The engine's `L2Penalty` and `DecoupledDecay` (engine/decay.py) apply it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import (Flag, Remedy, check_search_range, number, options, search_range, two_digits,
                                   whole)

SPACE_DEFAULT = {"l2": (1e-5, 1e-2), "decay": (1e-4, 1e-1)}  # a word alone in --space; only l2 in the default search


@dataclass(frozen=True)
class WeightDecay(Remedy):
    """Keep weights small: a true L2 penalty by default, decoupled (AdamW-style) decay on request.

    The L2 penalty adds `strength * w` to each weight's gradient before the optimizer step
    (the gradient of `strength / 2 * ||w||^2`); decoupled decay multiplies `w` by
    `1 - lr * strength` at each step instead, as `torch.optim.AdamW` does.

    Args:
        strength: the penalty or decay coefficient. Default 1e-4.
        decoupled: decoupled decay instead of the L2 penalty. Default False.
        include_bias_and_norm: also act on biases and batch-norm parameters. Default False.

    Example:
        >>> WeightDecay(1e-3, decoupled=True).decoupled
        True
        >>> WeightDecay(1e-3, decoupled=True).spell(), WeightDecay(3e-4).describe(), WeightDecay(3e-4).word
        ('decay=0.001', 'L2 0.0003', 'l2')
    """

    key: ClassVar[str] = "weight_decay"
    words: ClassVar[tuple[str, ...]] = ("l2", "decay")
    setting_names: ClassVar[tuple[str, ...]] = ('weight_decay', 'l2')
    flags: ClassVar[tuple[Flag, ...]] = (Flag("l2", float, 0.0, "L2 penalty strength (added to the gradient)."),
                                         Flag("decay", float, 0.0, "Decoupled (AdamW-style) weight decay strength."))
    log_strength: ClassVar[bool] = True
    strength: float = 1e-4
    decoupled: bool = False
    include_bias_and_norm: bool = False

    def __post_init__(self):
        if not 0.0 <= self.strength < 1.0:
            raise GoodfitError(f"weight decay strength must be in [0, 1), got {self.strength}; e.g. --l2 1e-4")

    @property
    def word(self) -> str:
        return "decay" if self.decoupled else "l2"

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"l2": cls(1e-3), "decay": cls(1e-2, decoupled=True)}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "WeightDecay":
        where, example = f"arm {word}={settings}", f"{word}=1e-4"
        o = options(where, settings, "strength", {"strength": "1e-4", "include_bias_and_norm": "1"}, example)
        include = whole(o.get("include_bias_and_norm", "0"), where, f"{word}=strength:1e-4+include_bias_and_norm:1")
        if include not in (0, 1):
            raise GoodfitError(f"{where}: include_bias_and_norm is 0 or 1, e.g. {word}=strength:1e-4+include_bias_and_norm:1")
        return cls(number(o.get("strength", "1e-4"), where, example), decoupled=word == "decay",
                   include_bias_and_norm=bool(include))

    def spell(self) -> str:
        if self.include_bias_and_norm:
            return f"{self.word}=strength:{self.strength:g}+include_bias_and_norm:1"
        return f"{self.word}={self.strength:g}"

    def describe(self) -> str:
        also = " (biases and norms too)" if self.include_bias_and_norm else ""
        return f"{'decoupled decay' if self.decoupled else 'L2'} {self.strength:g}{also}"

    def axis_value(self) -> float:
        return self.strength

    @property
    def axis_label(self) -> str:
        return "decoupled decay" if self.decoupled else "L2 strength"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "WeightDecay | None":
        l2, decay = values.get("l2"), values.get("decay")
        if l2 and decay:
            raise GoodfitError("pass either --l2 (L2 penalty) or --decay (decoupled weight decay), not both")
        return cls(l2) if l2 else cls(decay, decoupled=True) if decay else None

    def train_options(self) -> str:
        return f"--arm {self.spell()}" if self.include_bias_and_norm else f"--{self.word} {self.strength:g}"

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"l2": SPACE_DEFAULT["l2"], "decay": None}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        return SPACE_DEFAULT[word] if value is None else search_range(value, f"--space {word}={value}", f"{word}=1e-5:1e-2")

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        check_search_range(word, setting, 1e-10, 0.5, f"{word}=1e-5:1e-2")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "WeightDecay | None":
        """L2 or decoupled decay (one of those searched), log-uniform in its range, for half the candidates."""
        penalties = [(w, space[w]) for w in cls.words if space.get(w)]
        if penalties and rng.random() < 0.5:
            word, (low, high) = penalties[int(rng.integers(len(penalties)))]
            return cls(two_digits(math.exp(rng.uniform(math.log(low), math.log(high)))), decoupled=word == "decay")
        return None

    def settings(self) -> dict:
        """Decoupled decay as `weight_decay` (AdamW's, the HF Trainer's), the L2 penalty as `l2`."""
        return {"weight_decay" if self.decoupled else "l2": self.strength}
