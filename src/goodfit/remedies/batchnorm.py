"""Batch normalization: its value, spelling, words, flag and search, in one home.

It acts inside the forward pass: the layers (`goodfit.nn`) normalize, keyed by `module_keywords`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import Flag, Remedy, check_range, number

DEFAULT_MOMENTUM = 0.1


@dataclass(frozen=True)
class BatchNorm(Remedy):
    """Normalize each hidden layer over the batch, with learned scale and shift and running statistics.

    Args:
        momentum: weight of the newest batch in the running statistics. Default 0.1.

    Example:
        >>> BatchNorm().momentum
        0.1
        >>> BatchNorm().spell(), BatchNorm(0.05).spell(), BatchNorm(0.05).train_options()
        ('batchnorm', 'batchnorm=0.05', '--arm batchnorm=0.05')
    """

    key: ClassVar[str] = "batchnorm"
    words: ClassVar[tuple[str, ...]] = ("batchnorm",)
    setting_names: ClassVar[tuple[str, ...]] = ('batchnorm', 'bn_momentum')
    flags: ClassVar[tuple[Flag, ...]] = (Flag("batchnorm", bool, False, "Batch normalization in hidden layers."),)
    momentum: float = DEFAULT_MOMENTUM

    def __post_init__(self):
        check_range("batch-norm momentum", self.momentum, 0.0, 1.0, closed_high=True)

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"batchnorm": cls()}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "BatchNorm":
        return cls(number(settings, f"arm {word}={settings}", "batchnorm=0.1"))

    def spell(self) -> str:
        return "batchnorm" if self.momentum == DEFAULT_MOMENTUM else f"batchnorm={self.momentum:g}"

    def describe(self) -> str:
        return "batch norm" if self.momentum == DEFAULT_MOMENTUM else f"batch norm (momentum {self.momentum:g})"

    @property
    def axis_label(self) -> str:
        return "batch norm"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "BatchNorm | None":
        return cls() if values.get("batchnorm") else None

    def train_options(self) -> str:
        return "--batchnorm" if self.momentum == DEFAULT_MOMENTUM else f"--arm {self.spell()}"

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"batchnorm": True}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        if value is not None:
            raise GoodfitError(f"--space batchnorm={value}: batchnorm takes no range; write batchnorm")
        return True

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "BatchNorm | None":
        return cls() if space.get("batchnorm") and rng.random() < 0.5 else None

    def module_keywords(self) -> dict:
        return {"batchnorm": True} | ({} if self.momentum == DEFAULT_MOMENTUM else {"bn_momentum": self.momentum})
