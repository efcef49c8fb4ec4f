"""Early stopping with the best weights restored: its value, spelling, words, flag and search, in one home.

The engine's `EarlyStop` (engine/early_stopping.py) watches each member and keeps its best weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import Flag, Remedy, number, options, whole

MONITORS = ("val_loss", "val_accuracy")


@dataclass(frozen=True)
class EarlyStopping(Remedy):
    """Stop a member when the monitored metric stops improving, and always restore its best weights.

    The best weights are restored at the end whether or not patience ran out.

    Args:
        patience: epochs without improvement before stopping. Default 10.
        min_delta: smallest change that counts as improvement. Default 0.
        relative: read `min_delta` as a fraction of the best value so far. Default False.
        warmup: epochs before stopping may happen (the best is still tracked). Default 0.
        monitor: `val_loss` (lower is better) or `val_accuracy` (higher is better). Default `val_loss`.

    Example:
        >>> EarlyStopping(patience=5).monitor
        'val_loss'
        >>> EarlyStopping(20, min_delta=0.001, relative=True).spell()
        'early_stopping=patience:20+min_delta:0.001+relative:1'
    """

    key: ClassVar[str] = "early_stopping"
    words: ClassVar[tuple[str, ...]] = ("early_stopping",)
    setting_names: ClassVar[tuple[str, ...]] = ('early_stopping',)
    flags: ClassVar[tuple[Flag, ...]] = (
        Flag("early-stopping", int, 0, "Early-stopping patience in epochs (0 = off); best weights restored."),)
    patience: int = 10
    min_delta: float = 0.0
    relative: bool = False
    warmup: int = 0
    monitor: str = "val_loss"

    def __post_init__(self):
        if int(self.patience) != self.patience or self.patience < 1:
            raise GoodfitError(f"early-stopping patience must be a whole number >= 1, got {self.patience}")
        if self.min_delta < 0 or self.warmup < 0:
            raise GoodfitError("early-stopping min_delta and warmup must not be negative")
        if self.monitor not in MONITORS:
            raise GoodfitError(f"early stopping cannot monitor {self.monitor!r}; use one of {', '.join(MONITORS)}")

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"early_stopping": cls(patience=10)}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "EarlyStopping":
        where = f"arm {word}={settings}"
        o = options(where, settings, "patience", {"patience": "20", "min_delta": "0.001", "relative": "1",
                                                  "warmup": "5", "monitor": "val_loss"}, "early_stopping=patience:20")
        if o.get("monitor", MONITORS[0]) not in MONITORS:
            raise GoodfitError(f"{where}: monitor {o['monitor']!r} is unknown; use one of {', '.join(MONITORS)}")
        relative = whole(o.get("relative", "0"), where, "relative:1")
        if relative not in (0, 1):
            raise GoodfitError(f"{where}: relative is 0 or 1, e.g. early_stopping=patience:20+min_delta:0.01+relative:1")
        return cls(patience=whole(o.get("patience", "10"), where, "early_stopping=20"),
                   min_delta=number(o.get("min_delta", "0"), where, "min_delta:0.001"), relative=bool(relative),
                   warmup=whole(o.get("warmup", "0"), where, "warmup:5"), monitor=o.get("monitor", MONITORS[0]))

    def _extra(self) -> list[str]:
        extra = [f"min_delta:{self.min_delta:g}"] if self.min_delta else []
        extra += ["relative:1"] if self.relative else []
        extra += [f"warmup:{self.warmup}"] if self.warmup else []
        return extra + ([f"monitor:{self.monitor}"] if self.monitor != MONITORS[0] else [])

    def spell(self) -> str:
        extra = self._extra()
        return (f"early_stopping={self.patience}" if not extra else
                "early_stopping=" + "+".join([f"patience:{self.patience}"] + extra))

    def describe(self) -> str:
        extra = self._extra()
        return f"early stopping (patience {self.patience}" + ("".join(f", {e.replace(':', ' ')}" for e in extra)) + ")"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "EarlyStopping | None":
        return cls(patience=values["early_stopping"]) if values.get("early_stopping") else None

    def train_options(self) -> str:
        return f"--arm {self.spell()}" if self._extra() else f"--early-stopping {self.patience}"

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"early_stopping": 10}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        if value is None:
            return 10
        where = f"--space early_stopping={value}"
        patience = number(value, where, "early_stopping=10")
        if patience != int(patience):
            raise GoodfitError(f"{where}: patience must be a whole number, e.g. early_stopping=10")
        return int(patience)

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        if setting is not None and (int(setting) != setting or setting < 1):
            raise GoodfitError(f"--space early_stopping={setting}: patience must be a whole number >= 1")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "EarlyStopping | None":
        if space.get("early_stopping") and rng.random() < 0.5:
            return cls(patience=int(space["early_stopping"]))
        return None

    def check(self, arm: str, kind: str, task: str) -> None:
        if task == "regression" and self.monitor == "val_accuracy":
            raise GoodfitError(f"arm {arm!r} stops early on validation accuracy, which a regression does not "
                               "have; monitor val_loss (the default)")

    def settings(self) -> dict:
        """Its patience in epochs; stop and restore the best validation epoch's weights."""
        return {"early_stopping": self.patience}
