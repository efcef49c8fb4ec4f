"""The evidence: sentences with the numbers behind a verdict, each figure one the log holds.

A percentage is always `change_words` of two values the same sentence quotes, and a p-value is
`goodfit.words.p_text`, so a reader can check every number against the log.
"""
from __future__ import annotations

import numpy as np

from goodfit.diagnose.facts import Facts, gap_at
from goodfit.diagnose.rules import clear_rise, learned_nothing, trend_rising, underfit, val_score_still_rising
from goodfit.diagnose.values import MIN_EPOCHS_TO_JUDGE, MIN_GAIN, MIN_RISE
from goodfit.words import p_text


def _pct(x: float) -> str:
    return f"{x:.0%}" if abs(x) >= 0.1 else f"{x:.1%}"


def change_words(before: float, after: float) -> str:
    """How far `after` sits from `before`, relative to it, in words: `15% higher`, `3.1% lower`.

    Every percentage a sentence quotes is this of two values the same sentence quotes, so a reader
    can check it from the log.

    Example:
        >>> change_words(0.162, 0.174), change_words(2.0, 1.5)
        ('7.4% higher', '25% lower')
    """
    rel = (after - before) / (abs(before) or 1.0)
    return f"{_pct(abs(rel))} {'higher' if rel >= 0 else 'lower'}"


def _train_from(f: Facts, since: int) -> tuple[int, float] | None:
    """The epoch and value the training loss is quoted from at an epoch: its value there, else the nearest
    earlier one, else its first value after (a training loss logged less often); None without one."""
    ok = np.isfinite(f.c.train_loss)
    if not ok.any():
        return None
    before = np.flatnonzero(ok & (f.c.epochs <= since))
    i = before[-1] if len(before) else np.flatnonzero(ok)[0]
    return int(f.c.epochs[i]), float(f.c.train_loss[i])


def _rise_sentence(f: Facts, best: int) -> str:
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
    return (f"{head} and ended at {v_end:.3g} at epoch {last_epoch}, {change_words(v_turn, v_end)} than at epoch {turn}"
            f"{train}.")


def _train_fall_words(f: Facts) -> str:
    """`training loss fell from A to B`, first logged value to last."""
    t = f.c.train_loss[np.isfinite(f.c.train_loss)]
    return f"{f.c.train_name} {'fell' if t[-1] < t[0] else 'rose'} from {t[0]:.3g} to {t[-1]:.3g}"


def tail_words(f: Facts) -> str:
    """`validation loss fell from A at epoch x to B at epoch y, 5.4% lower`: the last third's first and last points."""
    e, y = f.ev[-f.tail_len:], f.v[-f.tail_len:]
    did = "fell" if y[-1] < y[0] else "went"
    return (f"{f.name} {did} from {y[0]:.3g} at epoch {e[0]} to {y[-1]:.3g} at epoch {e[-1]}, "
            f"{change_words(y[0], y[-1])},")


def fit_sentence(f: Facts) -> str:
    c = f.c
    if c.bounded and np.isfinite(c.train_score).any():
        chance = f" ({c.chance_words(f.chance)})" if f.chance_known else ""
        return f"training {c.word} ended at {c.fmt(f.final(c.train_score))}{chance} after {int(c.epochs[-1])} epochs"
    if not f.has_train and np.isfinite(c.train_score).any():
        return (f"training {c.word} ended at {c.fmt(f.final(c.train_score))}, close to the validation {c.word} "
                f"{c.fmt(f.final(c.val_score))}, after {int(c.epochs[-1])} epochs")
    return (f"{c.train_name} ended at {f.final(c.train_loss):.3g}, close to the validation loss "
            f"{f.final(c.val_loss):.3g}, after {int(c.epochs[-1])} epochs")


def _opening(f: Facts) -> list[str]:
    """How much there was to judge: a run too short, validation logged every few epochs."""
    out = []
    if f.n < MIN_EPOCHS_TO_JUDGE:
        out.append(f"only {f.n} validated epochs: too short to judge; this verdict is tentative.")
    step = int(np.median(np.diff(f.ev))) if f.n > 1 else 1
    if step > 1:
        out.append(f"validation was logged every {step} epochs ({f.n} points).")
    return out


