"""The values of a diagnosis: its regimes, the remedies it knows, the thresholds of its rules, what goes in and out.

What goes in is a `Context` (validated here and nowhere else); what comes out is a `Diagnosis` with its
ranked `Advice`. The other rooms of `goodfit.diagnose` read their thresholds from here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from goodfit.errors import GoodfitError
from goodfit.remedies import REMEDIES as KEYS
from goodfit.remedies import WORDS, word_of

REGIMES = ("underfitting", "still_improving", "good_fit", "overfitting", "memorization", "diverged")
REMEDIES = tuple(WORDS)  # the registry's words: how arms, advice and contexts name remedies
CONFIDENCE = ("low", "medium", "high")

MIN_VALIDATED = 2  # fewer validated epochs: nothing to judge, a GoodfitError
MIN_EPOCHS_TO_JUDGE = 5  # fewer: "too short to judge", confidence low
TREND_P = 0.05  # one-sided Mann-Kendall significance for a rise or a fall
MIN_RISE = 0.03  # overfitting: the curve rises >= 3% of its smoothed minimum after the turn
NOISE_MULTIPLE = 2.0  # overfitting: the rise must also exceed twice the epoch-to-epoch noise
STEP_RISE = 0.10  # a lasting rise: the last third after the turn sits >= 10% of the minimum above the turn
STEP_NOISE = 4.0  # and >= 4 standard errors of the noise above it (its median against theirs)
MIN_GAIN = 0.03  # still improving: >= 3% lower over the last third of the run
NEAR_PERFECT = 0.95  # training accuracy counted as near 100%
NEAR_CHANCE = 0.15  # validation accuracy within 15% of the way from chance to 100% is near chance
UNDERFIT = 0.75  # training accuracy below 75% of the way from chance to 100% is underfitting
WEAK_P = 0.05  # a rise too noisy to call alone counts with other signs: Mann-Kendall p < WEAK_P and a
WEAK_NOISE = 1.5  # Theil-Sen rise past WEAK_NOISE standard errors of the noise (and MIN_RISE of the minimum)
ACC_FALL = 0.01  # validation accuracy fell >= 1 point since its peak (Mann-Kendall p < TREND_P)
ACC_CLIMB = 0.02  # while training accuracy climbed >= 2 points (Mann-Kendall p < TREND_P)
ERROR_CLIMB = 0.05  # an error metric (RMSE, MAE): training error fell >= 5% of its level (validation: MIN_RISE)
GAP_WIDEN = 0.02  # the accuracy gap widened >= 2 points since the turn (or the loss gap >= MIN_RISE of the loss)


@dataclass(frozen=True)
class Context:
    """What is known about the run beyond its curves; it shapes the advice, not the regime.

    Args:
        num_params: trainable parameters of the model. Default None (unknown).
        train_size: training samples. Default None.
        remedies: remedies the run already used, by their arm words (`REMEDIES`: `dropout`, `l2`, `decay`,
            ...); a remedy's JSON key (`weight_decay`) reads as its first word (`l2`). Default none.
        num_classes: number of classes, for chance level. Default None (the history's, if any).
        data_kind: `image`, `sequence` or `table`; picks which augmentation advice fits. Default None.

    Example:
        >>> Context(num_params=10_858, train_size=300, remedies=("dropout", "weight_decay")).remedies
        ('dropout', 'l2')
    """

    num_params: int | None = None
    train_size: int | None = None
    remedies: tuple[str, ...] = ()
    num_classes: int | None = None
    data_kind: str | None = None

    def __post_init__(self):
        unknown = [r for r in self.remedies if r not in WORDS and r not in KEYS]
        if unknown:
            raise GoodfitError(f"unknown remedy {unknown[0]!r} in context; use names among {', '.join(REMEDIES)}")
        object.__setattr__(self, "remedies", tuple(r if r in WORDS else KEYS[r].words[0] for r in self.remedies))
        for name in ("num_params", "train_size", "num_classes"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise GoodfitError(f"context {name} must be a positive integer, got {value}")


def as_context(context: Context | Mapping | None) -> Context:
    """A `Context` from what `diagnose` was given: nothing, a `Context`, or a dict of its fields (checked by name).

    Example:
        >>> as_context({"train_size": 300}).train_size
        300
    """
    if context is None:
        return Context()
    if isinstance(context, Context):
        return context
    unknown = set(context) - {"num_params", "train_size", "remedies", "num_classes", "data_kind"}
    if unknown:
        raise GoodfitError(f"unknown context key(s) {', '.join(sorted(unknown))}; use num_params, train_size, "
                           "remedies, num_classes, data_kind")
    return Context(**context)


def context_from_config(config: Mapping) -> Context:
    """The `Context` of a goodfit run from its `config.json` (see `history.read_run_config`).

    Args:
        config: the parsed `config.json`; missing keys stay unknown.

    Returns:
        The `Context`.

    Example:
        >>> context_from_config({"num_params": 500, "splits": {"train": 300},
        ...                      "arm": {"remedies": [{"remedy": "dropout", "rate": 0.3},
        ...                                           {"remedy": "weight_decay", "strength": 0.01, "decoupled": True}]}}).remedies
        ('dropout', 'decay')
    """
    arm = config.get("arm") or {}
    unknown = [r.get("remedy") for r in arm.get("remedies", []) if r.get("remedy") not in KEYS]
    if unknown:
        raise GoodfitError(f"the run's config.json names remedy {unknown[0]!r}, which this goodfit does not know; "
                           f"use a goodfit that knows it, or drop config.json from the folder")
    remedies = tuple(word_of(r) for r in arm.get("remedies", []))
    return Context(num_params=config.get("num_params"), train_size=(config.get("splits") or {}).get("train"),
                   remedies=remedies, num_classes=config.get("num_classes"),
                   data_kind=(config.get("dataset") or {}).get("kind"))


@dataclass(frozen=True)
class Advice:
    """One ranked remedy and the evidence-based reason for it.

    Example:
        >>> Advice("early_stopping", "validation loss was lowest at epoch 14").to_dict()["remedy"]
        'early_stopping'
    """

    remedy: str
    reason: str

    def to_dict(self) -> dict:
        return {"remedy": self.remedy, "reason": self.reason}


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a history: regime, since when, the best epoch, the gap, why, and what to do.

    Args:
        regime: one of `REGIMES`.
        onset_epoch: 1-based epoch where overfitting (or divergence) began; None otherwise.
        best_epoch: 1-based epoch of the best validation loss (or accuracy); the weights to keep.
        gap: train minus validation loss and accuracy at the best and final epochs,
            `{"best": {"loss": .., "accuracy": ..}, "final": {..}}`; None where not logged. A
            regression log adds its score's key (`mae`, `rmse` or `r2`) beside them.
        evidence: sentences with the numbers behind the verdict.
        advice: remedies, most promising first.
        confidence: `low`, `medium` or `high`.
        judged_on: the curve the verdict rests on: `val_loss`, else `val_accuracy`, `val_r2`, `val_rmse` or `val_mae`.
        epochs: the number of epochs in the history.
        spread: for several seeds, how their verdicts agree (see `diagnose_seeds`); else None.

    Example:
        >>> d = Diagnosis("good_fit", None, 12, {}, ("flat",), (), "medium", "val_loss", 20)
        >>> d.to_dict()["regime"], d.to_dict()["advice"]
        ('good_fit', [])
    """

    regime: str
    onset_epoch: int | None
    best_epoch: int | None
    gap: dict
    evidence: tuple[str, ...]
    advice: tuple[Advice, ...]
    confidence: str
    judged_on: str
    epochs: int
    spread: dict | None = field(default=None)

    def to_dict(self) -> dict:
        """The JSON form the architecture page specifies."""
        out = {"regime": self.regime, "onset_epoch": self.onset_epoch, "best_epoch": self.best_epoch,
               "gap": {k: dict(v) for k, v in self.gap.items()}, "evidence": list(self.evidence),
               "advice": [a.to_dict() for a in self.advice], "confidence": self.confidence,
               "judged_on": self.judged_on, "epochs": self.epochs}
        if self.spread is not None:
            out["spread"] = self.spread
        return out
