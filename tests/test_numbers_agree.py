"""Every number a diagnosis quotes agrees with the log it describes.

Each corpus log (tests/corpus, labels.json) is diagnosed, and every sentence of its evidence and
advice that holds a number must match one of the templates below, whose check recomputes each
epoch, value and percentage from the log's curves (pandas, numpy and scipy, not goodfit's own
statistics). A sentence with a number no template knows fails, so a new sentence needs its check.
Values are compared as printed: the figure in the sentence must be the file's value formatted the
way goodfit formats it, so a wrong epoch, a smoothed value passed off as a raw one or a percentage
of something else fails.
"""
import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from goodfit.diagnose import diagnose
from goodfit.history import read_history
from goodfit.words import p_text

CORPUS = Path(__file__).resolve().parent / "corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())

X = r"[-+]?\d+(?:\.\d+)?(?:e[+-]\d+)?"  # a value as .3g prints it
S = r"[-+]?\d+(?:\.\d+)?%?"  # a score: 84.1% (accuracy) or 0.403 (R², MAE)
P = r"\d+(?:\.\d+)?%"  # a percentage
PV = r"p<0\.001|p=\d\.\d{3,6}"  # goodfit.words.p_text: more digits where 3 would print 0.050
NAME = r"validation loss|validation error|validation MAE|validation RMSE|validation 1 - R²"
TRAIN = r"training loss|running training loss"
WORD = r"accuracy|MAE|RMSE|R²"
CONSTANTS = ("L2", "(1e-4 to 1e-3)", "(0.2 to 0.5)", "10x", "3%")  # remedies' usual settings and thresholds, not read


class Log:
    """One log's curves as read, and what the test recomputes from them."""

    def __init__(self, h):
        f = h.frame
        self.epochs = f["epoch"].to_numpy(int)
        col = lambda name: f[name].to_numpy(float) if name in f else np.full(len(f), np.nan)
        self.train_loss = col("train_loss")
        if np.isnan(self.train_loss).all():
            self.train_loss = col("running_loss")
        self.val_loss = col("val_loss")
        self.score = h.score or "accuracy"
        self.train_score, self.val_score = col(f"train_{self.score}"), col(f"val_{self.score}")
        self.higher = self.score in ("accuracy", "r2")
        use_loss = np.isfinite(self.val_loss).sum() >= 2
        judged = self.val_loss if use_loss else (1 - self.val_score if self.higher else self.val_score)
        ok = np.isfinite(judged)
        self.ev, self.v = self.epochs[ok], judged[ok]
        self.name = "validation loss" if use_loss else {"accuracy": "validation error", "r2": "validation 1 - R²"}.get(
            self.score, f"validation {self.score.upper()}")
        self.best = int(self.ev[np.argmin(self.v)])
        self.last = int(self.epochs[-1])

    def judged(self, epoch: int) -> float:
        return float(self.v[self.ev == epoch][0])

    def at(self, y, epoch: int) -> float:
        ok = np.isfinite(y) & (self.epochs <= epoch)
        return float(y[ok][-1])

    def final(self, y) -> float:
        return float(y[np.isfinite(y)][-1])

    def first(self, y) -> float:
        return float(y[np.isfinite(y)][0])

    def fmt(self, x: float) -> str:
        return f"{x:.1%}" if self.score == "accuracy" else f"{x:.3f}" if self.score == "r2" else f"{x:.3g}"


def g3(x: float) -> str:
    return f"{x:.3g}"


def pct(before: float, after: float) -> tuple[str, str]:
    rel = (after - before) / abs(before)
    return (f"{abs(rel):.0%}" if abs(rel) >= 0.1 else f"{abs(rel):.1%}"), ("higher" if rel >= 0 else "lower")


def mann_kendall(y, alternative: str) -> tuple[float, float]:
    r = stats.kendalltau(np.arange(len(y)), y, alternative=alternative)
    return float(r.statistic), float(r.pvalue)


def after(log: Log, epoch: int) -> np.ndarray:
    return log.v[log.ev >= epoch]


