"""What is read from one member's curves, once: the turn and the rise, divergence, the score and gap signs.

`facts_of` turns `Curves` into `Facts`, every number the verdict (`rules`), the evidence and the advice use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from goodfit.diagnose.curves import Curves, curve_name
from goodfit.diagnose.trend import end_level, mann_kendall, noise_level, rank_sum, smooth, tail_trend, theil_sen, valley
from goodfit.diagnose.values import (ACC_CLIMB, ACC_FALL, ERROR_CLIMB, GAP_WIDEN, MIN_RISE, MIN_VALIDATED,
                                     NOISE_MULTIPLE, STEP_NOISE, STEP_RISE, TREND_P, WEAK_NOISE, WEAK_P)
from goodfit.errors import GoodfitError


def _chance_level(c: Curves, chance: float | None) -> tuple[float | None, bool, bool]:
    """(chance accuracy, whether it is known or estimated, whether accuracy ended at chance).

    With the number of classes unknown, an accuracy that ended at or below 50% and either never moved
    more than 10 points or ended no better than it began is taken as chance: 1 / accuracy classes
    guessed uniformly. A regression log has no classes: (None, False, False).
    """
    if not c.classification:
        return None, False, False
    acc = c.train_score[np.isfinite(c.train_score)]
    if not len(acc):
        acc = c.val_score[np.isfinite(c.val_score)]
    if chance is not None:
        return chance, True, (not len(acc) or end_level(acc) <= 1.5 * chance)
    if len(acc) >= 3 and end_level(acc) <= 0.5 and (float(np.ptp(acc)) <= 0.1 or end_level(acc) <= acc[0] + 0.05):
        return max(end_level(acc), 0.01), False, True
    return None, False, False


def _non_finite_loss(c: Curves) -> tuple[int, str, bool] | None:
    """A loss that became infinite, or NaN (every loss missing from some epoch on while the score goes on)."""
    for name, y in (("training loss", c.train_loss), ("validation loss", c.val_loss)):
        inf = np.flatnonzero(np.isinf(y))
        if len(inf):
            return int(c.epochs[inf[0]]), f"{name} became infinite at epoch {c.epochs[inf[0]]}.", True
    # Keras writes a NaN loss as "nan", which reads as not logged: every loss gone while accuracy goes on
    logged = np.flatnonzero(~np.isnan(np.column_stack([c.train_loss, c.val_loss])).all(axis=1))
    if len(logged) >= 1 and logged[0] == 0 and logged[-1] < len(c.epochs) - 1 and np.all(np.diff(logged) == 1):
        if (~np.isnan(np.column_stack([c.train_score, c.val_score])[logged[-1] + 1:])).any():
            e = int(c.epochs[logged[-1] + 1])
            return e, (f"the losses were logged every epoch until epoch {c.epochs[logged[-1]]} and are missing (NaN) "
                       f"from epoch {e} on while {c.word} was still logged: the loss became NaN."), True
    return None


def _runaway_loss(c: Curves, chance: float | None) -> tuple[int, str, bool] | None:
    """A finite loss that blew up: climbed back, exploded, went past guessing, or jumped (see `_divergence`)."""
    # the training loss tells; without one, the validation loss, though only an explosion counts there
    # (a validation loss that climbs back is what overfitting and memorization look like)
    train = np.isfinite(c.train_loss).sum() >= 3
    name, y = ("training loss", c.train_loss) if train else ("validation loss", c.val_loss)
    t, te = y[np.isfinite(y)], c.epochs[np.isfinite(y)]
    if len(t) < 3:
        return None
    i = int(np.argmin(t))
    low, first, end, final = float(t[i]), float(t[0]), end_level(t), float(t[-1])
    if train and i < len(t) - 1 and end > low and (end >= max(2 * low, low + 0.5 * (first - low))
                                         or end >= max(first, 1.5 * low)):
        j = i + int(np.argmax(t[i:] >= low + 0.5 * (end - low)))
        return int(te[j]), (f"{name} fell to {low:.3g} at epoch {te[i]} and then climbed back to "
                            f"{final:.3g} ({first:.3g} at the start): training itself blew up."), False
    k = int(np.argmax(t))
    level, known, at_chance = _chance_level(c, chance)
    guess = float(np.log(1 / level)) if level else None  # the loss of guessing uniformly
    if train and guess and t[k] >= 2 * guess and end >= 0.9 * guess and at_chance:
        j = int(np.argmax(t >= 2 * guess))
        how = "far above that" if end >= 2 * guess else "about that"
        which = f"{1 / level:.0f} classes" if known else f"{1 / level:.0f} classes, as the accuracy at chance suggests"
        return int(te[j]), (f"{name} reached {t[k]:.3g} at epoch {te[k]}, over twice the {guess:.3g} that guessing "
                            f"uniformly costs ({which}), and ended at {final:.3g}, {how}, with accuracy at chance: "
                            "the weights blew up and the network no longer learns."), False
    if t[k] > 10 * abs(first) and end >= 0.9 * first:
        j = int(np.argmax(t > 2 * abs(first)))
        return int(te[j]), (f"{name} exploded to {t[k]:.3g} at epoch {te[k]} ({first:.3g} at the start) "
                            f"and ended at {final:.3g}, no better than where it began."), False
    if len(t) >= 4 and first >= 100 * abs(float(np.median(t[1:]))) and end >= 0.5 * t[1]:
        return int(te[0]), (f"{name} was {first:.3g} in the first epoch, {first / abs(float(np.median(t[1:]))):.0f}x "
                            f"where it sat afterwards ({float(np.median(t[1:])):.3g}), and learned nothing from there "
                            f"(ended at {final:.3g}): it exploded in the first epoch."), False
    for j in range(1, len(t)):
        before = abs(float(np.median(t[max(0, j - 3):j])))
        if before > 0 and t[j] >= 1000 * before:
            return int(te[j]), (f"{name} jumped from {before:.3g} to {t[j]:.3g} at epoch {te[j]} and ended at "
                                f"{final:.3g}: a step blew the weights up."), False
    return None


def _divergence(c: Curves, chance: float | None) -> tuple[int, str, bool] | None:
    """The epoch a loss blew up, a sentence saying how and whether it is certain (a non-finite loss), or None.

    `chance` is 1/num_classes when known. A loss blew up when it became infinite or NaN, climbed
    back towards (or above) where it started, exploded past 10x its start, reached twice the loss of guessing
    uniformly and ended with accuracy at chance, began 100x above where it sat afterwards without
    learning from there (an explosion in the first epoch), or jumped 1000x in one epoch.
    """
    return _non_finite_loss(c) or _runaway_loss(c, chance)


def _blew_up(c: Curves, chance: float | None) -> bool:
    """Whether a loss ever blew up, even if the run is judged otherwise: the advice must then not raise the learning rate."""
    if _divergence(c, chance) is not None:
        return True
    t = c.train_loss[np.isfinite(c.train_loss)]
    if not len(t):
        return False
    level, _, _ = _chance_level(c, chance)
    return bool(t.max() > 10 * abs(t[0]) or (level is not None and t.max() >= 2 * np.log(1 / level)))


def _lasting_rise(v: np.ndarray, i_min: int, noise: float, low: float) -> tuple[float, float, float, int] | None:
    """A rise that came and stayed: the last third of the epochs after the turn against the turn and the 4 after it.

    A curve that rose fast after its minimum and then sat there (or drifted back a little) shows no
    trend over all the epochs after the turn, though it is the clearest overfitting there is. This
    compares levels instead: the median of the last third (at least 5 epochs, none of them among the
    first 5 from the turn) must sit `STEP_RISE` of the smoothed minimum `low` and `STEP_NOISE`
    standard errors of the noise above the median of those first 5, with a one-sided rank-sum
    p < `TREND_P`. The epochs before the turn are left out: they are the descent.

    Returns:
        (median at the turn, median at the end, rank-sum p, epochs at the end), or None.
    """
    k = max(5, int(np.ceil((len(v) - 1 - i_min) / 3)))
    start, end = v[i_min:i_min + 5], v[-k:]
    if len(v) - k < i_min + 5:
        return None
    at_turn, at_end = float(np.median(start)), float(np.median(end))
    se = 1.2533 * noise * math.sqrt(1 / len(start) + 1 / k)  # a median's standard error: sqrt(pi / 2) sigma / sqrt(n)
    p = rank_sum(start, end)
    if at_end - at_turn >= max(STEP_RISE * (abs(low) or 1.0), STEP_NOISE * se) and p < TREND_P:
        return at_turn, at_end, p, k
    return None


def _score_sign(c: Curves) -> tuple[str | None, int | None, tuple | None]:
    """The second sign: validation accuracy falling (or stalling) after its peak while training accuracy climbs.

    The peak is the top of the best hill-shaped fit to the validation accuracy (as `valley` finds the
    bottom of the loss), so noise near the top moves it little. From there to the end, `fall` needs
    validation accuracy to fall at least `ACC_FALL` (Theil-Sen) with a Mann-Kendall trend, `stall`
    needs it to gain under half a point; both need training accuracy to climb `ACC_CLIMB` with a trend.
    An error metric (RMSE, MAE) is read turned over, its best as the peak, with relative thresholds:
    validation error rising `MIN_RISE` of its best, training error falling `ERROR_CLIMB` of its level,
    a stall gaining under 0.5%.

    Returns:
        (`fall`, `stall` or None, the peak epoch or None, (val at peak, val final, train at peak, train final) or None),
        the values as logged.
    """
    both = np.isfinite(c.val_score) & np.isfinite(c.train_score)
    if both.sum() < 8:
        return None, None, None
    e, va, ta = c.epochs[both], c.good(c.val_score[both]), c.good(c.train_score[both])
    k = valley(-pd.Series(va).rolling(3, center=True, min_periods=1).mean().to_numpy())
    k = max(0, k - 1) + int(np.argmax(va[max(0, k - 1):k + 2]))
    if len(va) - k < 5:
        return None, int(e[k]), None
    val_change = theil_sen(va[k:], e[k:]) * (e[-1] - e[k])
    train_change = theil_sen(ta[k:], e[k:]) * (e[-1] - e[k])
    _, p_val = mann_kendall(va[k:], "less")
    _, p_train = mann_kendall(ta[k:], "greater")
    after = tuple(float(x) for x in c.good(np.array([va[k], va[-1], ta[k], ta[-1]])))
    fall, climb, stall = ((ACC_FALL, ACC_CLIMB, 0.005) if c.bounded else
                          (MIN_RISE * abs(va[k]), ERROR_CLIMB * abs(ta[k]), 0.005 * abs(va[k])))
    if not (p_train < TREND_P and train_change >= climb):
        return None, int(e[k]), after
    if p_val < TREND_P and val_change <= -fall:
        return "fall", int(e[k]), after
    if val_change < stall:
        return "stall", int(e[k]), after
    return None, int(e[k]), after


def _gap_sign(c: Curves, turn: int, use_loss: bool) -> tuple[float, float, float] | None:
    """The third sign: the gap between training and validation widened since the turn, with a trend.

    The gap is training minus validation accuracy (or R²) when both are logged, validation minus
    training error (RMSE, MAE; relative to the validation error, as a loss), else validation minus
    training loss (relative to the validation loss). Returns (gap at the turn, gap at the end,
    Mann-Kendall p), or None when it did not widen by `GAP_WIDEN` (`MIN_RISE` relative) with p < `TREND_P`.
    """
    if np.isfinite(c.train_score).any() and np.isfinite(c.val_score).any():
        gap = c.good(c.train_score) - c.good(c.val_score)
        scale, need = (1.0, GAP_WIDEN) if c.bounded else (abs(float(np.nanmin(c.val_score))) or 1.0, MIN_RISE)
    elif use_loss and np.isfinite(c.train_loss).any():
        with np.errstate(invalid="ignore"):
            gap = c.val_loss - c.train_loss
        scale = abs(float(np.nanmin(c.val_loss))) or 1.0
        need = MIN_RISE
    else:
        return None
    ok = np.isfinite(gap) & (c.epochs >= turn)
    if ok.sum() < 5:
        return None
    g, e = gap[ok], c.epochs[ok]
    widened = theil_sen(g, e) * (e[-1] - e[0])
    _, p = mann_kendall(g, "greater")
    if p < TREND_P and widened / scale >= need:
        return float(g[0]), float(g[-1]), p
    return None


@dataclass(frozen=True)
class Facts:
    """Every number the verdict, the evidence and the advice use, read once from the curves."""

    c: Curves
    judged_on: str  # val_loss, else val_accuracy, val_r2, val_rmse or val_mae
    name: str  # "validation loss", "validation error" (1 - accuracy), "validation 1 - R²", "validation MAE", ...
    ev: np.ndarray  # (n,) validated epochs
    v: np.ndarray  # (n,) judged values, lower is better
    s: np.ndarray  # (n,) smoothed
    i_min: int  # index of the turning point: the bottom of the valley fit
    i_best: int  # index of the raw minimum: the best epoch
    tau: float  # Mann-Kendall after the turning point
    p_rise: float
    rise: float  # relative Theil-Sen rise from the turning point to the end, 0 when within the noise
    tail_change: float  # relative Theil-Sen change over the last third (negative = falling)
    p_fall: float
    tail_len: int
    chance: float | None
    chance_known: bool
    divergence: tuple[int, str, bool] | None  # epoch, sentence, certain
    blew_up: bool  # a loss blew up at some point, diverged or not: never advise a larger learning rate
    weak_rise: bool  # the judged curve rose after its turn, though not past the noise test
    rise_raw: float  # the relative Theil-Sen rise after the turn before the noise test
    lasting: tuple[float, float, float, int] | None  # a lasting rise: level at the turn, at the end, rank-sum p, epochs at the end
    score_sign: str | None  # "fall" or "stall": validation score after its best while training score improves
    score_peak: int | None  # epoch of the validation score's best (the top of its hill fit)
    score_after: tuple[float, float, float, float] | None  # val score at its best, val final, train then, train final
    gap_sign: tuple[float, float, float] | None  # the gap widened since the turn: from, to, Mann-Kendall p

    @property
    def n(self) -> int:
        return len(self.v)

    @property
    def has_train(self) -> bool:
        return bool(np.isfinite(self.c.train_loss).any())

    @property
    def has_score(self) -> bool:
        return bool(np.isfinite(self.c.train_score).any() and np.isfinite(self.c.val_score).any())

    def at(self, y: np.ndarray, epoch: int) -> float:
        """y at an epoch, or the nearest earlier logged value; NaN if none."""
        ok = np.isfinite(y) & (self.c.epochs <= epoch)
        return float(y[ok][-1]) if ok.any() else float("nan")

    def last(self, y: np.ndarray) -> float:
        """Where y ended for deciding: the median of its last 3 logged values, so one odd epoch does not decide."""
        ok = np.isfinite(y)
        return end_level(y[ok]) if ok.any() else float("nan")

    def final(self, y: np.ndarray) -> float:
        """Where y ended for saying: its last logged value, the one figure every sentence quotes."""
        ok = np.isfinite(y)
        return float(y[ok][-1]) if ok.any() else float("nan")


def _judged(c: Curves, source: str) -> tuple[bool, np.ndarray, np.ndarray]:
    """The curve the verdict is judged on: whether it is the validation loss, its validated epochs and values."""
    use_loss = np.isfinite(c.val_loss).sum() >= MIN_VALIDATED
    raw = c.val_loss if use_loss else c.error(c.val_score)
    ok = np.isfinite(raw)
    if ok.sum() < MIN_VALIDATED:
        validated = int(max(np.isfinite(c.val_loss).sum(), np.isfinite(c.val_score).sum()))
        if not validated:
            raise GoodfitError(f"{source} has no validation loss or accuracy (nor MAE, RMSE or R²); overfitting is "
                               "judged on held-out data, so log it (Keras: pass validation_data to fit; Lightning: "
                               "add a validation_step)")
        raise GoodfitError(f"{source} has {validated} validated epoch(s); need at least {MIN_VALIDATED} "
                           "to see a trend: train longer or validate more often")
    return use_loss, c.epochs[ok], raw[ok]


def _turn(v: np.ndarray) -> int:
    """Index of the turning point: the bottom of the valley fit to the 3-epoch mean, then the lowest raw value near it."""
    k = valley(pd.Series(v).rolling(3, center=True, min_periods=1).mean().to_numpy() if len(v) >= 8 else v)
    return max(0, k - 3) + int(np.argmin(v[max(0, k - 3):k + 2]))  # the 3-epoch mean blurs; a noisy start hides a low


def _rise(ev: np.ndarray, v: np.ndarray, i_min: int, low: float, noise: float, points: bool,
          p_rise: float) -> tuple[float, float, bool]:
    """The rise after the turn, relative to the smoothed minimum `low`: past the noise test (0 or less when noise
    alone could make it), before it, and whether it is a weak rise (`WEAK_NOISE` standard errors, p < `WEAK_P`).

    `points`: the curve is a loss or an error in its own units; a curve of 1 - accuracy (or 1 - R²) must
    also rise a full point.
    """
    rise_abs = 0.0
    if i_min < len(v) - 2:  # Theil-Sen over the points after the turn: one noisy epoch cannot make a rise
        rise_abs = theil_sen(v[i_min:], ev[i_min:]) * (ev[-1] - ev[i_min])
    elif i_min == len(v) - 2:
        rise_abs = v[-1] - low
    raw_rise = rise_abs
    after = len(v) - i_min  # a rise fitted to few points is itself noisy: its standard error ~ noise * sqrt(12 / after)
    se = noise * max(1.0, np.sqrt(12 / after))
    if rise_abs < NOISE_MULTIPLE * se:  # noise alone could make it
        rise_abs = min(rise_abs, 0.0)
    rise = rise_abs / (abs(low) or 1.0)
    if not points:
        rise = rise if rise_abs >= 0.01 else min(rise, MIN_RISE / 2)
    weak_rise = (len(v) - 1 - i_min >= 3 and p_rise < WEAK_P and raw_rise >= WEAK_NOISE * se
                 and raw_rise / (abs(low) or 1.0) >= MIN_RISE and (points or raw_rise >= 0.01))
    return rise, raw_rise / (abs(low) or 1.0), weak_rise


def facts_of(c: Curves, chance: float | None, source: str) -> Facts:
    """Every fact the verdict, the evidence and the advice use, read once from one member's curves.

    Args:
        c: the member's curves.
        chance: 1 / number of classes when known, else None (estimated here where the loss allows).
        source: how errors name the log.

    Raises:
        GoodfitError: no validation metric, or fewer than `MIN_VALIDATED` validated epochs.
    """
    chance = chance if c.classification else None  # classes of a regression log mean nothing
    divergence, blew_up = _divergence(c, chance), _blew_up(c, chance)
    use_loss, ev, v = _judged(c, source)
    s = smooth(v)
    i_min = _turn(v)
    tau, p_rise = mann_kendall(v[i_min:], "greater")
    low, noise = float(np.min(s)), noise_level(v)
    rise, raw_rise, weak_rise = _rise(ev, v, i_min, low, noise, use_loss or not c.bounded, p_rise)
    tail_change, p_fall, tail_len = tail_trend(ev, v)
    lasting = _lasting_rise(v, i_min, noise, low)
    score_sign, score_peak, score_after = _score_sign(c)
    turn = int(ev[i_min]) if score_peak is None else min(int(ev[i_min]), score_peak)
    gap_sign = _gap_sign(c, turn, use_loss)
    if c.score == "r2":  # predicting the mean scores R² 0
        chance = 0.0
    chance_known = chance is not None
    if chance is None and use_loss and c.classification:  # uniform guessing has loss ln C: exp(-loss) is its accuracy
        chance = float(np.exp(-np.min(v)))
    judged = "val_loss" if use_loss else f"val_{c.score}"
    return Facts(c, judged, curve_name(judged), ev, v, s, i_min, int(np.argmin(v)), tau, p_rise, rise, tail_change,
                 p_fall, tail_len, chance, chance_known, divergence, blew_up, weak_rise, raw_rise, lasting, score_sign,
                 score_peak, score_after, gap_sign)


def gap_at(f: Facts, epoch: int | None, digits: int | None = 6) -> dict:
    """Training minus validation loss and accuracy at an epoch; a regression log's score (R², RMSE or MAE) too.

    Rounded to `digits` for the JSON; sentences take them unrounded (`digits=None`), so that the figure
    they print is the log's difference printed, not a rounding of a rounding.
    """
    keys = ("loss", "accuracy") if f.c.classification else ("loss", "accuracy", f.c.score)
    if epoch is None:
        return dict.fromkeys(keys)
    loss = f.at(f.c.train_loss, epoch) - f.at(f.c.val_loss, epoch)
    score = f.at(f.c.train_score, epoch) - f.at(f.c.val_score, epoch)
    kept = lambda x: (x if digits is None else round(x, digits)) if np.isfinite(x) else None
    out = {"loss": kept(loss), "accuracy": None}
    out[f.c.score or "accuracy"] = kept(score)
    return out
