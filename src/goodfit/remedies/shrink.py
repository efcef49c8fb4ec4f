"""Reducing capacity (narrower, or fewer, hidden layers): its value, spelling, words, flags and search.

It acts on the model itself: a width keyword of the factory, or a depth of goodfit's own models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import Flag, Remedy, check_range, number, options, whole

SEARCH_WIDTHS = (0.25, 0.5)  # a few fixed widths, so that candidates share populations


@dataclass(frozen=True)
class Shrink(Remedy):
    """Reduce capacity: fewer hidden units (or channels) and, optionally, fewer hidden layers.

    Args:
        width: fraction of the hidden units kept, in (0, 1]. Default 0.5.
        depth: number of hidden layers (convolution blocks for CNNs), or None to keep. Default None.

    Example:
        >>> Shrink(0.25).width
        0.25
        >>> Shrink(0.5, 1).spell(), Shrink(0.5, 1).describe(), Shrink(0.5, 1).train_options()
        ('shrink=width:0.5+depth:1', 'width 0.5, depth 1', '--width 0.5 --depth 1')
    """

    key: ClassVar[str] = "shrink"
    words: ClassVar[tuple[str, ...]] = ("shrink",)
    setting_names: ClassVar[tuple[str, ...]] = ('width', 'depth')
    flags: ClassVar[tuple[Flag, ...]] = (Flag("width", float, 1.0, "Fraction of hidden units kept (capacity reduction)."),
                                         Flag("depth", int, None, "Reduce the hidden layers (MLP) or convolution blocks "
                                                                  "(CNN) to this (capacity reduction)."))
    width: float = 0.5
    depth: int | None = None

    def __post_init__(self):
        check_range("shrink width", self.width, 1e-9, 1.0, closed_high=True, hint="; e.g. --width 0.5")
        if self.depth is not None and (int(self.depth) != self.depth or self.depth < 1):
            raise GoodfitError(f"shrink depth must be a whole number >= 1, got {self.depth}")

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"shrink": cls(0.25)}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "Shrink":
        where = f"arm {word}={settings}"
        o = options(where, settings, "width", {"width": "0.5", "depth": "1"}, "shrink=0.5")
        depth = o.get("depth")
        return cls(number(o.get("width", "1"), where, "shrink=0.5"),
                   None if depth is None else whole(depth, where, "shrink=width:0.5+depth:1"))

    def spell(self) -> str:
        return f"shrink={self.width:g}" if self.depth is None else f"shrink=width:{self.width:g}+depth:{self.depth}"

    def describe(self) -> str:
        return f"width {self.width:g}" + (f", depth {self.depth}" if self.depth is not None else "")

    def axis_value(self) -> float:
        return self.width

    @property
    def axis_label(self) -> str:
        return "width kept"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "Shrink | None":
        width, depth = values.get("width", 1.0), values.get("depth")
        return cls(width, depth) if width != 1.0 or depth else None

    def train_options(self) -> str:
        return f"--width {self.width:g}" + (f" --depth {self.depth}" if self.depth else "")

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"shrink": SEARCH_WIDTHS}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        if value is None:
            return SEARCH_WIDTHS
        return tuple(number(v, f"--space shrink={value}", "shrink=0.25+0.5") for v in value.split("+"))

    @classmethod
    def space_check(cls, word: str, setting) -> None:
        for w in setting or ():
            if not 0 < w < 1:
                raise GoodfitError(f"--space shrink={w:g}: a width must be in (0, 1); e.g. shrink=0.25+0.5")

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "Shrink | None":
        widths = space.get("shrink")
        if widths and rng.random() < 0.5:
            return cls(float(widths[int(rng.integers(len(widths)))]))
        return None

    def settings(self) -> dict:
        return {"width": self.width} | ({} if self.depth is None else {"depth": self.depth})

    def module_keywords(self) -> dict:
        return {"width": self.width}
