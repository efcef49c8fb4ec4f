"""The advice: remedies ranked for a verdict, each with the evidence that argues for it.

Every advice string lives here: the remedies' reasons and the advice that is no remedy
(`CHECK_DATA`, `TRAIN_LONGER`, `MORE_CAPACITY`, `LOWER_LR`).
"""
from __future__ import annotations

import numpy as np

from goodfit.diagnose.evidence import change_words, fit_sentence, tail_words
from goodfit.diagnose.facts import Facts
from goodfit.diagnose.rules import learned_nothing
from goodfit.diagnose.values import REMEDIES, Advice, Context
from goodfit.remedies import Dropout, Shrink, WeightDecay, remedy_for

CHECK_DATA = "check labels/data"
TRAIN_LONGER = "train longer"
MORE_CAPACITY = "more capacity / less regularization"
LOWER_LR = "lower learning rate"


def _patience(f: Facts) -> int:
    return max(5, int(round(0.1 * int(f.c.epochs[-1]))))


def _stop_words(f: Facts, best: int) -> str:
    """The early-stopping advice: where the judged curve was lowest and ended, and what stopping would keep and save."""
    last_epoch, patience = int(f.c.epochs[-1]), _patience(f)
    v_best, v_end = float(f.v[f.i_best]), float(f.v[-1])
    if f.i_best == f.n - 1:
        return (f"{f.name} was lowest at its last validated epoch, {best} ({v_best:.3g}); with patience {patience}, "
                "a longer run keeps its best epoch's weights.")
    saves = last_epoch - best - patience
    saving = f" and saves {saves} epochs" if saves > 0 else ""
    return (f"{f.name} was lowest at epoch {best} ({v_best:.3g}) and ended at {v_end:.3g}, "
            f"{change_words(v_best, v_end)}; stopping with patience {patience} keeps epoch {best}'s weights{saving}.")


