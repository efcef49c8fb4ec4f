"""The verdict: regime, onset epoch and confidence, from the `Facts` of one member.

Each rule of the `goodfit.diagnose` docstring is one small predicate here; `regime_of` tries them in order.
"""
from __future__ import annotations

import numpy as np

from goodfit.diagnose.facts import Facts
from goodfit.diagnose.trend import mann_kendall, smooth, tail_trend
from goodfit.diagnose.values import (CONFIDENCE, MIN_EPOCHS_TO_JUDGE, MIN_GAIN, MIN_RISE, NEAR_CHANCE, NEAR_PERFECT,
                                     TREND_P, UNDERFIT)


def _train_fell(f: Facts, since: int) -> float | None:
    """Relative fall of the training loss from an epoch to the end; None without a training loss."""
    start, end = f.at(f.c.train_loss, since), f.last(f.c.train_loss)
    if not np.isfinite(start):  # logged less often than validation: its first value from then on
        later = f.c.train_loss[(f.c.epochs >= since) & np.isfinite(f.c.train_loss)]
        start = float(later[0]) if len(later) else start
    if not np.isfinite(start) or not np.isfinite(end) or start == 0:
        return None
    return (start - end) / abs(start)


def _val_score_best(f: Facts) -> float:
    """The best smoothed validation score (accuracy or R²)."""
    return float(np.nanmax(smooth(f.c.val_score[np.isfinite(f.c.val_score)])))


def _memorized(f: Facts) -> bool:
    """Training fits while validation stays at chance: training accuracy (or R²) near perfect, else the
    training loss down 90%, against validation accuracy near chance; with losses alone and C known, a
    validation loss that never beat guessing."""
    if f.c.bounded and f.chance is not None and np.isfinite(f.c.val_score).any():
        at_chance = _val_score_best(f) <= f.chance + NEAR_CHANCE * (1 - f.chance)
        if np.isfinite(f.c.train_score).any():
            return at_chance and f.last(f.c.train_score) >= NEAR_PERFECT
        fell = _train_fell(f, int(f.c.epochs[0]))
        return at_chance and fell is not None and fell >= 0.9
    if f.c.score is None and f.chance_known and f.judged_on == "val_loss" and f.has_train:
        fell = _train_fell(f, int(f.c.epochs[0]))  # never better than guessing, ln C, while training fits
        return float(np.min(f.s)) >= (1 - NEAR_CHANCE) * np.log(1 / f.chance) and fell is not None and fell >= 0.9
    return False


def trend_rising(f: Facts) -> bool:
    return f.n - 1 - f.i_min >= 3 and f.p_rise < TREND_P and f.rise >= MIN_RISE


def clear_rise(f: Facts) -> bool:
    """A clear rise: a trend from the turn to the end, or a rise that came and lasted."""
    return trend_rising(f) or f.lasting is not None


def _overfitting(f: Facts) -> bool:
    """The article's three signs: the judged curve rising, validation accuracy falling or stalling while
    training accuracy climbs, the gap widening. A clear rise is enough alone; a rise too noisy to call
    needs validation accuracy to fall, or the gap to widen while it stalls (or with no accuracy
    logged); without a rise, validation accuracy must fall and the gap widen."""
    with_rise = f.score_sign == "fall" or (f.gap_sign is not None and (f.score_sign == "stall" or not f.has_score))
    return clear_rise(f) or (f.weak_rise and with_rise) or (f.score_sign == "fall" and f.gap_sign is not None)


def _signs(f: Facts) -> int:
    return int(clear_rise(f) or f.weak_rise) + int(f.score_sign is not None) + int(f.gap_sign is not None)


def _improving(f: Facts) -> bool:
    return f.p_fall < TREND_P and -f.tail_change >= MIN_GAIN


def _train_improving(f: Facts) -> bool:
    y = f.c.train_loss if f.has_train else f.c.error(f.c.train_score)
    ok = np.isfinite(y)
    if ok.sum() < 4:
        return False
    change, p, _ = tail_trend(f.c.epochs[ok], y[ok])
    return p < TREND_P and -change >= MIN_GAIN


