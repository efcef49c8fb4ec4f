"""The one list of remedies: every other room (grammar, space, recipe, CLI, diagnosis, causes, report)
reads the remedies from here. Adding a remedy is its file, its test and one line below.
"""
from __future__ import annotations

from goodfit.errors import GoodfitError
from goodfit.remedies.augment import Augment
from goodfit.remedies.base import Flag, Remedy, did_you_mean
from goodfit.remedies.batchnorm import BatchNorm
from goodfit.remedies.class_weights import ClassWeights
from goodfit.remedies.dropout import Dropout
from goodfit.remedies.early_stopping import EarlyStopping
from goodfit.remedies.label_smoothing import LabelSmoothing
from goodfit.remedies.shrink import Shrink
from goodfit.remedies.weight_decay import WeightDecay

# The order is the recipe's order of drawing a candidate's remedies, and the order of the `all` arm.
REGISTRY: tuple[type[Remedy], ...] = (Dropout, WeightDecay, Augment, BatchNorm, Shrink, EarlyStopping, LabelSmoothing,
                                      ClassWeights)
REMEDIES = {cls.key: cls for cls in REGISTRY}  # by JSON key: `weight_decay` -> WeightDecay
WORDS = {word: cls for cls in REGISTRY for word in cls.words}  # by how arms spell them: `l2` -> WeightDecay


def remedy_for(word: str) -> type[Remedy]:
    """The remedy class an arm word (`l2`) or a JSON key (`weight_decay`) names, or a one-line error.

    Example:
        >>> remedy_for("l2").__name__, remedy_for("weight_decay").__name__
        ('WeightDecay', 'WeightDecay')
    """
    cls = WORDS.get(word) or REMEDIES.get(word)
    if cls is None:
        raise GoodfitError(f"{word!r} is not a remedy{did_you_mean(word, WORDS)}; use one of {', '.join(WORDS)}")
    return cls


def word_of(entry: dict) -> str:
    """The word of a remedy as `Arm.to_dict` writes it (`{"remedy": "weight_decay", "decoupled": true, ...}`).

    Example:
        >>> word_of({"remedy": "weight_decay", "strength": 0.01, "decoupled": True})
        'decay'
    """
    entry = dict(entry)
    return REMEDIES[entry.pop("remedy")](**entry).word


def train_flags() -> tuple[Flag, ...]:
    """Every remedy's `goodfit train` options, in registry order."""
    return tuple(flag for cls in REGISTRY for flag in cls.flags)