def _overfitting(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    ratio = ctx.num_params / ctx.train_size if ctx.num_params and ctx.train_size else None
    c = f.c
    acc = (f" training {c.word} reached {c.fmt(f.final(c.train_score))} against {c.fmt(f.final(c.val_score))} on "
           "validation;" if f.has_score else "")
    size = (f"{ctx.num_params:,} parameters for {ctx.train_size:,} training samples ({ratio:.0f} per sample)"
            if ratio is not None else "")
    kind = ctx.data_kind
    return [
        (5.0, Advice("early_stopping", _stop_words(f, best))),
        (4.0 - 2.0 * (kind == "table") + 0.5 * (kind == "image"),
         Advice("augment", f"more varied training samples make memorizing harder;{acc} "
                           + ("for tables use noise or mixup." if kind == "table" else "start with shifts and noise."))),
        (3.5 + 0.5 * (ratio is not None and ratio > 50),
         Advice("l2", "an L2 penalty (1e-4 to 1e-3) keeps weights from growing to fit noise"
                        + (f"; {size}." if size else "."))),
        (3.0, Advice("dropout", "dropout (0.2 to 0.5) on hidden units stops them co-adapting to single samples.")),
        (2.5 + 2.25 * (ratio is not None and ratio > 50) - 1.0 * (ratio is not None and ratio < 1),
         Advice("shrink", (f"{size}: a smaller model has less room to memorize." if size
                           else "a smaller model (fewer or narrower layers) has less room to memorize."))),
        (1.0, Advice("batchnorm", "a mild regularizer that mostly stabilizes training; try it after the others.")),
    ]


def _memorization(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    """The overfitting remedies, early stopping lower (there is no good epoch to keep), and the data to check first."""
    c = f.c
    fits = (f"training {c.word} {c.fmt(f.final(c.train_score))}" if f.has_score else
            f"{c.train_name} down to {f.final(c.train_loss):.3g}")
    what = (f"{fits} but validation {c.word} at {c.chance_words(f.chance)}" if np.isfinite(c.val_score).any()
            else f"{f.name} never beat guessing while {c.train_name} fell to {f.final(c.train_loss):.3g}")
    labels = "labels" if c.classification else "targets"
    scored = [(s - 2.0 if a.remedy == "early_stopping" else s, a) for s, a in _overfitting(f, ctx, best)]
    return scored + [(9.0, Advice(CHECK_DATA, f"{what}: the network memorized the training {labels}. Check that "
                                              f"{labels} match inputs, are not shuffled, and that training and "
                                              "validation data come from the same source."))]


def _underfitting(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    weak = [r for r in ctx.remedies if remedy_for(r) in (Dropout, WeightDecay, Shrink)]  # each takes capacity away
    less = f" Remove or weaken {', '.join(weak)}, which the run used." if weak else ""
    lr = ("; its loss blew up on the way, so lower the learning rate rather than raise it" if f.blew_up
          else " or a larger learning rate")
    scored = [(5.0, Advice(MORE_CAPACITY, fit_sentence(f) + ": the model cannot fit its training data; "
                                          f"use a wider or deeper model{lr}." + less))]
    if learned_nothing(f):
        tries = "a learning rate 10x lower" if f.blew_up else "a learning rate 10x higher and 10x lower"
        at = "at chance" if f.c.classification else "near 0"
        scored.append((6.0, Advice(CHECK_DATA, f"training {f.c.word} stayed {at}: try {tries}, check input "
                                               f"scaling and that {'labels' if f.c.classification else 'targets'} "
                                               "match inputs.")))
    return scored


def _still_improving(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    return [(5.0, Advice(TRAIN_LONGER, f"{tail_words(f)} over the last {f.tail_len} validated epochs, and "
                                       f"was still falling at epoch {int(f.c.epochs[-1])}.")),
            (2.0, Advice("early_stopping", f"with patience {_patience(f)}, a longer run keeps its best "
                                           "epoch even if it starts to overfit."))]


def _good_fit(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    last_epoch = int(f.c.epochs[-1])
    idle = last_epoch - (best or last_epoch)
    if idle < max(10, 0.25 * last_epoch):
        return []
    return [(3.0, Advice("early_stopping", f"no better validation after epoch {best}; stopping with "
                                           f"patience {_patience(f)} saves about {idle - _patience(f)} epochs."))]


def _diverged(f: Facts, ctx: Context, best: int) -> list[tuple[float, Advice]]:
    return [(5.0, Advice(LOWER_LR, f.divergence[1] + " Lower the learning rate (try 10x lower) or clip gradients.")),
            (3.0, Advice("batchnorm", "normalized activations tolerate larger steps.")),
            (2.0, Advice(CHECK_DATA, "NaN or extreme values in the inputs or labels also blow the loss up."))]


_BY_REGIME = {"overfitting": _overfitting, "memorization": _memorization, "underfitting": _underfitting,
              "still_improving": _still_improving, "good_fit": _good_fit, "diverged": _diverged}


def _in_use(a: Advice, regime: str) -> Advice:
    """A remedy the run already used: said so first, what it still does or what to try instead."""
    note = ("already in use: it keeps the best weights but does not stop the rise."
            if a.remedy == "early_stopping" and regime in ("overfitting", "memorization") else
            "already in use: keep it for the longer run." if a.remedy == "early_stopping"
            else "already in use: try a stronger setting.")
    return Advice(a.remedy, f"{note} {a.reason}")


def _used(ctx: Context, advised: str) -> bool:
    """Whether the run already used the remedy advised (in any of its spellings: `decay` is in use for `l2`)."""
    return any(remedy_for(r) is remedy_for(advised) for r in ctx.remedies) if advised in REMEDIES else False


def ranked_advice(f: Facts, regime: str, ctx: Context, best: int) -> tuple[Advice, ...]:
    """The regime's remedies, most promising first; one the run already used ranks 3 lower and says so."""
    scored = [(s - 3.0, _in_use(a, regime)) if _used(ctx, a.remedy) else (s, a)
              for s, a in _BY_REGIME[regime](f, ctx, best)]
    scored.sort(key=lambda sa: -sa[0])
    return tuple(a for _, a in scored)