# ---- the templates: a regex for the whole sentence and the check of its numbers ---------------------
def check_rise(m, log: Log, seen: dict):
    turn = int(m["t"] or m["t2"])
    assert int(m["e0"]) == turn and m["name"] == log.name
    assert (m["vt"] or m["vt2"]) == g3(log.judged(turn))
    if m["t"]:  # "was lowest at epoch T": the turn is the lowest value
        assert turn == log.best
    else:  # the trend turned at T; the lowest single value is elsewhere, and named as the best epoch
        assert int(m["b"]) == log.best != turn and m["vb"] == g3(log.judged(log.best))
    assert int(m["e1"]) == int(log.ev[-1]) and m["v1"] == g3(log.v[-1])
    assert (m["pct"], m["dir"]) == pct(log.judged(turn), log.v[-1])
    if m["tn"]:
        ok = np.isfinite(log.train_loss)
        start = int(m["tae"]) if m["tae"] else turn
        if m["tae"]:  # no training loss at the turn: the nearest earlier, else the first after
            assert not (ok & (log.epochs == turn)).any()
            assert start == int(log.epochs[ok & (log.epochs <= turn)][-1] if (ok & (log.epochs <= turn)).any()
                                else log.epochs[ok][0])
        t0, t1 = log.at(log.train_loss, start), log.final(log.train_loss)
        assert (m["ta"], m["tb"]) == (g3(t0), g3(t1)) and m["tdir"] == ("fell" if t1 < t0 else "rose")
    seen["turn"] = turn


def check_trend(m, log: Log, seen: dict):
    y = after(log, seen["turn"])
    assert int(m["k"]) == len(y)
    tau, p = mann_kendall(y, "greater")
    assert m["p"] == p_text(p)
    if m["tau"]:
        assert m["tau"] == f"{tau:.2f}"


def check_lasting(m, log: Log, seen: dict):
    y, k = after(log, seen["turn"]), int(m["k"])
    start, end = np.median(y[:5]), np.median(log.v[-k:])
    assert (m["start"], m["end"]) == (g3(start), g3(end)) and (m["pct"], m["dir"]) == pct(start, end)
    p = stats.mannwhitneyu(log.v[-k:], y[:5], alternative="greater", method="asymptotic").pvalue
    assert m["p"] == p_text(p)


def check_score_turn(m, log: Log, seen: dict):
    both = np.isfinite(log.val_score) & np.isfinite(log.train_score)
    e, va, ta = log.epochs[both], log.val_score[both], log.train_score[both]
    k = int(np.flatnonzero(e == int(m["e"]))[0])
    assert m["w"] == m["w2"] == {"accuracy": "accuracy", "r2": "R²"}.get(log.score, log.score.upper())
    assert (m["vp"], m["ve"], m["tp"], m["te"]) == tuple(log.fmt(x) for x in (va[k], va[-1], ta[k], ta[-1]))
    sign = 1 if log.higher else -1
    assert m["did"] == "stalled" or (m["did"] in ("fell", "rose") and sign * (va[-1] - va[k]) < 0)
    assert sign * (ta[-1] - ta[k]) > 0 and m["better"] == ("climbed" if log.higher else "fell")
    seen["peak"] = int(m["e"])


def check_gap_grew(m, log: Log, seen: dict):
    since = int(m["e"])
    assert since in (seen.get("turn"), seen.get("peak"))
    if m["w"] or m["w2"]:
        gap = (log.train_score - log.val_score) if log.higher else (log.val_score - log.train_score)
    else:
        gap = log.val_loss - log.train_loss
    ok = np.isfinite(gap) & (log.epochs >= since)
    g = gap[ok]
    shown = (lambda x: f"{x * 100:+.1f}") if log.score == "accuracy" and m["w"] else (
        (lambda x: f"{x:+.3g}") if m["w"] else g3)
    assert (m["g0"], m["g1"]) == (shown(g[0]), shown(g[-1])) and m["p"] == p_text(mann_kendall(g, "greater")[1])


