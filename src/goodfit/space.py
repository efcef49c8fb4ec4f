"""The recipe search's space: which remedies a candidate may use, at which strengths, and how it is spelled.

`--space dropout=0.05:0.5,l2=1e-5:1e-2,augment=shift:0.2+noise:0.1,batchnorm,shrink=0.25+0.5,early_stopping=10`:
one entry per remedy word, its setting read by the remedy's own home (`goodfit.remedies`): a range
`LOW:HIGH` (log-scaled for `l2` and `decay`), augmentation kinds with their largest strength, a few
widths for `shrink`, toggles for `batchnorm` and `early_stopping` (its patience); on request
`label_smoothing=0.05:0.2` and the `class_weights` toggle. Pure values; nothing here trains.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.remedies import REGISTRY
from goodfit.remedies.base import did_you_mean

SPACE_HELP = "dropout=0.05:0.5,l2=1e-5:1e-2,augment=shift:0.2+noise:0.1,batchnorm,shrink=0.25+0.5,early_stopping=10"
OWNERS = {word: cls for cls in REGISTRY for word in cls.space_words()}  # a space word -> the remedy that reads it


@dataclass(frozen=True)
class Space:
    """What the search may choose: per remedy word its setting, None for a word not searched. Each
    remedy present is used by half the candidates, at a strength its own `sample` draws.

    Args:
        settings: `(word, setting)` pairs for every word of `OWNERS`, in registry order.

    Example:
        >>> space = Space.default("sequence")
        >>> space["augment"]
        (('shift', 0.2), ('noise', 0.1))
        >>> Space.parse("dropout=0.1:0.3,early_stopping=5", "table").searched
        {'dropout': (0.1, 0.3), 'early_stopping': 5}
        >>> space = Space.parse("label_smoothing,class_weights=balanced", "table")
        >>> [space.sample(np.random.default_rng(seed)) for seed in (0, 2)]
        [(ClassWeights(how='balanced'),), (LabelSmoothing(amount=0.095),)]
    """

    settings: tuple[tuple[str, Any], ...]

    def __post_init__(self):
        given = dict(self.settings)
        unknown = [w for w in given if w not in OWNERS]
        if unknown:
            raise GoodfitError(f"--space {unknown[0]}: not a remedy{did_you_mean(unknown[0], OWNERS)}; "
                               f"use {', '.join(OWNERS)}, e.g. {SPACE_HELP}")
        object.__setattr__(self, "settings", tuple((w, given.get(w)) for w in OWNERS))
        for word, setting in self.settings:
            OWNERS[word].space_check(word, setting)
        if not self.searched:
            raise GoodfitError(f"the search space is empty; name at least one remedy, e.g. --space {SPACE_HELP}")

    def __getitem__(self, word: str):
        return dict(self.settings)[word]

    @property
    def searched(self) -> dict[str, Any]:
        """The words searched and their settings."""
        return {w: s for w, s in self.settings if s}

    @classmethod
    def default(cls, kind: str) -> "Space":
        """Every remedy's default search, with the augmentations that apply to this kind of data."""
        return cls(tuple(item for r in REGISTRY for item in r.space_default(kind).items()))

    @classmethod
    def parse(cls, text: str, kind: str) -> "Space":
        """A space from its spelling: only the remedies named are searched; a name alone takes its default."""
        items = [p.strip() for p in text.split(",") if p.strip()]
        if not items:
            raise GoodfitError(f"the search space is empty; name at least one remedy, e.g. --space {SPACE_HELP}")
        chosen = {}
        for item in items:
            word, eq, value = (s.strip() for s in item.partition("="))
            if word not in OWNERS:
                raise GoodfitError(f"--space {item}: {word!r} is not a remedy{did_you_mean(word, OWNERS)}; use "
                                   f"{', '.join(OWNERS)}, e.g. {SPACE_HELP}")
            chosen[word] = OWNERS[word].space_parse(word, value if eq else None, kind)
        return cls(tuple(chosen.items()))

    def sample(self, rng: np.random.Generator) -> tuple:
        """One candidate's remedies: each remedy in the space with probability 1/2, drawn in registry order."""
        space = dict(self.settings)
        return tuple(r for r in (cls.sample(space, rng) for cls in REGISTRY) if r is not None)

    def to_dict(self) -> dict:
        """The words searched and their settings (what a plan stores)."""
        return {w: list(s) if isinstance(s, tuple) else s for w, s in self.searched.items()}
