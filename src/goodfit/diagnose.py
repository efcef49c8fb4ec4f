"""The diagnosis: regime, onset and best epoch, gap, evidence and advice, from a history alone.

Pure functions of a `History` and an optional `Context`: no model, no files, no clock, no randomness.

How the verdict is reached, for one member (`diagnose_seeds` combines several):

0. Beside the loss, a secondary score (`History.score`): accuracy when logged, else the first of
   R², RMSE and MAE (a regression log), read with its direction (`history.SCORES`: higher is better
   for accuracy and R², lower for the errors). Wherever this page says accuracy, it means that score:
   "falls" is "gets worse", a rise of MAE is a fall. Accuracy and R² are on a 0-1 scale and keep the
   thresholds in points; RMSE and MAE are in the target's units, so theirs are relative (`MIN_RISE`
   of the level, as for a loss). Chance is 1/C for accuracy and 0 for R² (predicting the mean);
   the errors have none, and the loss of guessing, ln C, applies only to a classification loss.
1. The judged curve is the validation loss, or the validation error (1 - accuracy, 1 - R², or the
   RMSE or MAE itself) when no loss was logged, at the epochs where it was logged (so validation
   every N epochs works).
   It is smoothed with a running median (window about n/12, odd, 3 to 11; none below 8 points)
   followed by a running mean of 3, and never judged one epoch against the next.
2. `diverged`: a loss became infinite, a loss logged every epoch went missing (NaN) for the last
   epochs while other metrics went on, the training loss climbed back to at least twice its
   minimum and half-way to where it started (or above its start), it exploded past 10x its first
   value and ended no better than that, it reached twice the loss of uniform guessing, ln C, and
   ended with accuracy at chance (C unknown: an accuracy that never learned gives it, C = 1 / accuracy),
   it began 100x above where it sat afterwards and learned nothing from there (an explosion in the
   first epoch), or it jumped 1000x in one epoch. No NaN is needed. A loss that blew up at any point
   is never advised a larger learning rate, whatever the regime.
3. Fewer than `MIN_EPOCHS_TO_JUDGE` validated epochs: too short to judge. The verdict stays
   conservative (still_improving unless the loss already rose `MIN_RISE` while training loss
   fell) and its confidence is low.
4. `memorization`: training accuracy ends at or above `NEAR_PERFECT` while the best validation
   accuracy stays within `NEAR_CHANCE` of chance (1/num_classes; estimated from the validation
   loss when the number of classes is unknown). Without a score: the number of classes known, the
   validation loss never fell below `1 - NEAR_CHANCE` of the loss of guessing, ln C, while training
   loss fell by 90%. A loss that was lowest in the first epochs and then rose, nothing more known,
   is overfitting: the first epoch may have learned all there was to learn.
5. `overfitting`, from the three signs the article names:
   - the rise: after the turning point (the onset: the bottom of the least-squares valley-shaped
     fit, non-increasing then non-decreasing, to the curve averaged over 3 epochs, then the lowest
     raw point within one epoch of it), the raw curve rises with a one-sided Mann-Kendall
     test p < `TREND_P` over at least 3 later points, and the Theil-Sen rise from there to the end
     is at least `MIN_RISE` of the smoothed minimum and at least `NOISE_MULTIPLE` standard errors of
     the epoch-to-epoch noise (estimated from second differences). A rise past `WEAK_NOISE`
     standard errors with p < `WEAK_P` is a weak rise. A rise that came fast and then stayed (or
     drifted back a little) is no trend over all the epochs after the turn, so a lasting rise
     counts as a clear one too: the median of the last third of those epochs sits at least
     `STEP_RISE` of the smoothed minimum and `STEP_NOISE` standard errors of the noise above the
     median of the turn and the 4 epochs after it, with a one-sided rank-sum p < `TREND_P`;
   - validation accuracy, from the top of its hill-shaped fit, falls `ACC_FALL` (or stalls) while
     training accuracy climbs `ACC_CLIMB`, each with a Mann-Kendall trend;
   - the gap (training minus validation accuracy, else validation minus training loss) widens
     `GAP_WIDEN` (`MIN_RISE` of the loss) since the turn, with a trend.
   A clear rise is enough; a weak rise needs the accuracy falling, or the gap widening while it
   stalls (or while no accuracy is logged); without a rise the accuracy must fall and the gap widen.
   The onset is the loss's turning point, or the accuracy's peak when the loss did not rise.
6. `still_improving`: over the last third of the run the curve falls (Mann-Kendall p < `TREND_P`)
   by at least `MIN_GAIN` (Theil-Sen slope times the span); also a run that fits its training
   data badly but whose training loss is still falling that way.
7. `underfitting`: training accuracy ends below `UNDERFIT` of the way from chance to 100%; with
   losses only, training loss above half the chance-level loss ln(C), or, with C unknown, a
   training loss that fell less than half and sits within 5% of the validation loss.
8. `good_fit`: none of the above.

`best_epoch` is the epoch of the lowest raw validation loss (highest accuracy): the weights to
keep. `onset_epoch` is where overfitting (or divergence) began, None for other regimes. Evidence
quotes where a curve ended as its last logged value, one figure for one quantity; decisions use the
median of the last 3, so one odd epoch does not decide. What the reader did to the log (steps
grouped into epochs) opens the evidence.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history import SCORE_WORDS, SCORES, History

REGIMES = ("underfitting", "still_improving", "good_fit", "overfitting", "memorization", "diverged")
REMEDIES = ("dropout", "weight_decay", "early_stopping", "augment", "batchnorm", "shrink")
CHECK_DATA = "check labels/data"
TRAIN_LONGER = "train longer"
MORE_CAPACITY = "more capacity / less regularization"
LOWER_LR = "lower learning rate"
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


# ---- values --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What is known about the run beyond its curves; it shapes the advice, not the regime.

    Args:
        num_params: trainable parameters of the model. Default None (unknown).
        train_size: training samples. Default None.
        remedies: names of remedies the run already used, among `REMEDIES`. Default none.
        num_classes: number of classes, for chance level. Default None (the history's, if any).
        data_kind: `image`, `sequence` or `table`; picks which augmentation advice fits. Default None.

    Example:
        >>> Context(num_params=10_858, train_size=300, remedies=("dropout",)).remedies
        ('dropout',)
    """

    num_params: int | None = None
    train_size: int | None = None
    remedies: tuple[str, ...] = ()
    num_classes: int | None = None
    data_kind: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "remedies", tuple(self.remedies))
        unknown = [r for r in self.remedies if r not in REMEDIES]
        if unknown:
            raise GoodfitError(f"unknown remedy {unknown[0]!r} in context; use names among {', '.join(REMEDIES)}")
        for name in ("num_params", "train_size", "num_classes"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise GoodfitError(f"context {name} must be a positive integer, got {value}")


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


def context_from_config(config: Mapping) -> Context:
    """The `Context` of a goodfit run from its `config.json` (see `history.read_run_config`).

    Args:
        config: the parsed `config.json`; missing keys stay unknown.

    Returns:
        The `Context`.

    Example:
        >>> context_from_config({"num_params": 500, "splits": {"train": 300},
        ...                      "arm": {"remedies": [{"remedy": "dropout", "rate": 0.3}]}}).remedies
        ('dropout',)
    """
    arm = config.get("arm") or {}
    remedies = tuple(r["remedy"] for r in arm.get("remedies", []) if r.get("remedy") in REMEDIES)
    return Context(num_params=config.get("num_params"), train_size=(config.get("splits") or {}).get("train"),
                   remedies=remedies, num_classes=config.get("num_classes"),
                   data_kind=(config.get("dataset") or {}).get("kind"))


def curve_name(judged_on: str) -> str:
    """How sentences name a judged curve (`Diagnosis.judged_on`): the validation loss, else the validation error.

    Example:
        >>> curve_name("val_accuracy"), curve_name("val_r2"), curve_name("val_mae")
        ('validation error', 'validation 1 - R²', 'validation MAE')
    """
    if judged_on == "val_loss":
        return "validation loss"
    score = judged_on.removeprefix("val_")
    return ("validation error" if score == "accuracy" else "validation 1 - R²" if score == "r2"
            else f"validation {SCORE_WORDS[score]}")


# ---- curves and the statistics read from them --------------------------------------------------
def _window(n: int) -> int:
    """Width of the running median: odd, about n/12, 3 to 11; 1 (no smoothing) below 8 points."""
    return 1 if n < 8 else min(11, max(3, (n // 12) | 1))


def _smooth(y: np.ndarray) -> np.ndarray:
    """Running median of `_window` points then running mean of 3; unchanged below 8 points."""
    w = _window(len(y))
    if w == 1:
        return y.astype(float).copy()
    med = pd.Series(y).rolling(w, center=True, min_periods=1).median()
    return med.rolling(3, center=True, min_periods=1).mean().to_numpy()


def _prefix_antitonic_sse(y: np.ndarray) -> np.ndarray:
    """Squared error of the best non-increasing fit to y[:k], for every k = 0..n (pool-adjacent-violators)."""
    out = np.zeros(len(y) + 1)
    blocks: list[list[float]] = []  # [sum, count, sum of squares], means non-increasing
    sse = 0.0
    for k, x in enumerate(y, 1):
        block = [float(x), 1.0, float(x) * x]
        while blocks and blocks[-1][0] / blocks[-1][1] < block[0] / block[1]:
            prev = blocks.pop()
            sse -= prev[2] - prev[0] ** 2 / prev[1]
            block = [prev[0] + block[0], prev[1] + block[1], prev[2] + block[2]]
        blocks.append(block)
        sse += block[2] - block[0] ** 2 / block[1]
        out[k] = sse
    return out


def _isotonic(y: np.ndarray, increasing: bool) -> np.ndarray:
    """The least-squares non-decreasing (or non-increasing) fit to y, by pool-adjacent-violators.

    Example:
        >>> _isotonic(np.array([1.0, 3.0, 2.0, 4.0]), increasing=True).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    sign = 1.0 if increasing else -1.0
    blocks: list[list[float]] = []  # [sum, count] of pooled runs, means non-decreasing
    for x in sign * np.asarray(y, dtype=float):
        block = [x, 1.0]
        while blocks and blocks[-1][0] / blocks[-1][1] > block[0] / block[1]:
            prev = blocks.pop()
            block = [prev[0] + block[0], prev[1] + block[1]]
        blocks.append(block)
    return sign * np.concatenate([np.full(int(c), s / c) for s, c in blocks]) if blocks else np.zeros(0)


def _valley(y: np.ndarray) -> int:
    """Index of the bottom of the best valley-shaped fit: non-increasing, then non-decreasing, least squares.

    Unimodal regression: it uses the whole curve, so noise near the minimum moves the bottom less
    than it moves a smoothed minimum, and no window has to be chosen.
    """
    n = len(y)
    top = float(np.max(np.abs(y))) if n else 0.0
    y = y / top if np.isfinite(top) and top > 0 else y  # the shape alone matters: 1e300 squared must not overflow
    left = _prefix_antitonic_sse(y)  # left[t]: y[:t] non-increasing
    right = _prefix_antitonic_sse(y[::-1])[::-1]  # right[t]: y[t:] non-decreasing
    t = int(np.argmin(left + right))
    fit = np.concatenate([_isotonic(y[:t], increasing=False), _isotonic(y[t:], increasing=True)])
    bottom = np.flatnonzero(fit <= fit.min() + 1e-12 * max(1.0, abs(fit.min())))
    return int(bottom[0] + np.argmin(y[bottom[0]:bottom[-1] + 1]))


def _noise(y: np.ndarray) -> float:
    """Epoch-to-epoch noise (standard deviation) from the median absolute second difference; blind to smooth trends."""
    if len(y) < 6:
        return 0.0
    d2 = np.diff(y, 2)  # var = 6 sigma^2 for independent noise
    return 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / np.sqrt(6)


def _inversions_at_most(n: int, k: int) -> float:
    """P(a random permutation of n items has at most k inversions): Kendall's exact null distribution."""
    k = min(k, n * (n - 1) // 2)
    p = np.zeros(k + 1)  # p[j]: probability of exactly j inversions among the first m items
    p[0] = 1.0
    for m in range(2, n + 1):  # the m-th item adds 0..m-1 inversions, each with probability 1/m
        c = np.cumsum(p)
        p = c - np.concatenate([np.zeros(min(m, k + 1)), c[:max(0, k + 1 - m)]])
        p /= m
    return float(min(1.0, p.sum()))


def _mann_kendall(y: np.ndarray, alternative: str) -> tuple[float, float]:
    """Kendall's tau-b of y against its order and the one-sided p-value; (0, 1) below 4 points.

    Without ties and up to 33 points the p-value is exact, else the normal approximation with the
    variance corrected for ties (as `scipy.stats.kendalltau` computes it).

    Example:
        >>> tau, p = _mann_kendall(np.array([1.0, 2.0, 4.0, 3.0, 5.0]), "greater")
        >>> round(tau, 2), round(p, 4)
        (0.8, 0.0417)
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 4 or np.ptp(y) == 0:
        return 0.0, 1.0
    d = np.sign(y[None, :] - y[:, None])[np.triu_indices(n, 1)]  # later minus earlier, every pair
    con, dis = int((d > 0).sum()), int((d < 0).sum())
    tot = n * (n - 1) // 2
    _, counts = np.unique(y, return_counts=True)
    ties = counts[counts > 1].astype(float)
    ytie = int((ties * (ties - 1) // 2).sum())
    tau = max(-1.0, min(1.0, (con - dis) / math.sqrt(tot * (tot - ytie))))
    if not ytie and (n <= 33 or min(dis, tot - dis) <= 1):
        # con - dis >= observed  <=>  inversions (discordant pairs) <= dis
        p = _inversions_at_most(n, dis) if alternative == "greater" else _inversions_at_most(n, con)
    else:
        var = (n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18
        z = (con - dis) / math.sqrt(var)
        z = z if alternative == "greater" else -z
        p = 0.5 * math.erfc(z / math.sqrt(2))
    return float(tau), float(p)


def _theil_sen(y: np.ndarray, x: np.ndarray) -> float:
    """The Theil-Sen slope: the median of the slopes between every two points with different x.

    Example:
        >>> _theil_sen(np.array([0.0, 1.0, 2.0, 3.0, 30.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
        1.0
    """
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx != 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0


def _rank_sum(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided p-value that the values in b tend to exceed those in a: Mann-Whitney U, normal approximation
    with the variance corrected for ties and a continuity correction (as `scipy.stats.mannwhitneyu` computes it).

    Example:
        >>> round(_rank_sum(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 7.0])), 3)
        0.026
    """
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b]).astype(float)
    n = n1 + n2
    if n1 < 2 or n2 < 2 or np.ptp(both) == 0:
        return 1.0
    u = float(pd.Series(both).rank().to_numpy()[n1:].sum()) - n2 * (n2 + 1) / 2
    _, counts = np.unique(both, return_counts=True)
    var = n1 * n2 / 12 * ((n + 1) - float((counts ** 3 - counts).sum()) / (n * (n - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return float(0.5 * math.erfc(z / math.sqrt(2)))


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
    p = _rank_sum(start, end)
    if at_end - at_turn >= max(STEP_RISE * (abs(low) or 1.0), STEP_NOISE * se) and p < TREND_P:
        return at_turn, at_end, p, k
    return None


def _end(y: np.ndarray) -> float:
    """The level a curve ended at: median of its last 3 points, so one odd epoch does not decide."""
    return float(np.median(y[-3:]))


def _tail_change(epochs: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Relative Theil-Sen change over the last third (>= 4 points), its Mann-Kendall p for a fall, and its length."""
    k = max(4, int(np.ceil(len(y) / 3)))
    ex, ey = epochs[-k:], y[-k:]
    if len(ey) < 4:
        return 0.0, 1.0, len(ey)
    slope = _theil_sen(ey, ex)
    level = abs(float(np.median(ey[:3]))) or 1.0
    _, p = _mann_kendall(ey, "less")
    return float(slope * (ex[-1] - ex[0]) / level), p, len(ey)


@dataclass(frozen=True)
class _Curves:
    """One member's curves over its epochs, NaN where a metric was not logged."""

    epochs: np.ndarray  # (E,)
    train_loss: np.ndarray  # (E,) eval-mode training loss, else the running loss
    val_loss: np.ndarray
    train_score: np.ndarray  # (E,) the secondary score as logged: accuracy, R², RMSE or MAE
    val_score: np.ndarray
    train_name: str
    score: str | None  # a key of SCORES, None when only losses were logged

    @property
    def word(self) -> str:
        return SCORE_WORDS[self.score or "accuracy"]

    @property
    def bounded(self) -> bool:
        """The score is on a 0-1 scale (accuracy, R²): its thresholds are in points, not relative."""
        return self.score in (None, "accuracy", "r2")

    @property
    def classification(self) -> bool:
        """Nothing says regression: the loss of guessing, ln C, may apply."""
        return self.score in (None, "accuracy")

    def good(self, y: np.ndarray) -> np.ndarray:
        """The score turned so that higher is better."""
        return y if SCORES.get(self.score, True) else -y

    def error(self, y: np.ndarray) -> np.ndarray:
        """The score turned into an error, lower is better: 1 - accuracy, 1 - R², the RMSE or MAE itself."""
        return 1.0 - y if SCORES.get(self.score, True) else y

    def fmt(self, x: float) -> str:
        return f"{x:.1%}" if self.score in (None, "accuracy") else f"{x:.3f}" if self.score == "r2" else f"{x:.3g}"

    def fmt_gap(self, x: float) -> str:
        """A difference of two scores, signed: in points for accuracy (the caller says `points`)."""
        return f"{x * 100:+.1f}" if self.score in (None, "accuracy") else f"{x:+.3g}"

    def verbs(self) -> tuple[str, str, str]:
        """How the score is said to get worse, to get better, and its best: fell, climbed, peak for accuracy."""
        return ("fell", "climbed", "peak") if SCORES.get(self.score, True) else ("rose", "fell", "best")

    def chance_words(self, chance: float) -> str:
        return f"chance ({chance:.1%})" if self.classification else "0, what predicting the mean scores"


def _curves_of(history: History, member: int) -> _Curves:
    rows = history.frame[history.frame["member"] == member]

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=float) if name in rows else np.full(len(rows), np.nan)

    train, name = col("train_loss"), "training loss"
    if np.isnan(train).all() and not np.isnan(col("running_loss")).all():
        train, name = col("running_loss"), "running training loss"
    score = history.member(member).score
    return _Curves(rows["epoch"].to_numpy(dtype=int), train, col("val_loss"), col(f"train_{score or 'accuracy'}"),
                   col(f"val_{score or 'accuracy'}"), name, score)


def _chance_level(c: _Curves, chance: float | None) -> tuple[float | None, bool, bool]:
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
        return chance, True, (not len(acc) or _end(acc) <= 1.5 * chance)
    if len(acc) >= 3 and _end(acc) <= 0.5 and (float(np.ptp(acc)) <= 0.1 or _end(acc) <= acc[0] + 0.05):
        return max(_end(acc), 0.01), False, True
    return None, False, False


def _divergence(c: _Curves, chance: float | None) -> tuple[int, str, bool] | None:
    """The epoch a loss blew up, a sentence saying how and whether it is certain (a non-finite loss), or None.

    `chance` is 1/num_classes when known. A loss blew up when it became infinite or NaN, climbed
    back towards (or above) where it started, exploded past 10x its start, reached twice the loss of guessing
    uniformly and ended with accuracy at chance, began 100x above where it sat afterwards without
    learning from there (an explosion in the first epoch), or jumped 1000x in one epoch.
    """
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
    # the training loss tells; without one, the validation loss, though only an explosion counts there
    # (a validation loss that climbs back is what overfitting and memorization look like)
    train = np.isfinite(c.train_loss).sum() >= 3
    name, y = ("training loss", c.train_loss) if train else ("validation loss", c.val_loss)
    t, te = y[np.isfinite(y)], c.epochs[np.isfinite(y)]
    if len(t) < 3:
        return None
    i = int(np.argmin(t))
    low, first, end, final = float(t[i]), float(t[0]), _end(t), float(t[-1])
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


def _blew_up(c: _Curves, chance: float | None) -> bool:
    """Whether a loss ever blew up, even if the run is judged otherwise: the advice must then not raise the learning rate."""
    if _divergence(c, chance) is not None:
        return True
    t = c.train_loss[np.isfinite(c.train_loss)]
    if not len(t):
        return False
    level, _, _ = _chance_level(c, chance)
    return bool(t.max() > 10 * abs(t[0]) or (level is not None and t.max() >= 2 * np.log(1 / level)))


def _score_sign(c: _Curves) -> tuple[str | None, int | None, tuple | None]:
    """The second sign: validation accuracy falling (or stalling) after its peak while training accuracy climbs.

    The peak is the top of the best hill-shaped fit to the validation accuracy (as `_valley` finds the
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
    k = _valley(-pd.Series(va).rolling(3, center=True, min_periods=1).mean().to_numpy())
    k = max(0, k - 1) + int(np.argmax(va[max(0, k - 1):k + 2]))
    if len(va) - k < 5:
        return None, int(e[k]), None
    val_change = _theil_sen(va[k:], e[k:]) * (e[-1] - e[k])
    train_change = _theil_sen(ta[k:], e[k:]) * (e[-1] - e[k])
    _, p_val = _mann_kendall(va[k:], "less")
    _, p_train = _mann_kendall(ta[k:], "greater")
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


def _gap_sign(c: _Curves, turn: int, use_loss: bool) -> tuple[float, float, float] | None:
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
    widened = _theil_sen(g, e) * (e[-1] - e[0])
    _, p = _mann_kendall(g, "greater")
    if p < TREND_P and widened / scale >= need:
        return float(g[0]), float(g[-1]), p
    return None


@dataclass(frozen=True)
class _Facts:
    """Every number the verdict, the evidence and the advice use, read once from the curves."""

    c: _Curves
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
        return _end(y[ok]) if ok.any() else float("nan")

    def final(self, y: np.ndarray) -> float:
        """Where y ended for saying: its last logged value, the one figure every sentence quotes."""
        ok = np.isfinite(y)
        return float(y[ok][-1]) if ok.any() else float("nan")


def _facts(c: _Curves, chance: float | None, source: str) -> _Facts:
    chance = chance if c.classification else None  # classes of a regression log mean nothing
    divergence = _divergence(c, chance)
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
    ev, v = c.epochs[ok], raw[ok]
    s = _smooth(v)
    k = _valley(pd.Series(v).rolling(3, center=True, min_periods=1).mean().to_numpy() if len(v) >= 8 else v)
    i_min = max(0, k - 3) + int(np.argmin(v[max(0, k - 3):k + 2]))  # the 3-epoch mean blurs; a noisy start hides a low
    tau, p_rise = _mann_kendall(v[i_min:], "greater")
    low = float(np.min(s))
    rise_abs = 0.0
    if i_min < len(v) - 2:  # Theil-Sen over the points after the turn: one noisy epoch cannot make a rise
        rise_abs = _theil_sen(v[i_min:], ev[i_min:]) * (ev[-1] - ev[i_min])
    elif i_min == len(v) - 2:
        rise_abs = v[-1] - low
    raw_rise = rise_abs
    noise = _noise(v)
    after = len(v) - i_min  # a rise fitted to few points is itself noisy: its standard error ~ noise * sqrt(12 / after)
    se = noise * max(1.0, np.sqrt(12 / after))
    if rise_abs < NOISE_MULTIPLE * se:  # noise alone could make it
        rise_abs = min(rise_abs, 0.0)
    rise = rise_abs / (abs(low) or 1.0)
    points = use_loss or not c.bounded  # a curve of 1 - accuracy (or 1 - R²): a rise must also be a full point
    if not points:
        rise = rise if rise_abs >= 0.01 else min(rise, MIN_RISE / 2)
    tail_change, p_fall, tail_len = _tail_change(ev, v)
    weak_rise = (len(v) - 1 - i_min >= 3 and p_rise < WEAK_P and raw_rise >= WEAK_NOISE * se
                 and raw_rise / (abs(low) or 1.0) >= MIN_RISE and (points or raw_rise >= 0.01))
    lasting = _lasting_rise(v, i_min, noise, low)
    score_sign, score_peak, score_after = _score_sign(c)
    turn = int(ev[i_min]) if score_peak is None else min(int(ev[i_min]), score_peak)
    gap_sign = _gap_sign(c, turn, use_loss)
    blew_up = _blew_up(c, chance)
    if c.score == "r2":  # predicting the mean scores R² 0
        chance = 0.0
    chance_known = chance is not None
    if chance is None and use_loss and c.classification:  # uniform guessing has loss ln C: exp(-loss) is its accuracy
        chance = float(np.exp(-np.min(v)))
    judged = "val_loss" if use_loss else f"val_{c.score}"
    return _Facts(c, judged, curve_name(judged), ev, v, s, i_min, int(np.argmin(v)), tau, p_rise, rise, tail_change, p_fall,
                  tail_len, chance, chance_known, divergence, blew_up, weak_rise, raw_rise / (abs(low) or 1.0), lasting,
                  score_sign, score_peak, score_after, gap_sign)


# ---- the verdict ---------------------------------------------------------------------------------
def _train_fell(f: _Facts, since: int) -> float | None:
    """Relative fall of the training loss from an epoch to the end; None without a training loss."""
    start, end = f.at(f.c.train_loss, since), f.last(f.c.train_loss)
    if not np.isfinite(start):  # logged less often than validation: its first value from then on
        later = f.c.train_loss[(f.c.epochs >= since) & np.isfinite(f.c.train_loss)]
        start = float(later[0]) if len(later) else start
    if not np.isfinite(start) or not np.isfinite(end) or start == 0:
        return None
    return (start - end) / abs(start)


def _val_score_best(f: _Facts) -> float:
    """The best smoothed validation score (accuracy or R²)."""
    return float(np.nanmax(_smooth(f.c.val_score[np.isfinite(f.c.val_score)])))


def _memorized(f: _Facts) -> bool:
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


def _trend_rising(f: _Facts) -> bool:
    return f.n - 1 - f.i_min >= 3 and f.p_rise < TREND_P and f.rise >= MIN_RISE


def _rising(f: _Facts) -> bool:
    """A clear rise: a trend from the turn to the end, or a rise that came and lasted."""
    return _trend_rising(f) or f.lasting is not None


def _overfitting(f: _Facts) -> bool:
    """The article's three signs: the judged curve rising, validation accuracy falling or stalling while
    training accuracy climbs, the gap widening. A clear rise is enough alone; a rise too noisy to call
    needs validation accuracy to fall, or the gap to widen while it stalls (or with no accuracy
    logged); without a rise, validation accuracy must fall and the gap widen."""
    with_rise = f.score_sign == "fall" or (f.gap_sign is not None and (f.score_sign == "stall" or not f.has_score))
    return _rising(f) or (f.weak_rise and with_rise) or (f.score_sign == "fall" and f.gap_sign is not None)


def _signs(f: _Facts) -> int:
    return int(_rising(f) or f.weak_rise) + int(f.score_sign is not None) + int(f.gap_sign is not None)


def _improving(f: _Facts) -> bool:
    return f.p_fall < TREND_P and -f.tail_change >= MIN_GAIN


def _train_improving(f: _Facts) -> bool:
    y = f.c.train_loss if f.has_train else f.c.error(f.c.train_score)
    ok = np.isfinite(y)
    if ok.sum() < 4:
        return False
    change, p, _ = _tail_change(f.c.epochs[ok], y[ok])
    return p < TREND_P and -change >= MIN_GAIN


def _fit_level(f: _Facts) -> float | None:
    """How far training accuracy (or R²) got from chance to 100%, as a fraction; None without either."""
    if not f.c.bounded or not np.isfinite(f.c.train_score).any():
        return None
    chance = f.chance if f.chance_known else 0.0
    return (f.last(f.c.train_score) - chance) / (1 - chance)


def _underfit(f: _Facts) -> bool:
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


def _regime(f: _Facts) -> str:
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
    if _underfit(f):
        return "still_improving" if _train_improving(f) else "underfitting"
    return "good_fit"


def _onset(f: _Facts, regime: str) -> int | None:
    if regime == "diverged":
        return f.divergence[0]
    if regime == "overfitting" and not (_rising(f) or f.weak_rise):
        return f.score_peak
    if regime == "overfitting" or (regime == "memorization" and _rising(f)):
        return int(f.ev[f.i_min])
    if regime == "memorization" and f.c.bounded and np.isfinite(f.c.train_score).any():
        near = np.flatnonzero(f.c.train_score >= NEAR_PERFECT)
        return int(f.c.epochs[near[0]]) if len(near) else None
    return None


def _confidence(f: _Facts, regime: str) -> str:
    if regime == "diverged":
        return "high" if f.divergence[2] else "medium"
    if f.n < MIN_EPOCHS_TO_JUDGE:
        return "low"
    score = 2
    score -= f.n < 20
    score -= f.judged_on != "val_loss"
    score -= not f.has_train and not np.isfinite(f.c.train_score).any()
    if regime in ("overfitting", "memorization") and _rising(f):
        score -= (f.p_rise if _trend_rising(f) else f.lasting[2]) >= 0.01
    if regime == "overfitting" and _val_score_still_rising(f):
        score -= 1
    if regime == "overfitting" and not _rising(f):
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


def _val_score_still_rising(f: _Facts) -> bool:
    """Validation accuracy still improved after the loss turned (an error metric still fell by 1%)."""
    if f.judged_on != "val_loss" or not np.isfinite(f.c.val_score).any():
        return False
    after = f.c.good(f.c.val_score[(f.c.epochs >= f.ev[f.i_min]) & np.isfinite(f.c.val_score)])
    _, p = _mann_kendall(after, "greater")
    return p < TREND_P and len(after) >= 4 and after[-1] - after[0] >= (0.01 if f.c.bounded else 0.01 * abs(after[0]))


# ---- evidence ------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"


def _change(before: float, after: float) -> str:
    """How far `after` sits from `before`, relative to it, in words: `15% higher`, `3.1% lower`.

    Every percentage a sentence quotes is this of two values the same sentence quotes, so a reader
    can check it from the log.

    Example:
        >>> _change(0.162, 0.174), _change(2.0, 1.5)
        ('7.4% higher', '25% lower')
    """
    rel = (after - before) / (abs(before) or 1.0)
    return f"{_pct(abs(rel))} {'higher' if rel >= 0 else 'lower'}"


def _train_from(f: _Facts, since: int) -> tuple[int, float] | None:
    """The epoch and value the training loss is quoted from at an epoch: its value there, else the nearest
    earlier one, else its first value after (a training loss logged less often); None without one."""
    ok = np.isfinite(f.c.train_loss)
    if not ok.any():
        return None
    before = np.flatnonzero(ok & (f.c.epochs <= since))
    i = before[-1] if len(before) else np.flatnonzero(ok)[0]
    return int(f.c.epochs[i]), float(f.c.train_loss[i])


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _gap(f: _Facts, epoch: int | None, digits: int | None = 6) -> dict:
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


def _rise_sentence(f: _Facts, best: int) -> str:
    """Where the judged curve turned, where it was lowest (the best epoch; not always the turn: the turn is the
    trend's, the lowest a single value), where it ended, and the training loss meanwhile."""
    c, turn, last_epoch = f.c, int(f.ev[f.i_min]), int(f.ev[-1])
    v_turn, v_end = float(f.v[f.i_min]), float(f.v[-1])
    start = _train_from(f, turn)
    train = ""
    if start is not None:
        e0, t0 = start
        t1 = f.final(c.train_loss)
        at = "" if e0 == turn else f" (epoch {e0})"
        train = f", while {c.train_name} {'fell' if t1 < t0 else 'rose'} from {t0:.3g}{at} to {t1:.3g}"
    if best == turn:
        head = f"{f.name} was lowest at epoch {turn} ({v_turn:.3g})"
    else:
        head = (f"{f.name} turned upward at epoch {turn} ({v_turn:.3g}; its lowest single value, the best epoch's, "
                f"was {f.v[f.i_best]:.3g} at epoch {best})")
    return (f"{head} and ended at {v_end:.3g} at epoch {last_epoch}, {_change(v_turn, v_end)} than at epoch {turn}"
            f"{train}.")


def _train_fall_words(f: _Facts) -> str:
    """`training loss fell from A to B`, first logged value to last."""
    t = f.c.train_loss[np.isfinite(f.c.train_loss)]
    return f"{f.c.train_name} {'fell' if t[-1] < t[0] else 'rose'} from {t[0]:.3g} to {t[-1]:.3g}"


def _tail_words(f: _Facts) -> str:
    """`validation loss fell from A at epoch x to B at epoch y, 5.4% lower`: the last third's first and last points."""
    e, y = f.ev[-f.tail_len:], f.v[-f.tail_len:]
    did = "fell" if y[-1] < y[0] else "went"
    return f"{f.name} {did} from {y[0]:.3g} at epoch {e[0]} to {y[-1]:.3g} at epoch {e[-1]}, {_change(y[0], y[-1])},"


def _evidence(f: _Facts, regime: str, onset: int | None, best: int) -> list[str]:
    c, out = f.c, []
    last_epoch = int(c.epochs[-1])
    if f.n < MIN_EPOCHS_TO_JUDGE:
        out.append(f"only {f.n} validated epochs: too short to judge; this verdict is tentative.")
    step = int(np.median(np.diff(f.ev))) if f.n > 1 else 1
    if step > 1:
        out.append(f"validation was logged every {step} epochs ({f.n} points).")
    if regime == "diverged":
        out.append(f.divergence[1])
        if best is not None:
            before = "before that, " if best < f.divergence[0] else ""
            out.append(f"{before}{f.name} was lowest at epoch {best} ({f.v[f.i_best]:.3g}).")
        return out
    turn = int(f.ev[f.i_min])
    rising = _rising(f)
    if regime in ("overfitting", "memorization") and f.i_min < f.n - 1 and (rising or f.weak_rise):
        out.append(_rise_sentence(f, best))
        if _trend_rising(f):
            out.append(f"the rise is a trend, not noise: Mann-Kendall tau {f.tau:.2f}, {_p(f.p_rise)} over the "
                       f"{f.n - f.i_min} validated epochs from the turn.")
        elif rising:
            at_turn, at_end, p, k = f.lasting
            out.append(f"the rise came and lasted: the last {k} validated epochs sat at {at_end:.3g} (median), "
                       f"{_change(at_turn, at_end)} than the {at_turn:.3g} of the turn and the 4 epochs after it "
                       f"(rank-sum {_p(p)}), far past the epoch-to-epoch noise.")
        else:
            out.append(f"alone that rise is too noisy to call (Mann-Kendall {_p(f.p_rise)} over the {f.n - f.i_min} "
                       "validated epochs from the turn), but the other signs agree.")
    worse, better, peak = c.verbs()
    if regime == "overfitting" and f.score_sign is not None:
        v_peak, v_end, t_peak, t_end = f.score_after
        did = worse if f.score_sign == "fall" else "stalled"
        out.append(f"validation {c.word} {did} from epoch {f.score_peak} on ({c.fmt(v_peak)} there, {c.fmt(v_end)} at "
                   f"the end) while training {c.word} {better} from {c.fmt(t_peak)} to {c.fmt(t_end)}.")
    if regime == "overfitting" and f.gap_sign is not None:
        g0, g1, p = f.gap_sign
        if not f.has_score:
            what = f"validation minus {c.train_name} widened from {g0:.3g} to {g1:.3g}"
        elif c.bounded:
            what = (f"training minus validation {c.word} widened from {c.fmt_gap(g0)} to {c.fmt_gap(g1)}"
                    + (" points" if c.classification else ""))
        else:
            what = f"validation minus training {c.word} widened from {g0:.3g} to {g1:.3g}"
        out.append(f"the gap grew: {what} since epoch {min(turn, f.score_peak or turn)} (Mann-Kendall {_p(p)}).")
    if regime == "memorization" and np.isfinite(c.val_score).any():
        what = (f"chance level is {f.chance:.1%}" if c.classification else "predicting the mean scores 0") + (
            "" if f.chance_known else " (estimated from the validation loss; pass the number of classes to be exact)")
        train = (f"training {c.word} reached {c.fmt(f.final(c.train_score))}" if f.has_score else _train_fall_words(f))
        out.append(f"{train} while validation {c.word} never rose above {c.fmt(np.nanmax(c.val_score))}; {what}.")
    elif regime == "memorization":
        out.append(f"{f.name} never fell below {float(np.min(f.v)):.3g}, against the {np.log(1 / f.chance):.3g} that "
                   f"guessing uniformly among {1 / f.chance:.0f} classes costs, while {_train_fall_words(f)}: nothing "
                   "learned carries over to validation.")
    if regime == "overfitting" and np.isfinite(c.val_score).any() and f.judged_on == "val_loss" and f.score_sign is None:
        acc = c.val_score[np.isfinite(c.val_score)]
        acc_epochs = c.epochs[np.isfinite(c.val_score)]
        if _val_score_still_rising(f):
            why = "confident mistakes" if c.classification else "a few large errors"
            out.append(f"validation {c.word} still {'rose' if better == 'climbed' else better} to {c.fmt(acc[-1])}: "
                       f"the loss rises from {why} before {c.word} shows it.")
        else:
            k = int(np.argmax(c.good(acc)))
            out.append(f"validation {c.word} {'peaked' if peak == 'peak' else 'was best'} at {c.fmt(acc[k])} at epoch "
                       f"{acc_epochs[k]} and ended at {c.fmt(acc[-1])}.")
    if regime == "still_improving":
        when = "its last epoch" if best == last_epoch else f"epoch {best}, {last_epoch - best} epoch(s) before the end"
        out.append(f"{_tail_words(f)} over the last {f.tail_len} validated epochs (Mann-Kendall {_p(f.p_fall)}) and "
                   f"was lowest at {when}.")
        if _underfit(f):
            out.append(_fit_sentence(f) + " and it was still improving.")
    if regime == "underfitting":
        out.append(_fit_sentence(f) + f", flat over the last {f.tail_len} validated epochs.")
        if f.has_score and f.c.bounded and f.chance_known and f.last(c.train_score) <= f.chance + NEAR_CHANCE * (1 - f.chance):
            out.append(f"training {c.word} is at {c.chance_words(f.chance)}: the network learned nothing; a learning "
                       "rate far off, unscaled inputs or broken labels are the usual causes.")
    if regime == "good_fit":
        out.append(f"{f.name} settled: lowest at epoch {best} ({f.v[f.i_best]:.3g}) and ended at {f.v[-1]:.3g}; "
                   f"it neither fell {MIN_GAIN:.0%} over the last {f.tail_len} validated epochs nor rose "
                   f"{MIN_RISE:.0%} beyond the noise after its turn.")
        if f.n - 1 - f.i_min >= 3 and f.rise > 0 and f.v[-1] > f.v[f.i_min]:
            out.append(f"since epoch {turn} ({f.v[f.i_min]:.3g}) it rose to {f.v[-1]:.3g}, {_change(f.v[f.i_min], f.v[-1])} "
                       f"(Mann-Kendall {_p(f.p_rise)}): too little to call overfitting yet.")
    g_best, g_final = _gap(f, best, digits=None), _gap(f, last_epoch, digits=None)
    key = c.score or "accuracy"
    ended = (f"(training {c.fmt(f.at(c.train_score, last_epoch))}, validation {c.fmt(f.at(c.val_score, last_epoch))})")
    said = g_best[key] is not None and g_final[key] is not None
    if said and c.bounded:
        unit = " points" if c.classification else ""
        out.append(f"training minus validation {c.word}: {c.fmt_gap(g_best[key])}{unit} at the best epoch, "
                   f"{c.fmt_gap(g_final[key])} at the end {ended}.")
    elif said:
        out.append(f"validation minus training {c.word}: {-g_best[key]:+.3g} at the best epoch, {-g_final[key]:+.3g} "
                   f"at the end {ended}.")
    if g_best["loss"] is not None and g_final["loss"] is not None and not (said and c.classification):
        out.append(f"validation loss minus {c.train_name}: {-g_best['loss']:+.3g} at the best epoch, "
                   f"{-g_final['loss']:+.3g} at the end.")
    if regime in ("overfitting", "good_fit") and 3 <= last_epoch - best and f.i_best < f.n - 1:
        out.append(f"the run ended {last_epoch - best} epochs after its best epoch {best}.")
    if f.judged_on == "val_accuracy":
        out.append("no validation loss was logged: judged on validation error (1 - accuracy), which reacts later.")
    elif f.judged_on != "val_loss":
        out.append(f"no validation loss was logged: judged on {f.name}.")
    return out


def _fit_sentence(f: _Facts) -> str:
    c = f.c
    if c.bounded and np.isfinite(c.train_score).any():
        chance = f" ({c.chance_words(f.chance)})" if f.chance_known else ""
        return f"training {c.word} ended at {c.fmt(f.final(c.train_score))}{chance} after {int(c.epochs[-1])} epochs"
    if not f.has_train and np.isfinite(c.train_score).any():
        return (f"training {c.word} ended at {c.fmt(f.final(c.train_score))}, close to the validation {c.word} "
                f"{c.fmt(f.final(c.val_score))}, after {int(c.epochs[-1])} epochs")
    return (f"{c.train_name} ended at {f.final(c.train_loss):.3g}, close to the validation loss "
            f"{f.final(c.val_loss):.3g}, after {int(c.epochs[-1])} epochs")


# ---- advice --------------------------------------------------------------------------------------
def _patience(f: _Facts) -> int:
    return max(5, int(round(0.1 * int(f.c.epochs[-1]))))


def _stop_words(f: _Facts, best: int) -> str:
    """The early-stopping advice: where the judged curve was lowest and ended, and what stopping would keep and save."""
    last_epoch, patience = int(f.c.epochs[-1]), _patience(f)
    v_best, v_end = float(f.v[f.i_best]), float(f.v[-1])
    if f.i_best == f.n - 1:
        return (f"{f.name} was lowest at its last validated epoch, {best} ({v_best:.3g}); with patience {patience}, "
                "a longer run keeps its best epoch's weights.")
    saves = last_epoch - best - patience
    saving = f" and saves {saves} epochs" if saves > 0 else ""
    return (f"{f.name} was lowest at epoch {best} ({v_best:.3g}) and ended at {v_end:.3g}, {_change(v_best, v_end)}; "
            f"stopping with patience {patience} keeps epoch {best}'s weights{saving}.")


def _overfit_advice(f: _Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    ratio = ctx.num_params / ctx.train_size if ctx.num_params and ctx.train_size else None
    c = f.c
    acc = (f" training {c.word} reached {c.fmt(f.final(c.train_score))} against {c.fmt(f.final(c.val_score))} on "
           "validation;" if f.has_score else "")
    size = (f"{ctx.num_params:,} parameters for {ctx.train_size:,} training samples ({ratio:.0f} per sample)"
            if ratio is not None else "")
    kind = ctx.data_kind
    scored = [
        (5.0, Advice("early_stopping", _stop_words(f, best))),
        (4.0 - 2.0 * (kind == "table") + 0.5 * (kind == "image"),
         Advice("augment", f"more varied training samples make memorizing harder;{acc} "
                           + ("for tables use noise or mixup." if kind == "table" else "start with shifts and noise."))),
        (3.5 + 0.5 * (ratio is not None and ratio > 50),
         Advice("weight_decay", "an L2 penalty (1e-4 to 1e-3) keeps weights from growing to fit noise"
                                + (f"; {size}." if size else "."))),
        (3.0, Advice("dropout", "dropout (0.2 to 0.5) on hidden units stops them co-adapting to single samples.")),
        (2.5 + 2.25 * (ratio is not None and ratio > 50) - 1.0 * (ratio is not None and ratio < 1),
         Advice("shrink", (f"{size}: a smaller model has less room to memorize." if size
                           else "a smaller model (fewer or narrower layers) has less room to memorize."))),
        (1.0, Advice("batchnorm", "a mild regularizer that mostly stabilizes training; try it after the others.")),
    ]
    return scored


def _advice(f: _Facts, regime: str, ctx: Context, best: int | None) -> tuple[Advice, ...]:
    last_epoch = int(f.c.epochs[-1])
    scored: list[tuple[float, Advice]] = []
    if regime in ("overfitting", "memorization"):
        scored = _overfit_advice(f, ctx, best)
        if regime == "memorization":
            c = f.c
            fits = (f"training {c.word} {c.fmt(f.final(c.train_score))}" if f.has_score else
                    f"{c.train_name} down to {f.final(c.train_loss):.3g}")
            what = (f"{fits} but validation {c.word} at {c.chance_words(f.chance)}" if np.isfinite(c.val_score).any()
                    else f"{f.name} never beat guessing while {c.train_name} fell to {f.final(c.train_loss):.3g}")
            labels = "labels" if c.classification else "targets"
            scored.append((9.0, Advice(CHECK_DATA, f"{what}: the network memorized the training {labels}. Check that "
                                                   f"{labels} match inputs, are not shuffled, and that training and "
                                                   "validation data come from the same source.")))
            scored = [(s - 2.0 if a.remedy == "early_stopping" else s, a) for s, a in scored]
    elif regime == "underfitting":
        weak = [r for r in ("dropout", "weight_decay", "shrink") if r in ctx.remedies]
        less = f" Remove or weaken {', '.join(weak)}, which the run used." if weak else ""
        lr = ("; its loss blew up on the way, so lower the learning rate rather than raise it" if f.blew_up
              else " or a larger learning rate")
        scored.append((5.0, Advice(MORE_CAPACITY, _fit_sentence(f) + ": the model cannot fit its training data; "
                                                  f"use a wider or deeper model{lr}." + less)))
        if (f.has_score and f.c.bounded and f.chance_known
                and f.last(f.c.train_score) <= f.chance + NEAR_CHANCE * (1 - f.chance)):
            tries = "a learning rate 10x lower" if f.blew_up else "a learning rate 10x higher and 10x lower"
            at = "at chance" if f.c.classification else "near 0"
            scored.append((6.0, Advice(CHECK_DATA, f"training {f.c.word} stayed {at}: try {tries}, check input "
                                                   f"scaling and that {'labels' if f.c.classification else 'targets'} "
                                                   "match inputs.")))
    elif regime == "still_improving":
        scored.append((5.0, Advice(TRAIN_LONGER, f"{_tail_words(f)} over the last {f.tail_len} validated epochs, and "
                                                 f"was still falling at epoch {last_epoch}.")))
        scored.append((2.0, Advice("early_stopping", f"with patience {_patience(f)}, a longer run keeps its best "
                                                     "epoch even if it starts to overfit.")))
    elif regime == "good_fit":
        idle = last_epoch - (best or last_epoch)
        if idle >= max(10, 0.25 * last_epoch):
            scored.append((3.0, Advice("early_stopping", f"no better validation after epoch {best}; stopping with "
                                                         f"patience {_patience(f)} saves about {idle - _patience(f)} epochs.")))
    elif regime == "diverged":
        scored.append((5.0, Advice(LOWER_LR, f.divergence[1] + " Lower the learning rate (try 10x lower) or clip gradients.")))
        scored.append((3.0, Advice("batchnorm", "normalized activations tolerate larger steps.")))
        scored.append((2.0, Advice(CHECK_DATA, "NaN or extreme values in the inputs or labels also blow the loss up.")))
    ranked = []
    for score, a in scored:
        if a.remedy in ctx.remedies:
            note = ("already in use: it keeps the best weights but does not stop the rise."
                    if a.remedy == "early_stopping" and regime in ("overfitting", "memorization") else
                    "already in use: keep it for the longer run." if a.remedy == "early_stopping"
                    else "already in use: try a stronger setting.")
            score, a = score - 3.0, Advice(a.remedy, f"{note} {a.reason}")
        ranked.append((score, a))
    ranked.sort(key=lambda sa: -sa[0])
    return tuple(a for _, a in ranked)


# ---- public --------------------------------------------------------------------------------------
def _as_context(context: Context | Mapping | None) -> Context:
    if context is None:
        return Context()
    if isinstance(context, Context):
        return context
    unknown = set(context) - {"num_params", "train_size", "remedies", "num_classes", "data_kind"}
    if unknown:
        raise GoodfitError(f"unknown context key(s) {', '.join(sorted(unknown))}; use num_params, train_size, "
                           "remedies, num_classes, data_kind")
    return Context(**context)


def _diagnose_member(history: History, member: int, ctx: Context) -> Diagnosis:
    num_classes = ctx.num_classes or history.num_classes
    chance = 1.0 / num_classes if num_classes else None
    with np.errstate(all="ignore"):  # losses of 1e300 or infinite are read, and judged, not warned about
        return _diagnosis(history, member, ctx, chance)


def _diagnosis(history: History, member: int, ctx: Context, chance: float | None) -> Diagnosis:
    f = _facts(_curves_of(history, member), chance, history.source)
    regime = _regime(f)
    onset = _onset(f, regime)
    best = int(f.ev[f.i_best])
    last_epoch = int(f.c.epochs[-1])
    return Diagnosis(regime=regime, onset_epoch=onset, best_epoch=best,
                     gap={"best": _gap(f, best), "final": _gap(f, last_epoch)},
                     evidence=tuple(history.notes) + tuple(_evidence(f, regime, onset, best)),
                     advice=_advice(f, regime, ctx, best),
                     confidence=_confidence(f, regime), judged_on=f.judged_on, epochs=last_epoch)


def diagnose(history: History, *, context: Context | Mapping | None = None) -> Diagnosis:
    """Say whether, since when and why a model overfits, from its history alone.

    The rules are in this module's docstring; the thresholds are its constants. A history with
    several members (seeds of one configuration) gets their consensus, as `diagnose_seeds`.

    Args:
        history: per-epoch metrics; needs a validation loss or accuracy on at least 2 epochs.
        context: what else is known (a `Context` or a dict of its fields): parameter count,
            training size, remedies already used, number of classes. Default None.

    Returns:
        The `Diagnosis`.

    Raises:
        GoodfitError: no validation metric, or fewer than 2 validated epochs.

    Example:
        >>> e = np.arange(1, 61)
        >>> val = 0.3 + 2 * np.exp(-e / 5) + 0.01 * np.maximum(0, e - 20)
        >>> h = History(pd.DataFrame({"member": 0, "epoch": e, "train_loss": 2 * np.exp(-e / 8), "val_loss": val}))
        >>> d = diagnose(h)
        >>> d.regime, d.onset_epoch, d.best_epoch
        ('overfitting', 20, 20)
    """
    ctx = _as_context(context)
    if len(history.members) > 1:
        return diagnose_seeds(history, context=ctx)
    return _diagnose_member(history, history.members[0], ctx)


def _summary(values: list[int]) -> dict | None:
    if not values:
        return None
    return {"median": int(np.median(values)), "min": int(min(values)), "max": int(max(values))}


def _mean_history(history: History) -> History:
    """The member-wise mean curve over epochs that at least half the members reached."""
    frame = history.frame.drop(columns="member")
    counts = history.frame.groupby("epoch")["member"].nunique()
    keep = counts.index[counts >= len(history.members) / 2]
    mean = frame[frame["epoch"].isin(keep)].groupby("epoch", as_index=False).mean()
    return History(mean.assign(member=0), history.num_classes, history.source)


def diagnose_seeds(history: History, *, context: Context | Mapping | None = None) -> Diagnosis:
    """One diagnosis for several seeds of one configuration: the consensus regime and its spread.

    Each member is diagnosed alone; the regime is the one most members share (a tie goes to the
    diagnosis of the members' mean curve, then to the more severe regime). Onset and best epoch
    are medians over the members that share it; `spread` lists every member's regime and the
    range of onsets and best epochs. Evidence and advice come from the mean curve when it agrees,
    else from the median member. Confidence drops a level when fewer than 3 in 4 members agree.

    Args:
        history: a history with one or more members.
        context: as for `diagnose`. Default None.

    Returns:
        A `Diagnosis` whose `spread` holds `members`, `agreement`, `regimes` (per member),
        `onset_epoch` and `best_epoch` (median, min, max over the agreeing members).

    Example:
        >>> e = np.arange(1, 61)
        >>> rows = [pd.DataFrame({"member": m, "epoch": e, "train_loss": 2 * np.exp(-e / 8),
        ...                       "val_loss": 0.3 + 2 * np.exp(-e / 5) + 0.01 * np.maximum(0, e - 18 - m)})
        ...         for m in range(3)]
        >>> d = diagnose_seeds(History(pd.concat(rows)))
        >>> d.regime, d.spread["agreement"], d.spread["onset_epoch"]
        ('overfitting', 1.0, {'median': 19, 'min': 18, 'max': 20})
    """
    ctx = _as_context(context)
    members = history.members
    each = [_diagnose_member(history, m, ctx) for m in members]
    mean = _diagnose_member(_mean_history(history), 0, ctx) if len(members) > 1 else each[0]
    counts = Counter(d.regime for d in each)
    top = max(counts.values())
    tied = [r for r in counts if counts[r] == top]
    regime = mean.regime if mean.regime in tied else max(tied, key=REGIMES.index)
    agree = [d for d in each if d.regime == regime]
    onsets = [d.onset_epoch for d in agree if d.onset_epoch is not None]
    bests = [d.best_epoch for d in agree if d.best_epoch is not None]
    onset, best = _summary(onsets), _summary(bests)
    if mean.regime == regime:
        base = mean
    else:
        order = sorted(agree, key=lambda d: (d.onset_epoch or 0, d.best_epoch or 0))
        base = order[len(order) // 2]
    agreement = round(top / len(members), 3)
    level = CONFIDENCE.index(base.confidence) - (agreement < 0.75) - (agreement <= 0.5)
    lead = (f"{top} of {len(members)} seeds: {regime}"
            + (f"; onset epoch median {onset['median']} (range {onset['min']}-{onset['max']})" if onset else "")
            + (f"; best epoch median {best['median']} (range {best['min']}-{best['max']})." if best else "."))
    spread = {"members": len(members), "agreement": agreement,
              "regimes": {int(m): d.regime for m, d in zip(members, each)},
              "onset_epoch": onset, "best_epoch": best}
    return Diagnosis(regime=regime, onset_epoch=onset["median"] if onset else None,
                     best_epoch=best["median"] if best else None, gap=base.gap,
                     evidence=(lead,) + base.evidence if len(members) > 1 else base.evidence,
                     advice=base.advice, confidence=CONFIDENCE[max(0, level)], judged_on=base.judged_on,
                     epochs=history.epochs, spread=spread)