def _diverged(f: Facts, best: int) -> list[str]:
    out = [f.divergence[1]]
    if best is not None:
        before = "before that, " if best < f.divergence[0] else ""
        out.append(f"{before}{f.name} was lowest at epoch {best} ({f.v[f.i_best]:.3g}).")
    return out


def _rise(f: Facts, best: int) -> list[str]:
    """The rise after the turn and how sure it is: a trend, a rise that came and lasted, or too noisy alone."""
    rising = clear_rise(f)
    if f.i_min >= f.n - 1 or not (rising or f.weak_rise):
        return []
    if trend_rising(f):
        how = (f"the rise is a trend, not noise: Mann-Kendall tau {f.tau:.2f}, {p_text(f.p_rise)} over the "
               f"{f.n - f.i_min} validated epochs from the turn.")
    elif rising:
        at_turn, at_end, p, k = f.lasting
        how = (f"the rise came and lasted: the last {k} validated epochs sat at {at_end:.3g} (median), "
               f"{change_words(at_turn, at_end)} than the {at_turn:.3g} of the turn and the 4 epochs after it "
               f"(rank-sum {p_text(p)}), far past the epoch-to-epoch noise.")
    else:
        how = (f"alone that rise is too noisy to call (Mann-Kendall {p_text(f.p_rise)} over the {f.n - f.i_min} "
               "validated epochs from the turn), but the other signs agree.")
    return [_rise_sentence(f, best), how]


def _score_turned(f: Facts) -> list[str]:
    """The second sign: validation score fell (or stalled) from its best while the training score improved."""
    if f.score_sign is None:
        return []
    c = f.c
    worse, better, _ = c.verbs()
    v_peak, v_end, t_peak, t_end = f.score_after
    did = worse if f.score_sign == "fall" else "stalled"
    return [f"validation {c.word} {did} from epoch {f.score_peak} on ({c.fmt(v_peak)} there, {c.fmt(v_end)} at "
            f"the end) while training {c.word} {better} from {c.fmt(t_peak)} to {c.fmt(t_end)}."]


def _gap_widened(f: Facts) -> list[str]:
    """The third sign: the gap between training and validation widened since the turn."""
    if f.gap_sign is None:
        return []
    c, turn = f.c, int(f.ev[f.i_min])
    g0, g1, p = f.gap_sign
    if not f.has_score:
        what = f"validation minus {c.train_name} widened from {g0:.3g} to {g1:.3g}"
    elif c.bounded:
        what = (f"training minus validation {c.word} widened from {c.fmt_gap(g0)} to {c.fmt_gap(g1)}"
                + (" points" if c.classification else ""))
    else:
        what = f"validation minus training {c.word} widened from {g0:.3g} to {g1:.3g}"
    return [f"the gap grew: {what} since epoch {min(turn, f.score_peak or turn)} (Mann-Kendall {p_text(p)})."]


def _val_score_meanwhile(f: Facts) -> list[str]:
    """With the verdict on the loss and no score sign: where validation accuracy went while the loss rose."""
    c = f.c
    if not np.isfinite(c.val_score).any() or f.judged_on != "val_loss" or f.score_sign is not None:
        return []
    _, better, peak = c.verbs()
    acc = c.val_score[np.isfinite(c.val_score)]
    acc_epochs = c.epochs[np.isfinite(c.val_score)]
    if val_score_still_rising(f):
        why = "confident mistakes" if c.classification else "a few large errors"
        return [f"validation {c.word} still {'rose' if better == 'climbed' else better} to {c.fmt(acc[-1])}: "
                f"the loss rises from {why} before {c.word} shows it."]
    k = int(np.argmax(c.good(acc)))
    return [f"validation {c.word} {'peaked' if peak == 'peak' else 'was best'} at {c.fmt(acc[k])} at epoch "
            f"{acc_epochs[k]} and ended at {c.fmt(acc[-1])}."]


def _overfitting(f: Facts, best: int) -> list[str]:
    return _score_turned(f) + _gap_widened(f) + _val_score_meanwhile(f)


