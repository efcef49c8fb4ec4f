"""What every remedy's home provides, and the small parsing helpers they share.

A remedy is a frozen dataclass (its setting) that also answers, through the methods below, how an arm
spells it, how a person reads it, which `goodfit train` flags rebuild it, where the recipe may search
it and what the diagnosis calls it. The registry (`registry.py`) reads nothing else. Pure values: no
torch, no training (the engine's pieces name the remedy they serve).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from goodfit.errors import GoodfitError


def check_range(name: str, value: float, low: float, high: float, closed_high: bool = False, hint: str = "") -> None:
    """Raise unless `low <= value < high` (`<= high` when `closed_high`)."""
    ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise GoodfitError(f"{name} must be in [{low}, {high}{bracket}, got {value}{hint}")


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str:
    """` (did you mean dropout?)` when a choice is close to `word` (difflib's ratio at least `cutoff`), else nothing.

    Example:
        >>> did_you_mean("dropuot", ["dropout", "l2"]), did_you_mean("xyz", ["dropout"])
        (' (did you mean dropout?)', '')
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]}?)" if close else ""


def number(text: str, what: str, example: str) -> float:
    """`text` as a finite number, or a one-line error naming `what` and an `example`.

    Example:
        >>> number("1e-4", "arm l2=1e-4", "l2=1e-4")
        0.0001
    """
    try:
        value = float(text)
    except ValueError:
        raise GoodfitError(f"{what}: {text!r} is not a number; e.g. {example}") from None
    if not math.isfinite(value):
        raise GoodfitError(f"{what}: {text!r} is not a finite number; e.g. {example}")
    return value


def whole(text: str, what: str, example: str) -> int:
    """`text` as a whole number (`20`, `20.0`), or a one-line error."""
    value = number(text, what, example)
    if value != int(value):
        raise GoodfitError(f"{what}: {text!r} is not a whole number; e.g. {example}")
    return int(value)


def options(where: str, settings: str, main: str, allowed: dict[str, str], example: str) -> dict[str, str]:
    """An arm's settings: `0.5` -> {main: '0.5'}; `a:1+b:2` -> {'a': '1', 'b': '2'}; each key once and known.

    Example:
        >>> options("arm shrink=width:0.5+depth:1", "width:0.5+depth:1", "width", {"width": "0.5", "depth": "1"}, "")
        {'width': '0.5', 'depth': '1'}
    """
    if ":" not in settings and "+" not in settings and settings not in allowed:
        return {main: settings}
    found: dict[str, str] = {}
    name = where.removeprefix("arm ").partition("=")[0]
    for part in settings.split("+"):
        key, colon, value = part.partition(":")
        key = key.strip()
        if key not in allowed:
            raise GoodfitError(f"{where}: {key!r} is not a setting of {name}{did_you_mean(key, allowed)}; "
                               f"use {', '.join(f'{k}:{v}' for k, v in allowed.items())}, e.g. {example}")
        if not colon or not value.strip():
            raise GoodfitError(f"{where}: {key} needs a value, e.g. {key}:{allowed[key]}")
        if key in found:
            raise GoodfitError(f"{where}: {key} is given twice; keep one")
        found[key] = value.strip()
    return found


def search_range(text: str, where: str, example: str) -> tuple[float, float]:
    """A search range `LOW:HIGH` of the recipe's space."""
    parts = text.split(":")
    if len(parts) != 2:
        raise GoodfitError(f"{where}: a range is LOW:HIGH, e.g. {example}")
    return number(parts[0], where, example), number(parts[1], where, example)


def check_search_range(word: str, r: tuple[float, float] | None, low: float, high: float, example: str) -> None:
    """Raise unless the range rises and stays within [low, high]."""
    if r is not None and not (low <= r[0] <= r[1] <= high):
        raise GoodfitError(f"--space {word}={r[0]:g}:{r[1]:g}: the range must rise and stay within "
                           f"[{low:g}, {high:g}]; e.g. {example}")


def two_digits(x: float) -> float:
    """Two significant digits: strengths drawn by the search that read well in a command.

    Example:
        >>> two_digits(0.123456)
        0.12
    """
    return float(f"{x:.2g}")