def check_gap(m, log: Log, seen: dict, score: bool):
    if score:
        gap = (log.train_score - log.val_score) if log.higher else (log.val_score - log.train_score)
        shown = (lambda x: f"{x * 100:+.1f}") if log.score == "accuracy" else (lambda x: f"{x:+.3g}")
        assert (m["ts"], m["vs"]) == (log.fmt(log.at(log.train_score, log.last)), log.fmt(log.at(log.val_score, log.last)))
        at = lambda e: log.at(log.train_score, e) - log.at(log.val_score, e)
        gb, gf = (at(log.best), at(log.last)) if log.higher else (-at(log.best), -at(log.last))
    else:
        shown = lambda x: f"{x:+.3g}"
        at = lambda e: log.at(log.val_loss, e) - log.at(log.train_loss, e)
        gb, gf = at(log.best), at(log.last)
    assert (m["gb"], m["gf"]) == (shown(gb), shown(gf)), (gb, gf)


def check_score_gap(m, log: Log, seen: dict):
    check_gap(m, log, seen, score=True)


def check_loss_gap(m, log: Log, seen: dict):
    check_gap(m, log, seen, score=False)


def check_ended_after(m, log: Log, seen: dict):
    assert int(m["b"]) == log.best and int(m["k"]) == log.last - log.best


def check_memorized(m, log: Log, seen: dict):
    if m["tr"]:
        assert m["tr"] == log.fmt(log.final(log.train_score))
    else:
        assert (m["ta"], m["tb"]) == (g3(log.first(log.train_loss)), g3(log.final(log.train_loss)))
    assert m["vmax"] == log.fmt(np.nanmax(log.val_score))
    if m["est"]:
        assert m["ch"] == f"{math.exp(-np.min(log.v)):.1%}"


def check_peaked(m, log: Log, seen: dict):
    ok = np.isfinite(log.val_score)
    y, e = log.val_score[ok], log.epochs[ok]
    k = int(np.argmax(y if log.higher else -y))
    assert (m["v"], int(m["e"]), m["ve"]) == (log.fmt(y[k]), int(e[k]), log.fmt(y[-1]))


def check_tail(m, log: Log, seen: dict):
    k = max(4, math.ceil(len(log.v) / 3))
    e, y = log.ev[-k:], log.v[-k:]
    assert int(m["k"]) == k and m["name"] == log.name
    assert (m["a"], int(m["ea"]), m["b"], int(m["eb"])) == (g3(y[0]), int(e[0]), g3(y[-1]), int(e[-1]))
    assert (m["pct"], m["dir"]) == pct(y[0], y[-1])
    if m["p"]:
        assert m["p"] == p_text(mann_kendall(y, "less")[1])
        assert (log.best == log.last) if m["lastep"] else (int(m["bb"]) == log.best and int(m["before"]) == log.last - log.best)
    if m["still"]:
        assert int(m["still"]) == log.last


def check_fit(m, log: Log, seen: dict):
    assert int(m["E"]) == log.last
    if m["ch"]:
        assert m["ch"] == f"{1 / seen['classes']:.1%}"
    if m["ts"]:
        assert m["ts"] == log.fmt(log.final(log.train_score))
    else:
        assert (m["tl"], m["vl"]) == (g3(log.final(log.train_loss)), g3(log.final(log.val_loss)))
    if m["k"]:
        assert int(m["k"]) == max(4, math.ceil(len(log.v) / 3))


def check_settled(m, log: Log, seen: dict):
    assert m["name"] == log.name and int(m["b"]) == log.best
    assert (m["vb"], m["ve"]) == (g3(log.judged(log.best)), g3(log.v[-1]))
    assert int(m["k"]) == max(4, math.ceil(len(log.v) / 3))


def check_lowest(m, log: Log, seen: dict):
    assert m["name"] == log.name and int(m["b"]) == log.best and m["v"] == g3(log.judged(log.best))
    assert bool(m["before"]) == (log.best < seen["onset"])