def _fit_level(f: Facts) -> float | None:
    """How far training accuracy (or R²) got from chance to 100%, as a fraction; None without either."""
    if not f.c.bounded or not np.isfinite(f.c.train_score).any():
        return None
    chance = f.chance if f.chance_known else 0.0
    return (f.last(f.c.train_score) - chance) / (1 - chance)


def underfit(f: Facts) -> bool:
    level = _fit_level(f)
    if level is not None:
        return level < UNDERFIT
    if not f.has_train or f.judged_on != "val_loss":
        return False
    t_end, v_end = f.last(f.c.train_loss), f.last(f.c.val_loss)
    if f.chance_known and f.c.classification:
        return t_end > 0.5 * np.log(1 / f.chance)
    fell = _train_fell(f, int(f.c.epochs[0])) or 0.0
    return fell < 0.5 and abs(v_end - t_end) <= 0.05 * abs(v_end)


def val_score_still_rising(f: Facts) -> bool:
    """Validation accuracy still improved after the loss turned (an error metric still fell by 1%)."""
    if f.judged_on != "val_loss" or not np.isfinite(f.c.val_score).any():
        return False
    after = f.c.good(f.c.val_score[(f.c.epochs >= f.ev[f.i_min]) & np.isfinite(f.c.val_score)])
    _, p = mann_kendall(after, "greater")
    return p < TREND_P and len(after) >= 4 and after[-1] - after[0] >= (0.01 if f.c.bounded else 0.01 * abs(after[0]))


def learned_nothing(f: Facts) -> bool:
    """Training accuracy (or R²) ended within `NEAR_CHANCE` of chance: the network learned nothing."""
    return bool(f.has_score and f.c.bounded and f.chance_known
                and f.last(f.c.train_score) <= f.chance + NEAR_CHANCE * (1 - f.chance))


def regime_of(f: Facts) -> str:
    if f.divergence:
        return "diverged"
    if f.n < MIN_EPOCHS_TO_JUDGE:
        fell = _train_fell(f, int(f.ev[f.i_min]))
        if f.i_min < f.n - 1 and f.rise >= MIN_RISE and (fell is None or fell > 0):
            return "overfitting"
        return "still_improving" if f.i_min == f.n - 1 else "good_fit"
    if _memorized(f):
        return "memorization"
    if _overfitting(f):
        return "overfitting"
    if _improving(f):
        return "still_improving"
    if underfit(f):
        return "still_improving" if _train_improving(f) else "underfitting"
    return "good_fit"


def onset_of(f: Facts, regime: str) -> int | None:
    if regime == "diverged":
        return f.divergence[0]
    if regime == "overfitting" and not (clear_rise(f) or f.weak_rise):
        return f.score_peak
    if regime == "overfitting" or (regime == "memorization" and clear_rise(f)):
        return int(f.ev[f.i_min])
    if regime == "memorization" and f.c.bounded and np.isfinite(f.c.train_score).any():
        near = np.flatnonzero(f.c.train_score >= NEAR_PERFECT)
        return int(f.c.epochs[near[0]]) if len(near) else None
    return None


def confidence_of(f: Facts, regime: str) -> str:
    if regime == "diverged":
        return "high" if f.divergence[2] else "medium"
    if f.n < MIN_EPOCHS_TO_JUDGE:
        return "low"
    score = 2
    score -= f.n < 20
    score -= f.judged_on != "val_loss"
    score -= not f.has_train and not np.isfinite(f.c.train_score).any()
    if regime in ("overfitting", "memorization") and clear_rise(f):
        score -= (f.p_rise if trend_rising(f) else f.lasting[2]) >= 0.01
    if regime == "overfitting" and val_score_still_rising(f):
        score -= 1
    if regime == "overfitting" and not clear_rise(f):
        score -= _signs(f) < 3  # called on weaker signs that agree: all three of them, or less sure
    if regime == "memorization" and not f.chance_known:
        score -= 1
    if regime == "still_improving":
        score -= f.p_fall >= 0.01
    if regime == "underfitting" and _fit_level(f) is None:
        score -= 1
    if regime == "good_fit" and f.p_rise < TREND_P and f.n - 1 - f.i_min >= 3:
        score -= 1  # a rise too small to call yet
    return CONFIDENCE[max(0, score)]
