"""The diagnosis put together: one member's from its facts, verdict, evidence and advice; several seeds' consensus.

`diagnose` and `diagnose_seeds` are the package's entry points (re-exported by `goodfit.diagnose`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from goodfit.diagnose.advice import ranked_advice
from goodfit.diagnose.curves import curves_of
from goodfit.diagnose.evidence import evidence_sentences
from goodfit.diagnose.facts import facts_of, gap_at
from goodfit.diagnose.rules import confidence_of, onset_of, regime_of
from goodfit.diagnose.values import CONFIDENCE, REGIMES, Context, Diagnosis, as_context
from goodfit.history import History


def _diagnose_member(history: History, member: int, ctx: Context) -> Diagnosis:
    num_classes = ctx.num_classes or history.num_classes
    chance = 1.0 / num_classes if num_classes else None
    with np.errstate(all="ignore"):  # losses of 1e300 or infinite are read, and judged, not warned about
        return _diagnosis(history, member, ctx, chance)


def _diagnosis(history: History, member: int, ctx: Context, chance: float | None) -> Diagnosis:
    f = facts_of(curves_of(history, member), chance, history.source)
    regime = regime_of(f)
    onset = onset_of(f, regime)
    best = int(f.ev[f.i_best])
    last_epoch = int(f.c.epochs[-1])
    return Diagnosis(regime=regime, onset_epoch=onset, best_epoch=best,
                     gap={"best": gap_at(f, best), "final": gap_at(f, last_epoch)},
                     evidence=tuple(history.notes) + tuple(evidence_sentences(f, regime, best)),
                     advice=ranked_advice(f, regime, ctx, best),
                     confidence=confidence_of(f, regime), judged_on=f.judged_on, epochs=last_epoch)


def diagnose(history: History, *, context: Context | Mapping | None = None) -> Diagnosis:
    """Say whether, since when and why a model overfits, from its history alone.

    The rules are in the `goodfit.diagnose` docstring; the thresholds are constants in its `values`. A history with
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
        >>> import pandas as pd
        >>> e = np.arange(1, 61)
        >>> val = 0.3 + 2 * np.exp(-e / 5) + 0.01 * np.maximum(0, e - 20)
        >>> h = History(pd.DataFrame({"member": 0, "epoch": e, "train_loss": 2 * np.exp(-e / 8), "val_loss": val}))
        >>> d = diagnose(h)
        >>> d.regime, d.onset_epoch, d.best_epoch
        ('overfitting', 20, 20)
    """
    ctx = as_context(context)
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
        >>> import pandas as pd
        >>> e = np.arange(1, 61)
        >>> rows = [pd.DataFrame({"member": m, "epoch": e, "train_loss": 2 * np.exp(-e / 8),
        ...                       "val_loss": 0.3 + 2 * np.exp(-e / 5) + 0.01 * np.maximum(0, e - 18 - m)})
        ...         for m in range(3)]
        >>> d = diagnose_seeds(History(pd.concat(rows)))
        >>> d.regime, d.spread["agreement"], d.spread["onset_epoch"]
        ('overfitting', 1.0, {'median': 19, 'min': 18, 'max': 20})
    """
    ctx = as_context(context)
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