def check_exploded(m, log: Log, seen: dict):
    y = log.train_loss if m["name"] == "training loss" else log.val_loss
    ok = np.isfinite(y)
    t, te = y[ok], log.epochs[ok]
    k = int(np.argmax(t))
    assert (m["top"], int(m["e"]), m["end"]) == (g3(t[k]), int(te[k]), g3(t[-1]))
    acc = log.train_score[np.isfinite(log.train_score)]
    level = max(float(np.median((acc if len(acc) else log.val_score[np.isfinite(log.val_score)])[-3:])), 0.01)
    assert (m["guess"], m["C"]) == (g3(math.log(1 / level)), f"{1 / level:.0f}") and t[k] >= 2 * math.log(1 / level)
    assert int(m["e"]) == seen["onset"] or int(m["e"]) >= seen["onset"]


def check_stop(m, log: Log, seen: dict):
    patience = max(5, round(0.1 * log.last))
    assert m["name"] == log.name and int(m["b"]) == log.best and int(m["P"]) == patience
    assert (m["vb"], m["ve"]) == (g3(log.judged(log.best)), g3(log.v[-1]))
    assert (m["pct"], m["dir"]) == pct(log.judged(log.best), log.v[-1])
    saves = log.last - log.best - patience
    assert (int(m["s"]) if m["s"] else 0) == max(0, saves)


def check_patience(m, log: Log, seen: dict):
    assert int(m["P"]) == max(5, round(0.1 * log.last))


def check_idle(m, log: Log, seen: dict):
    patience = max(5, round(0.1 * log.last))
    assert int(m["b"]) == log.best and int(m["P"]) == patience and int(m["s"]) == log.last - log.best - patience


def check_augment(m, log: Log, seen: dict):
    if m["ts"]:
        assert (m["ts"], m["vs"]) == (log.fmt(log.final(log.train_score)), log.fmt(log.final(log.val_score)))


def check_memorized_advice(m, log: Log, seen: dict):
    if m["ts"]:
        assert m["ts"] == log.fmt(log.final(log.train_score))
    if m["tl"]:
        assert m["tl"] == g3(log.final(log.train_loss))
    if m["ch"]:
        assert m["ch"] == f"{math.exp(-np.min(log.v)):.1%}"