@dataclass(frozen=True)
class Flag:
    """One `goodfit train` option of a remedy: `--NAME VALUE` (or a switch when `kind` is bool).

    Args:
        name: the option without dashes, e.g. `early-stopping`.
        kind: the value's Python type (`float`, `int`, `str` or `bool` for a switch).
        default: the value that means "not given".
        help: one line for `--help`.
    """

    name: str
    kind: type
    default: Any
    help: str

    @property
    def dest(self) -> str:
        """The keyword the value arrives under: `early-stopping` -> `early_stopping`."""
        return self.name.replace("-", "_")


class Remedy:
    """The protocol of a remedy's home; each remedy dataclass derives from it and fills in its part.

    Class attributes:
        key: the remedy's name in JSON (`Arm.to_dict`), e.g. `weight_decay`.
        words: how arms spell it, e.g. `("l2", "decay")`; the first is the usual one.
        in_all: whether the default `all` arm combines it.
        needs_classes: classification only (a regression member with it is refused).
        flags: its `goodfit train` options.
        log_strength: its strengths span decades (a sweep's figure puts them on a log axis).
    """

    key: ClassVar[str]
    words: ClassVar[tuple[str, ...]]
    setting_names: ClassVar[tuple[str, ...]] = ()  # its names in a training function's `Settings`
    in_all: ClassVar[bool] = True
    needs_classes: ClassVar[bool] = False
    flags: ClassVar[tuple[Flag, ...]] = ()
    log_strength: ClassVar[bool] = False

    # ---- the arm grammar ---------------------------------------------------------------------------
    @classmethod
    def defaults(cls, kind: str) -> dict[str, "Remedy"]:
        """Each word's remedy at the study's default strength, for data of this kind."""
        raise NotImplementedError

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "Remedy":
        """The remedy that `word=settings` spells (settings never empty)."""
        raise NotImplementedError

    @property
    def word(self) -> str:
        """The word this value goes by in arms, advice and reports (`l2` or `decay` for weight decay)."""
        return self.words[0]

    def spell(self) -> str:
        """This remedy in the arm grammar; `parse` reads it back to an equal value."""
        raise NotImplementedError

    def describe(self) -> str:
        """This remedy in words, for a recipe or a report: `dropout 0.3`, `L2 0.0001`."""
        raise NotImplementedError

    def axis_value(self) -> float | None:
        """Its main setting as one number, where a figure puts it on an axis (`axis_label`); None: on or off."""
        return None

    @property
    def axis_label(self) -> str:
        """How an axis of `axis_value` reads: `dropout rate`, `L2 strength`; for a toggle, the remedy's name."""
        return self.word.replace("_", " ")

    # ---- goodfit train -----------------------------------------------------------------------------
    @classmethod
    def from_flags(cls, values: dict[str, Any], kind: str) -> "Remedy | None":
        """The remedy the `goodfit train` options in `values` (by `Flag.dest`) ask for, or None."""
        return None

    def train_options(self) -> str:
        """The `goodfit train` options that rebuild this remedy (`--arm` spelling when it has no flags)."""
        return f"--arm {self.spell()}"

    # ---- the recipe's search space -----------------------------------------------------------------
    @classmethod
    def space_words(cls) -> tuple[str, ...]:
        return cls.words

    @classmethod
    def space_default(cls, kind: str) -> dict[str, Any]:
        """Each space word's setting in the default search (None: searched only when named)."""
        return {w: None for w in cls.space_words()}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str) -> Any:
        """The search setting `--space word=value` asks for (`value` None: the word alone)."""
        raise NotImplementedError

    @classmethod
    def space_check(cls, word: str, setting: Any) -> None:
        """Raise if a search setting is out of range."""

    @classmethod
    def sample(cls, space: dict[str, Any], rng: np.random.Generator) -> "Remedy | None":
        """One candidate's remedy, drawn from its words' settings in `space`, or None (half the time)."""
        raise NotImplementedError

    # ---- training ----------------------------------------------------------------------------------
    def check(self, arm: str, kind: str, task: str) -> None:
        """Raise if this remedy cannot train on this kind of data and task."""
        if self.needs_classes and task == "regression":
            raise GoodfitError(f"arm {arm!r} uses {self.word}, which needs classes; a regression target has none: "
                               "leave the remedy out")

    def module_keywords(self) -> dict[str, Any]:
        """What this remedy asks of the model itself, as factory keywords (`dropout`, `batchnorm`, `width`)."""
        return {}

    def settings(self) -> dict[str, Any]:
        """This remedy as plain values a training function applies (`goodfit.fit.Settings`), under the names of
        `setting_names`: by default what it asks of the model."""
        return self.module_keywords()