def _memorization(f: Facts, best: int) -> list[str]:
    c = f.c
    if np.isfinite(c.val_score).any():
        what = (f"chance level is {f.chance:.1%}" if c.classification else "predicting the mean scores 0") + (
            "" if f.chance_known else " (estimated from the validation loss; pass the number of classes to be exact)")
        train = (f"training {c.word} reached {c.fmt(f.final(c.train_score))}" if f.has_score else _train_fall_words(f))
        return [f"{train} while validation {c.word} never rose above {c.fmt(np.nanmax(c.val_score))}; {what}."]
    return [f"{f.name} never fell below {float(np.min(f.v)):.3g}, against the {np.log(1 / f.chance):.3g} that "
            f"guessing uniformly among {1 / f.chance:.0f} classes costs, while {_train_fall_words(f)}: nothing "
            "learned carries over to validation."]


def _still_improving(f: Facts, best: int) -> list[str]:
    last_epoch = int(f.c.epochs[-1])
    when = "its last epoch" if best == last_epoch else f"epoch {best}, {last_epoch - best} epoch(s) before the end"
    out = [f"{tail_words(f)} over the last {f.tail_len} validated epochs (Mann-Kendall {p_text(f.p_fall)}) and "
           f"was lowest at {when}."]
    if underfit(f):
        out.append(fit_sentence(f) + " and it was still improving.")
    return out


def _underfitting(f: Facts, best: int) -> list[str]:
    c = f.c
    out = [fit_sentence(f) + f", flat over the last {f.tail_len} validated epochs."]
    if learned_nothing(f):
        out.append(f"training {c.word} is at {c.chance_words(f.chance)}: the network learned nothing; a learning "
                   "rate far off, unscaled inputs or broken labels are the usual causes.")
    return out


def _good_fit(f: Facts, best: int) -> list[str]:
    out = [f"{f.name} settled: lowest at epoch {best} ({f.v[f.i_best]:.3g}) and ended at {f.v[-1]:.3g}; "
           f"it neither fell {MIN_GAIN:.0%} over the last {f.tail_len} validated epochs nor rose "
           f"{MIN_RISE:.0%} beyond the noise after its turn."]
    if f.n - 1 - f.i_min >= 3 and f.rise > 0 and f.v[-1] > f.v[f.i_min]:
        out.append(f"since epoch {int(f.ev[f.i_min])} ({f.v[f.i_min]:.3g}) it rose to {f.v[-1]:.3g}, "
                   f"{change_words(f.v[f.i_min], f.v[-1])} (Mann-Kendall {p_text(f.p_rise)}): too little to call "
                   "overfitting yet.")
    return out


_BY_REGIME = {"overfitting": _overfitting, "memorization": _memorization, "still_improving": _still_improving,
              "underfitting": _underfitting, "good_fit": _good_fit}


def _gaps(f: Facts, best: int) -> list[str]:
    """Training against validation at the best epoch and at the end: the score's gap, the loss's where it adds."""
    c, out = f.c, []
    last_epoch = int(c.epochs[-1])
    g_best, g_final = gap_at(f, best, digits=None), gap_at(f, last_epoch, digits=None)
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
    return out


def _closing(f: Facts, regime: str, best: int) -> list[str]:
    """Epochs run past the best one, and what the verdict was judged on when no validation loss was logged."""
    out, last_epoch = [], int(f.c.epochs[-1])
    if regime in ("overfitting", "good_fit") and 3 <= last_epoch - best and f.i_best < f.n - 1:
        out.append(f"the run ended {last_epoch - best} epochs after its best epoch {best}.")
    if f.judged_on == "val_accuracy":
        out.append("no validation loss was logged: judged on validation error (1 - accuracy), which reacts later.")
    elif f.judged_on != "val_loss":
        out.append(f"no validation loss was logged: judged on {f.name}.")
    return out


def evidence_sentences(f: Facts, regime: str, best: int) -> list[str]:
    """The sentences behind a verdict, in reading order: what there was to judge, the signs the regime rests on,
    the gaps at the best and final epochs, and how the run ended."""
    out = _opening(f)
    if regime == "diverged":
        return out + _diverged(f, best)
    if regime in ("overfitting", "memorization"):
        out += _rise(f, best)
    return out + _BY_REGIME[regime](f, best) + _gaps(f, best) + _closing(f, regime, best)