TEMPLATES = [
    (rf"(?P<name>{NAME}) (?:was lowest at epoch (?P<t>\d+) \((?P<vt>{X})\)|turned upward at epoch (?P<t2>\d+) "
     rf"\((?P<vt2>{X}); its lowest single value, the best epoch's, was (?P<vb>{X}) at epoch (?P<b>\d+)\)) and ended "
     rf"at (?P<v1>{X}) at epoch (?P<e1>\d+), (?P<pct>{P}) (?P<dir>higher|lower) than at epoch (?P<e0>\d+)(?:, while "
     rf"(?P<tn>{TRAIN}) (?P<tdir>fell|rose) from (?P<ta>{X})(?: \(epoch (?P<tae>\d+)\))? to (?P<tb>{X}))?\.", check_rise),
    (rf"the rise is a trend, not noise: Mann-Kendall tau (?P<tau>{X}), (?P<p>{PV}) over the (?P<k>\d+) validated "
     r"epochs from the turn\.", check_trend),
    (rf"alone that rise is too noisy to call \(Mann-Kendall (?P<p>{PV}) over the (?P<k>\d+) validated epochs from the "
     r"turn\), but the other signs agree\.(?P<tau>)", check_trend),
    (rf"the rise came and lasted: the last (?P<k>\d+) validated epochs sat at (?P<end>{X}) \(median\), (?P<pct>{P}) "
     rf"(?P<dir>higher|lower) than the (?P<start>{X}) of the turn and the 4 epochs after it \(rank-sum (?P<p>{PV})\), "
     r"far past the epoch-to-epoch noise\.", check_lasting),
    (rf"validation (?P<w>{WORD}) (?P<did>fell|rose|stalled) from epoch (?P<e>\d+) on \((?P<vp>{S}) there, (?P<ve>{S}) "
     rf"at the end\) while training (?P<w2>{WORD}) (?P<better>climbed|fell) from (?P<tp>{S}) to (?P<te>{S})\.",
     check_score_turn),
    (rf"the gap grew: (?:training minus validation (?P<w>accuracy|R²)|validation minus training (?P<w2>MAE|RMSE)|"
     rf"validation minus (?P<tn>{TRAIN})) widened from (?P<g0>{X}) to (?P<g1>{X})(?: points)? since epoch "
     rf"(?P<e>\d+) \(Mann-Kendall (?P<p>{PV})\)\.", check_gap_grew),
    (rf"(?:training minus validation (?:accuracy|R²)|validation minus training (?:MAE|RMSE)): (?P<gb>{X})(?: points)? "
     rf"at the best epoch, (?P<gf>{X}) at the end \(training (?P<ts>{S}), validation (?P<vs>{S})\)\.", check_score_gap),
    (rf"validation loss minus (?P<tn>{TRAIN}): (?P<gb>{X}) at the best epoch, (?P<gf>{X}) at the end\.", check_loss_gap),
    (r"the run ended (?P<k>\d+) epochs after its best epoch (?P<b>\d+)\.", check_ended_after),
    (rf"(?:training (?:accuracy|R²) reached (?P<tr>{S})|(?P<tn>{TRAIN}) (?:fell|rose) from (?P<ta>{X}) to (?P<tb>{X})) "
     rf"while validation (?:accuracy|R²) never rose above (?P<vmax>{S}); (?:chance level is (?P<ch>{P})|predicting "
     r"the mean scores 0)(?P<est> \(estimated from the validation loss; pass the number of classes to be exact\))?\.",
     check_memorized),
    (rf"validation (?:{WORD}) (?:peaked|was best) at (?P<v>{S}) at epoch (?P<e>\d+) and ended at (?P<ve>{S})\.",
     check_peaked),
    (rf"(?P<name>{NAME}) (?:fell|went) from (?P<a>{X}) at epoch (?P<ea>\d+) to (?P<b>{X}) at epoch (?P<eb>\d+), "
     rf"(?P<pct>{P}) (?P<dir>higher|lower), over the last (?P<k>\d+) validated epochs(?: \(Mann-Kendall (?P<p>{PV})\) "
     r"and was lowest at (?:(?P<lastep>its last epoch)|epoch (?P<bb>\d+), (?P<before>\d+) epoch\(s\) before the end)\.|"
     r", and was still falling at epoch (?P<still>\d+)\.)", check_tail),
    (rf"(?:training (?:{WORD}) ended at (?P<ts>{S})(?: \((?:chance \((?P<ch>{P})\)|0, what predicting the mean "
     rf"scores)\))?|(?P<tn>{TRAIN}) ended at (?P<tl>{X}), close to the validation loss (?P<vl>{X}),) after (?P<E>\d+) epochs(?:, flat over the last (?P<k>\d+) validated epochs\.| and it was still "
     r"improving\.|: the model cannot fit its training data; use a wider or deeper model[^\d]*)", check_fit),
    (rf"(?P<name>{NAME}) settled: lowest at epoch (?P<b>\d+) \((?P<vb>{X})\) and ended at (?P<ve>{X}); it neither fell "
     r"3% over the last (?P<k>\d+) validated epochs nor rose 3% beyond the noise after its turn\.", check_settled),
    (rf"(?P<before>before that, )?(?P<name>{NAME}) was lowest at epoch (?P<b>\d+) \((?P<v>{X})\)\.", check_lowest),
    (rf"(?P<name>training loss|validation loss) reached (?P<top>{X}) at epoch (?P<e>\d+), over twice the (?P<guess>{X}) "
     r"that guessing uniformly costs \((?P<C>\d+) classes, as the accuracy at chance suggests\), and ended at "
     rf"(?P<end>{X}), (?:about that|far above that), with accuracy at chance: the weights blew up and the network no "
     r"longer learns\.(?: Lower the learning rate \(try 10x lower\) or clip gradients\.)?", check_exploded),
    (rf"(?P<name>{NAME}) was lowest at epoch (?P<b>\d+) \((?P<vb>{X})\) and ended at (?P<ve>{X}), (?P<pct>{P}) "
     r"(?P<dir>higher|lower); stopping with patience (?P<P>\d+) keeps epoch (?P=b)'s weights(?: and saves (?P<s>\d+) "
     r"epochs)?\.", check_stop),
    (r"with patience (?P<P>\d+), a longer run keeps its best epoch even if it starts to overfit\.", check_patience),
    (r"no better validation after epoch (?P<b>\d+); stopping with patience (?P<P>\d+) saves about (?P<s>\d+) epochs\.",
     check_idle),
    (rf"more varied training samples make memorizing harder;(?: training (?:{WORD}) reached (?P<ts>{S}) against "
     rf"(?P<vs>{S}) on validation;)? (?:for tables use noise or mixup\.|start with shifts and noise\.)", check_augment),
    (rf"(?:training (?:accuracy|R²) (?P<ts>{S})|(?P<tn>{TRAIN}) down to (?P<tl>{X})) but validation (?:accuracy|R²) at "
     rf"(?:chance \((?P<ch>{P})\)|0, what predicting the mean scores): the network memorized the training "
     r"(?:labels|targets)\. [^\d]*", check_memorized_advice),
]
COMPILED = [(re.compile(rx), check) for rx, check in TEMPLATES]


