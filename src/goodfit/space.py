"""The recipe search's space: which remedies a candidate may use, at which strengths, and how it is spelled.

`--space dropout=0.05:0.5,l2=1e-5:1e-2,augment=shift:0.2+noise:0.1,batchnorm,shrink=0.25+0.5,early_stopping=10`:
a range `LOW:HIGH` per remedy (log-scaled for `l2` and `decay`), augmentation kinds with their largest
strength, a few widths for `shrink`, toggles for `batchnorm` and `early_stopping` (its patience); on
request `label_smoothing=0.05:0.2` and the `class_weights` toggle (`class_weights=balanced` for sampling).
Pure values; nothing here trains.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies import (AUGMENTATIONS, CLASS_WEIGHTINGS, Augment, BatchNorm, ClassWeights, Dropout, EarlyStopping,
                              LabelSmoothing, Shrink, WeightDecay)

AUGMENT_SPACE = {"image": {"rotate": 20.0, "zoom": 0.2, "shift": 0.15, "noise": 0.1},
                 "sequence": {"shift": 0.2, "noise": 0.1}, "table": {"noise": 0.2, "mixup": 0.4}}
SPACE_HELP = "dropout=0.05:0.5,l2=1e-5:1e-2,augment=shift:0.2+noise:0.1,batchnorm,shrink=0.25+0.5,early_stopping=10"


@dataclass(frozen=True)
class Space:
    """What the search may choose. Each remedy present is used by half the candidates, at a strength
    drawn uniformly from its range (log-uniformly for `l2` and `decay`); None leaves it out.

    Args:
        dropout: (lowest, highest) rate. Default (0.05, 0.5).
        l2: (lowest, highest) L2 penalty, drawn on a log scale. Default (1e-5, 1e-2).
        decay: (lowest, highest) decoupled decay, log scale; a candidate uses l2 or decay, not both.
            Default None.
        augment: per augmentation kind its largest strength; each kind is used by half the
            candidates at a strength drawn from (0, largest]. Default: the kinds of the data.
        batchnorm: batch norm on for half the candidates. Default True.
        shrink: the narrower widths a candidate may take instead of full width (a few fixed
            widths, so candidates share populations). Default (0.25, 0.5).
        early_stopping: patience for the candidates that stop early, or None. Default 10.
        label_smoothing: (lowest, highest) amount, or None. Default None (searched only when named).
        class_weights: `loss` or `balanced` for half the candidates, or None. Default None.

    Example:
        >>> space = Space.default("sequence")
        >>> space.augment
        (('shift', 0.2), ('noise', 0.1))
        >>> Space.parse("dropout=0.1:0.3,early_stopping=5", "table")
        Space(dropout=(0.1, 0.3), l2=None, decay=None, augment=None, batchnorm=False, shrink=None, early_stopping=5, label_smoothing=None, class_weights=None)
        >>> space = Space.parse("label_smoothing,class_weights=balanced", "table")
        >>> [space.sample(np.random.default_rng(seed)) for seed in (0, 2)]
        [(ClassWeights(how='balanced'),), (LabelSmoothing(amount=0.095),)]
    """

    dropout: tuple[float, float] | None = (0.05, 0.5)
    l2: tuple[float, float] | None = (1e-5, 1e-2)
    decay: tuple[float, float] | None = None
    augment: tuple[tuple[str, float], ...] | None = None
    batchnorm: bool = True
    shrink: tuple[float, ...] | None = (0.25, 0.5)
    early_stopping: int | None = 10
    label_smoothing: tuple[float, float] | None = None
    class_weights: str | None = None

    def __post_init__(self):
        def check_range(name, r, low, high):
            if r is not None and not (low <= r[0] <= r[1] <= high):
                raise GoodfitError(f"--space {name}={r[0]:g}:{r[1]:g}: the range must rise and stay within "
                                   f"[{low:g}, {high:g}]; e.g. {SPACE_HELP}")
        check_range("dropout", self.dropout, 0.0, 0.95)
        check_range("l2", self.l2, 1e-10, 0.5)
        check_range("decay", self.decay, 1e-10, 0.5)
        check_range("label_smoothing", self.label_smoothing, 0.0, 0.5)
        if self.class_weights is not None and self.class_weights not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"--space class_weights={self.class_weights}: use {' or '.join(CLASS_WEIGHTINGS)}")
        for w in self.shrink or ():
            if not 0 < w < 1:
                raise GoodfitError(f"--space shrink={w:g}: a width must be in (0, 1); e.g. shrink=0.25+0.5")
        if self.early_stopping is not None and (int(self.early_stopping) != self.early_stopping or self.early_stopping < 1):
            raise GoodfitError(f"--space early_stopping={self.early_stopping}: patience must be a whole number >= 1")
        if not any((self.dropout, self.l2, self.decay, self.augment, self.batchnorm, self.shrink, self.early_stopping,
                    self.label_smoothing, self.class_weights)):
            raise GoodfitError(f"the search space is empty; name at least one remedy, e.g. --space {SPACE_HELP}")

    @classmethod
    def default(cls, kind: str) -> "Space":
        """Every remedy, with the augmentations that apply to this kind of data."""
        return cls(augment=tuple(AUGMENT_SPACE[kind].items()))

    @classmethod
    def parse(cls, text: str, kind: str) -> "Space":
        """A space from its spelling: only the remedies named are searched; a name alone takes its default range."""
        full = cls.default(kind)
        chosen: dict = {"dropout": None, "l2": None, "decay": None, "augment": None, "batchnorm": False, "shrink": None,
                        "early_stopping": None, "label_smoothing": None, "class_weights": None}
        items = [p.strip() for p in text.split(",") if p.strip()]
        if not items:
            raise GoodfitError(f"the search space is empty; name at least one remedy, e.g. --space {SPACE_HELP}")
        for item in items:
            name, eq, value = (s.strip() for s in item.partition("="))
            where = f"--space {item}"
            if name not in chosen:
                raise GoodfitError(f"{where}: {name!r} is not a remedy; use dropout, l2, decay, augment, batchnorm, "
                                   f"shrink, early_stopping, label_smoothing, class_weights, e.g. {SPACE_HELP}")
            if name == "batchnorm":
                if eq:
                    raise GoodfitError(f"{where}: batchnorm takes no range; write batchnorm")
                chosen[name] = True
            elif name == "class_weights":
                chosen[name] = value if eq else "loss"
            elif name == "label_smoothing":
                chosen[name] = _range(value, where) if eq else (0.05, 0.2)
            elif name in ("dropout", "l2", "decay"):
                default = getattr(full, name) or (1e-4, 1e-1)
                chosen[name] = _range(value, where) if eq else default
            elif name == "augment":
                chosen[name] = _augment_space(value, kind, where) if eq else full.augment
            elif name == "shrink":
                chosen[name] = tuple(_float(v, where) for v in value.split("+")) if eq else full.shrink
            else:
                chosen[name] = _patience(value, where) if eq else full.early_stopping
        return cls(**chosen)

    def sample(self, rng: np.random.Generator) -> tuple:
        """One candidate's remedies: each remedy in the space with probability 1/2."""
        remedies = []
        if self.dropout and rng.random() < 0.5:
            remedies.append(Dropout(_round(rng.uniform(*self.dropout))))
        penalties = [(k, r) for k, r in (("l2", self.l2), ("decay", self.decay)) if r]
        if penalties and rng.random() < 0.5:
            kind, (low, high) = penalties[int(rng.integers(len(penalties)))]
            remedies.append(WeightDecay(_round(math.exp(rng.uniform(math.log(low), math.log(high)))),
                                        decoupled=kind == "decay"))
        if self.augment:
            kinds = {k: _round(rng.uniform(0.1, 1.0) * top) for k, top in self.augment if rng.random() < 0.5}
            if kinds:
                remedies.append(Augment(**kinds))
        if self.batchnorm and rng.random() < 0.5:
            remedies.append(BatchNorm())
        if self.shrink and rng.random() < 0.5:
            remedies.append(Shrink(float(self.shrink[int(rng.integers(len(self.shrink)))])))
        if self.early_stopping and rng.random() < 0.5:
            remedies.append(EarlyStopping(patience=int(self.early_stopping)))
        if self.label_smoothing and rng.random() < 0.5:
            remedies.append(LabelSmoothing(_round(rng.uniform(*self.label_smoothing))))
        if self.class_weights and rng.random() < 0.5:
            remedies.append(ClassWeights(self.class_weights))
        return tuple(remedies)

    def to_dict(self) -> dict:
        """Its settings; the label remedies only when searched, so that older plans keep their fingerprint."""
        settings = asdict(self)
        for name in ("label_smoothing", "class_weights"):
            if settings[name] is None:
                del settings[name]
        return settings


