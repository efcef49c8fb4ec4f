"""Data augmentation: its value, the kinds that apply to each kind of data, spelling, words, flag and search.

The engine's `Augmentation` (engine/augmentation.py) changes each member's batches (`goodfit.augment`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies.base import Flag, Remedy, check_range, did_you_mean, number, two_digits

AUGMENTATIONS = {
    "image": ("rotate", "flip", "zoom", "shift", "noise"),
    "sequence": ("shift", "noise"),
    "table": ("noise", "mixup"),
}
DEFAULT_STRENGTH = {  # what a name alone on the command line means
    "image": {"rotate": 15.0, "flip": 1.0, "zoom": 0.1, "shift": 0.1, "noise": 0.05},
    "sequence": {"shift": 0.1, "noise": 0.05},
    "table": {"noise": 0.1, "mixup": 0.2},
}
STUDY_DEFAULT = {"image": {"rotate": 10.0, "zoom": 0.1, "shift": 0.1, "noise": 0.05}}  # no flip: digits are not symmetric
SEARCH_TOP = {"image": {"rotate": 20.0, "zoom": 0.2, "shift": 0.15, "noise": 0.1},  # the largest strength searched
              "sequence": {"shift": 0.2, "noise": 0.1}, "table": {"noise": 0.2, "mixup": 0.4}}


@dataclass(frozen=True)
class Augment(Remedy):
    """Random, label-preserving changes to each training batch (mixup mixes labels too).

    Args:
        rotate: largest rotation in degrees (images). Default 0.
        flip: probability of a horizontal flip (images). Default 0.
        zoom: largest relative zoom in or out (images). Default 0.
        shift: largest shift as a fraction of the width or length (images, sequences). Default 0.
        noise: standard deviation of added Gaussian noise, in feature units. Default 0.
        mixup: Beta(alpha, alpha) parameter of mixup between samples of a batch (tables). Default 0.

    Example:
        >>> Augment.from_names("shift,noise", "sequence")
        Augment(rotate=0.0, flip=0.0, zoom=0.0, shift=0.1, noise=0.05, mixup=0.0)
        >>> Augment(shift=0.1, noise=0.05).spell(), Augment(shift=0.1, noise=0.05).describe()
        ('augment=shift:0.1+noise:0.05', 'augment shift 0.1 + noise 0.05')
    """

    key: ClassVar[str] = "augment"
    words: ClassVar[tuple[str, ...]] = ("augment",)
    setting_names: ClassVar[tuple[str, ...]] = ('augment',)
    flags: ClassVar[tuple[Flag, ...]] = (
        Flag("augment", str, None, "Augmentations, e.g. shift:0.1+noise:0.05 (as in study arms), shift,noise or "
                                   "rotate=10,noise=0.1; images: rotate, flip, zoom, shift, noise; sequences: shift, "
                                   "noise; tables: noise, mixup."),)
    rotate: float = 0.0
    flip: float = 0.0
    zoom: float = 0.0
    shift: float = 0.0
    noise: float = 0.0
    mixup: float = 0.0

    def __post_init__(self):
        check_range("augment rotate (degrees)", self.rotate, 0.0, 180.0, closed_high=True)
        check_range("augment flip probability", self.flip, 0.0, 1.0, closed_high=True)
        check_range("augment zoom", self.zoom, 0.0, 1.0)
        check_range("augment shift", self.shift, 0.0, 1.0)
        if self.noise < 0 or self.mixup < 0:
            raise GoodfitError("augment noise and mixup must not be negative")

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name) > 0)

    def check_kind(self, kind: str) -> None:
        """Raise if an augmentation does not apply to this kind of data."""
        wrong = [a for a in self.active if a not in AUGMENTATIONS[kind]]
        if wrong:
            raise GoodfitError(f"augmentation {', '.join(wrong)} does not apply to {kind} data; "
                               f"for {kind} data use {', '.join(AUGMENTATIONS[kind])}")

    @classmethod
    def from_names(cls, names: str, kind: str) -> "Augment":
        """Build from a comma list such as `shift,noise` or `rotate=10,noise=0.1` for a kind of data."""
        values = {}
        for item in filter(None, (part.strip() for part in names.split(","))):
            name, _, value = item.partition("=")
            if name not in AUGMENTATIONS[kind]:
                raise GoodfitError(f"augmentation {name!r} does not apply to {kind} data; "
                                   f"choose from {', '.join(AUGMENTATIONS[kind])}")
            try:
                values[name] = float(value) if value else DEFAULT_STRENGTH[kind][name]
            except ValueError:
                raise GoodfitError(f"augmentation strength {value!r} for {name} is not a number; e.g. {name}=0.1") from None
        if not values:
            raise GoodfitError(f"no augmentation named; e.g. --augment {','.join(AUGMENTATIONS[kind])}")
        return cls(**values)

    @classmethod
    def defaults(cls, kind: str) -> dict[str, Remedy]:
        return {"augment": cls(**STUDY_DEFAULT.get(kind, DEFAULT_STRENGTH[kind]))}

    @classmethod
    def parse(cls, word: str, settings: str, kind: str) -> "Augment":
        values, allowed = {}, AUGMENTATIONS[kind]
        for part in settings.split("+"):
            key, colon, value = (s.strip() for s in part.partition(":"))
            if key not in allowed:
                raise GoodfitError(f"arm augment={settings}: {key!r} does not apply to {kind} data"
                                   f"{did_you_mean(key, allowed)}; use {', '.join(allowed)}, "
                                   f"e.g. augment={allowed[0]}:{DEFAULT_STRENGTH[kind][allowed[0]]:g}")
            if key in values:
                raise GoodfitError(f"arm augment={settings}: {key} is given twice; keep one")
            values[key] = (number(value, f"arm augment={settings}", f"{key}:{DEFAULT_STRENGTH[kind][key]:g}")
                           if colon else DEFAULT_STRENGTH[kind][key])
        return cls(**values)

    def spell(self) -> str:
        return "augment=" + "+".join(f"{k}:{getattr(self, k):g}" for k in self.active)

    def describe(self) -> str:
        return "augment " + " + ".join(f"{k} {getattr(self, k):g}" for k in self.active)

    def axis_value(self) -> float:
        return float(len(self.active))

    @property
    def axis_label(self) -> str:
        return "augment kinds"

    @classmethod
    def from_flags(cls, values: dict, kind: str) -> "Augment | None":
        text = values.get("augment")
        if not text:
            return None
        # the study's spelling (shift:0.1+noise:0.05) or a comma list (shift=0.1,noise)
        return cls.parse("augment", text, kind) if ":" in text or "+" in text else cls.from_names(text, kind)

    def train_options(self) -> str:
        return "--augment " + ",".join(f"{k}={getattr(self, k):g}" for k in self.active)

    @classmethod
    def space_default(cls, kind: str) -> dict:
        return {"augment": tuple(SEARCH_TOP[kind].items())}

    @classmethod
    def space_parse(cls, word: str, value: str | None, kind: str):
        """Kinds with their largest strength: `shift:0.2+noise` (a kind alone: its default top)."""
        if value is None:
            return tuple(SEARCH_TOP[kind].items())
        where, out = f"--space augment={value}", {}
        for part in value.split("+"):
            name, colon, top = (s.strip() for s in part.partition(":"))
            if name not in AUGMENTATIONS[kind]:
                raise GoodfitError(f"{where}: {name!r} does not apply to {kind} data; use {', '.join(AUGMENTATIONS[kind])}")
            out[name] = number(top, where, "augment=shift:0.2+noise:0.1") if colon else SEARCH_TOP[kind][name]
            cls(**{name: out[name]})  # the largest strength must itself be valid
        return tuple(out.items())

    @classmethod
    def sample(cls, space: dict, rng: np.random.Generator) -> "Augment | None":
        """Each kind searched for half the candidates, at a strength drawn from (0.1, 1] of its largest."""
        kinds = {k: two_digits(rng.uniform(0.1, 1.0) * top) for k, top in space.get("augment") or () if rng.random() < 0.5}
        return cls(**kinds) if kinds else None

    def check(self, arm: str, kind: str, task: str) -> None:
        self.check_kind(kind)

    def settings(self) -> dict:
        """The strengths it uses, by name: `{"augment": {"shift": 0.1, "noise": 0.05}}`."""
        return {"augment": {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}}