def checked(sentence: str, log: Log, seen: dict) -> bool:
    """Whether a template knew the sentence; its check asserts that every number in it is the file's."""
    for rx, check in COMPILED:
        m = rx.fullmatch(sentence)
        if m:
            check(m.groupdict(), log, seen)
            return True
    rest = sentence
    for constant in CONSTANTS:
        rest = rest.replace(constant, "")
    return not re.search(r"\d", rest)  # a sentence without numbers read from the log needs no template


@lru_cache(maxsize=None)
def read(name):
    return read_history(CORPUS / name)


def sentences(name):
    h = read(name)
    d = diagnose(h)
    said = list(d.evidence[len(h.notes):])  # the reader's notes describe the file's steps, not its curves
    for a in d.advice:
        said.append(a.reason.split(": ", 1)[1] if a.reason.startswith("already in use") else a.reason)
    return h, d, said


@pytest.mark.parametrize("name", sorted(LABELS))
def test_every_number_in_a_corpus_diagnosis_is_recomputed_from_its_log(name):
    h, d, said = sentences(name)
    log = Log(h)
    assert d.best_epoch == log.best
    seen = {"onset": d.onset_epoch if d.onset_epoch is not None else log.last + 1, "classes": h.num_classes}
    unknown = []
    for sentence in said:
        try:
            if not checked(sentence, log, seen):
                unknown.append(sentence)
        except AssertionError as err:
            raise AssertionError(f"{name}: {sentence!r}: {err}") from None
    assert not unknown, f"{name}: no template checks the numbers of {unknown}"
    if d.regime == "overfitting":
        assert seen.get("turn") == d.onset_epoch or seen.get("peak") == d.onset_epoch


def test_the_templates_fail_on_a_wrong_number():
    """A sentence with one figure changed is caught: the checks are not too loose to fail."""
    h, d, said = sentences("keras/overfitting.csv")
    log = Log(h)
    rise = next(s for s in said if "turned upward" in s)
    stop = next(s for s in said if "stopping with patience" in s)
    for wrong in (rise.replace("15% higher", "14% higher"), rise.replace("at epoch 32)", "at epoch 31)"),
                  stop.replace("saves 22", "saves 28"), stop.replace("18% higher", "14% higher")):
        assert wrong not in said
        with pytest.raises(AssertionError):
            checked(wrong, log, {"onset": d.onset_epoch, "turn": d.onset_epoch})


def test_onset_and_best_epoch_never_read_as_two_minima():
    """Where the trend turned (the onset) and where the curve was lowest (the best epoch) differ, the evidence
    names the onset as a turn and the best epoch as the lowest value, never both as where it fell to its lowest."""
    for name in ("keras/overfitting.csv", "summarywriter/overfitting"):
        _, d, said = sentences(name)
        assert d.onset_epoch != d.best_epoch
        text = " ".join(said)
        assert f"turned upward at epoch {d.onset_epoch}" in text and f"was lowest at epoch {d.best_epoch}" in text
        assert f"lowest at epoch {d.onset_epoch}" not in text and "fell to" not in text