def _round(x: float) -> float:
    """Two significant digits: strengths that read well in a command."""
    return float(f"{x:.2g}")


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GoodfitError(f"{where}: {text!r} is not a number; e.g. {SPACE_HELP}") from None
    if not math.isfinite(value):
        raise GoodfitError(f"{where}: {text!r} is not a finite number")
    return value


def _range(text: str, where: str) -> tuple[float, float]:
    parts = text.split(":")
    if len(parts) != 2:
        raise GoodfitError(f"{where}: a range is LOW:HIGH, e.g. dropout=0.05:0.5")
    return _float(parts[0], where), _float(parts[1], where)


def _patience(text: str, where: str) -> int:
    value = _float(text, where)
    if value != int(value):
        raise GoodfitError(f"{where}: patience must be a whole number, e.g. early_stopping=10")
    return int(value)


def _augment_space(text: str, kind: str, where: str) -> tuple[tuple[str, float], ...]:
    out = {}
    for part in text.split("+"):
        name, colon, top = (s.strip() for s in part.partition(":"))
        if name not in AUGMENTATIONS[kind]:
            raise GoodfitError(f"{where}: {name!r} does not apply to {kind} data; use {', '.join(AUGMENTATIONS[kind])}")
        out[name] = _float(top, where) if colon else AUGMENT_SPACE[kind][name]
        Augment(**{name: out[name]})  # the largest strength must itself be valid
    return tuple(out.items())
