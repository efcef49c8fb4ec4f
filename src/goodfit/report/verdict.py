"""The words of a study's verdict: what helped, by how much, how sure, and what chance alone does here.

Reads a `StudyResult` (its table, comparisons and power) and writes sentences; computes no statistics.
`verdict(result)` is the whole verdict (`goodfit.verdict_of` reads it), `verdicts(result)` each condition's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from goodfit.grammar import BASELINE
from goodfit.remedies import Arm, ClassWeights, EarlyStopping
from goodfit.report.tables import (borderline, borderline_text, condition_label, finite_number, settle_text,
                                   significance)
from goodfit.stats import FIRM, paired_test
from goodfit.study.result import planned_power
from goodfit.study.units import CONTROL
from goodfit.words import counted, p_text


def despite_warning(result) -> str | None:
    """When the power warning said practically nothing could be called significant and something was: how both
    hold (the difference found was that large; a smaller one would not have been). None otherwise.

    Example:
        >>> class Plan:  # a study of 3 seeds and 7 comparisons, dropout found better
        ...     plan = {"seeds": [0, 1, 2], "arms": [{"name": n} for n in ("baseline", *"abcdef", "dropout")]}
        ...     def table(self):
        ...         import pandas as pd
        ...         return pd.DataFrame({"arm": ["baseline", "dropout"], "significant": [False, True]})
        >>> print(despite_warning(Plan()))
        dropout differed significantly all the same: its difference was large enough to be found with 3 seeds; smaller ones would not have been
    """
    from goodfit.study import comparisons_in

    if power_warning(len(result.plan["seeds"]), comparisons_in(result.plan)) is None:
        return None
    t = result.table()
    found = [a for a, sig in zip(t["arm"], t["significant"])
             if a not in (BASELINE, CONTROL) and sig == sig and sig is not None and bool(sig)]  # NaN: not compared
    if not found:
        return None
    whose = "its difference was" if len(found) == 1 else "their differences were"
    return (f"{', '.join(found)} differed significantly all the same: {whose} large enough to be found with "
            f"{len(result.plan['seeds'])} seeds; smaller ones would not have been")


def power_warning(seeds: int, comparisons: int) -> str | None:
    """A warning when `seeds` cannot find any but huge differences among `comparisons` (Holm), else None.

    Example:
        >>> power_warning(10, 3) is None
        True
        >>> print(power_warning(3, 7))
        with 3 seeds and 7 comparisons (Holm), practically no difference can be called significant: it would have to be 8.7 times the seed-to-seed spread of its paired differences to be found 80% of the time; --seeds 17 finds one as large as its spread
    """
    if comparisons == 0:
        return None
    planned = planned_power(seeds, comparisons)
    enough, need = planned["seeds_for_effect_size_1"], planned["detectable_effect_size"]
    if seeds < 2:
        return (f"with {seeds} seed no difference can be tested: a comparison needs two seeds or more; --seeds {enough} "
                "finds a difference as large as its seed-to-seed spread")
    if need <= 3.0:
        return None
    size = ("no difference, however large against the seed-to-seed spread of its paired differences, is found 80% "
            "of the time" if not np.isfinite(need) else
            f"it would have to be {need:.1f} times the seed-to-seed spread of its paired differences to be found 80% "
            "of the time")
    return (f"with {seeds} seeds and {counted(comparisons, 'comparison')} (Holm), practically no difference can be "
            f"called significant: {size}; --seeds {enough} finds one as large as its spread")


def base_score(table: pd.DataFrame) -> float:
    """The baseline's judged score in a condition's rows of `StudyResult.table()`."""
    return float(table[table["arm"] == BASELINE]["score"].iloc[0])


def condition_names(conditions: list[dict]) -> list[str]:
    """Each condition named by what sets it apart from the others, for a sentence that spans them.

    Example:
        >>> condition_names([{"train_size": 300, "label_noise": 0.0}, {"train_size": 300, "label_noise": 0.2}])
        ['with clean labels', 'with 20% wrong labels']
        >>> condition_names([{"train_size": 100}, {"train_size": 1000}])
        ['with 100 training samples', 'with 1000 training samples']
    """
    differ = tuple(k for k in ("train_size", "label_noise", "imbalance")
                   if len({condition_label(c, keys=(k,)) for c in conditions}) > 1)
    return [f"with {condition_label(c, keys=differ or None)}" for c in conditions]


def _better_and_worse(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table rows significantly better and significantly worse than the baseline, largest gain first."""
    sig = rows[rows["significant"].astype(bool)].sort_values("gain", ascending=False)
    return sig[sig["gain"] > 0], sig[sig["gain"] < 0]


CALLS = {"better": "significantly better", "worse": "significantly worse", "same": "no significant difference"}


def _span(values: list[str]) -> str:
    """`38% to 69%`, or `45%` when they are the same."""
    return values[0] if values[0] == values[-1] else f"{values[0]} to {values[-1]}"


def borderline_sentences(rows: pd.DataFrame) -> list[str]:
    """A sentence for each borderline call among a condition's rows of `StudyResult.table()` (the arms, not the
    baseline or control): the call, its p, how often fresh seeds would repeat it and how many would settle it;
    then, when some calls are firm, one sentence saying so. Nothing when no call is borderline.

    Example:
        >>> rows = pd.DataFrame({"arm": ["shrink", "dropout"], "seeds": [5, 5], "significant": [False, True],
        ...                      "diff": [-0.02, 0.05], "gain": [-0.02, 0.05], "p_holm": [0.051, 0.001],
        ...                      "borderline": [True, False], "firmness": [0.47, 0.99], "seeds_to_settle": [8, 4]})
        >>> print(" ".join(borderline_sentences(rows)))
        Borderline: the call on shrink (no significant difference, p=0.051 after Holm): a fresh run on 5 seeds would repeat the call about 47% of the time; about 8 seeds would settle it. The other calls are firm: a fresh run would repeat each at least 80% of the time.
    """
    records = rows.to_dict("records")
    shaky = [r for r in records if borderline(r)]
    if len(shaky) == 1:
        r = shaky[0]
        said = [f"Borderline: the call on {r['arm']} ({CALLS[significance(r)]}, {p_text(r['p_holm'])} after Holm): "
                f"{borderline_text(r)}."]
    elif shaky:
        kinds = dict.fromkeys(significance(r) for r in shaky)
        calls = "; ".join(f"{CALLS[k]} for " + ", ".join(f"{r['arm']} ({p_text(r['p_holm'])})" for r in shaky
                                                          if significance(r) == k) for k in kinds)
        firm = sorted(float(r["firmness"]) for r in shaky)
        settle = sorted(r.get("seeds_to_settle") for r in shaky if finite_number(r.get("seeds_to_settle")))
        seeds = int(shaky[0]["seeds"])
        said = [f"Borderline, {len(shaky)} calls: {calls}, after Holm; a fresh run on {seeds} seeds would repeat each "
                f"only {_span([f'{v:.0%}' for v in firm])} of the time" +
                (f"; {settle_text(settle[-1]).replace('settle it', 'settle them all')}" if settle else "") + "."]
    else:
        said = []
    if said and any(significance(r) in CALLS and not borderline(r) for r in records):
        said.append(f"The other calls are firm: a fresh run would repeat each at least {FIRM:.0%} of the time.")
    return said


def verdict_for(result, condition: int = 0) -> str:
    """One sentence on a condition of a `StudyResult`: what helped, by how much and how sure we are, or
    that nothing differed; then what chance alone does there."""
    t = result.table()
    t = t[t["condition"] == condition]
    m = result.metric
    scored = " at each member's kept epoch" if result.scored_on == "validation" else ""
    reached = f"{m.value(base_score(t))} {result.scored_on} {m.label}{scored}"
    n = int(t[t["arm"] == BASELINE].iloc[0]["seeds"])
    fit = result.plan.get("fit")
    where = (f"{result.dataset['name']} with {condition_label(result.conditions[condition])}" if fit is None else
             result.dataset["name"] if result.dataset["name"] != fit else f"the training function {fit}")
    others = t[t["arm"] != BASELINE]
    if n < 2 and not others.empty:
        enough = planned_power(n, len(others))["seeds_for_effect_size_1"]
        return (f"On {where}, the baseline reached {reached}; not tested: {n} seed, and a paired comparison needs "
                f"two or more; --seeds {enough} finds a difference as large as its seed-to-seed spread.")
    if others.empty:
        return (f"On {where}, the baseline reached {reached}; "
                "comparisons need at least one arm besides the baseline.")
    control = others[others["arm"] == CONTROL]
    others = others[others["arm"] != CONTROL]
    if others.empty:
        return (f"On {where}, the baseline reached {reached}; "
                "comparisons need at least one arm besides the baseline.")
    significant = others["significant"].astype(bool)
    better, worse = _better_and_worse(others)

    def describe(r) -> str:
        if r["all_equal"]:
            return f"{r['arm']} ({m.change(r['diff'])} on every seed, {p_text(r['p_holm'])} after Holm)"
        return (f"{r['arm']} ({m.change(r['diff'])}, Holm-adjusted 95% CI {m.change(r['diff_low'], False)} to "
                f"{m.change(r['diff_high'], False)}, {p_text(r['p_holm'])} after Holm)")

    head = f"On {where}, over {n} seeds, against the baseline's {reached}: "
    if better.empty and worse.empty:
        top = others.loc[others["gain"].abs().sort_values(ascending=False).index].iloc[0]
        found = (head + f"no remedy made a significant difference; the largest change was {top['arm']} "
                 f"({m.change(top['diff'])}, {p_text(top['p_holm'])} after Holm).")
    else:
        parts = []
        if not better.empty:
            parts.append(f"{describe(better.iloc[0])} helped most" +
                         (f"; also better: {', '.join(better['arm'].iloc[1:])}" if len(better) > 1 else ""))
        if not worse.empty:
            parts.append("significantly worse: " + ", ".join(f"{r['arm']} ({m.change(r['diff'], False)})"
                                                             for _, r in worse.iterrows()))
        rest = others[~significant]["arm"].tolist()
        if rest:
            parts.append(f"no significant difference for {', '.join(rest)}")
        found = head + "; ".join(parts) + "."
    return " ".join([found, *borderline_sentences(others),
                     *_same_as_baseline(result, condition, others["arm"].tolist()),
                     *_floor_sentences(result, condition, control), *small_test_set(result.dataset, m)])


SMALL_TEST = 100  # test rows under which the verdict says what one row weighs


def small_test_set(dataset: dict, metric) -> list[str]:
    """A sentence on a test set of fewer than `SMALL_TEST` rows: its size and, for accuracy, the points one row is.

    Example:
        >>> from goodfit.metrics import METRICS
        >>> small_test_set({"test_rows": 36}, METRICS["accuracy"])
        ['The test set has 36 rows: one row is 2.8 points of accuracy, so smaller differences are a row or two.']
        >>> small_test_set({"test_rows": 360}, METRICS["accuracy"])
        []
    """
    rows = dataset.get("test_rows")
    if not rows or rows >= SMALL_TEST:
        return []
    if metric.name == "accuracy":
        return [f"The test set has {rows} rows: one row is {100 / rows:.1f} points of accuracy, so smaller "
                "differences are a row or two."]
    return [f"The test set has {rows} rows: each row weighs on {metric.label}, so small differences may be a row or two."]


def _same_as_baseline(result, condition: int, arms: list[str]) -> list[str]:
    """A sentence naming the arms that trained exactly as the baseline, every seed's curve the same to the last
    digit: their remedy never reached the model (a factory that takes `dropout=` and ignores it, say)."""
    history = result.history
    if history is None or history.empty or "val_loss" not in history:
        return []
    curves = {key: frame["val_loss"].to_numpy() for key, frame in history.groupby("member")}
    seeds = result.plan["seeds"]

    def same(arm: str) -> bool:
        pairs = [(curves.get(f"{condition}/{arm}/{s}"), curves.get(f"{condition}/{BASELINE}/{s}")) for s in seeds]
        return all(a is not None and b is not None and np.array_equal(a, b) for a, b in pairs)

    remedies = {a["name"]: Arm.from_dict(a).remedies for a in result.plan["arms"]}
    quiet = (EarlyStopping, ClassWeights)  # may leave training as it was: patience never ran out, classes balanced
    identical = [arm for arm in arms if not all(isinstance(r, quiet) for r in remedies.get(arm, ())) and same(arm)]
    if not identical:
        return []
    return [f"{', '.join(identical)} trained exactly as the baseline on every seed, the same curve to the last "
            "digit: the remedy never reached the model (does your factory use the dropout=, batchnorm= or width= "
            "it is given, or your function the settings?)."]


def _floor_sentences(result, condition: int, control: pd.DataFrame) -> list[str]:
    """What chance alone does here: the A/A control's difference, and the smallest detectable difference."""
    said, m = [], result.metric
    if not control.empty:
        r = control.iloc[0]
        if r["all_equal"]:
            spread = f"{m.change(r['diff'])} on every seed"
        else:
            spread = (f"{m.change(r['diff'])}, 95% CI {m.change(r['diff_low'], False)} to "
                      f"{m.change(r['diff_high'], False)}, {p_text(r['p_holm'])}")
        if r["significant"]:
            said.append(f"WARNING: the A/A control, the baseline on other seeds, differs significantly from the "
                        f"baseline ({spread}): chance alone moves results this much here, so the verdict above "
                        "cannot be trusted; add seeds" + ("." if result.plan.get("resample_splits") else
                                                          " or resample the splits (--resample-splits)."))
        else:
            said.append(f"Noise floor: the A/A control, the baseline on other seeds, differs by {spread} "
                        "(no significant difference, as it should).")
    power = result.power(condition)
    t = result.table()
    base = base_score(t[t["condition"] == condition])
    room = (max(m.high - base, base - m.low) if m.low is not None and m.high is not None and np.isfinite(base)
            else float("inf"))  # the largest difference the metric's range leaves the baseline
    if not power["spread"] > 1e-9:  # no spread, up to rounding in the last bits
        said.append("Every seed moved every arm by the same amount, so the seeds show no spread to judge "
                    "the smallest detectable difference from.")
    elif np.isfinite(power["detectable_difference"]) and power["detectable_difference"] <= room:
        found = power["detectable_difference"]
        size = f"{found * 100:.1f} points" if m.percent else m.value(found)
        said.append(f"With {power['seeds']} seeds and {counted(power['comparisons'], 'comparison')}, "
                    f"differences of {size} or more are found 80% of the time "
                    f"(from the seeds' observed spread).")
    elif power["comparisons"]:
        said.append(f"With {power['seeds']} seeds and {counted(power['comparisons'], 'comparison')}, no "
                    f"realistic difference could be found; --seeds {power['seeds_for_effect_size_1']} finds one as "
                    "large as its seed-to-seed spread.")
    return said


def summary(result) -> str | None:
    """Across several conditions of a `StudyResult`, one sentence: what mattered in each ("with clean labels
    no remedy mattered; with 20% wrong labels, all (+13.5 points), augment (+12.1) ... gained"); None for one."""
    if len(result.conditions) < 2:
        return None
    t, m, parts = result.table(), result.metric, []
    for c, name in enumerate(condition_names(result.conditions)):
        rows = t[(t["condition"] == c) & ~t["arm"].isin([BASELINE, CONTROL])]
        if rows.empty or rows["p_holm"].isna().all():
            return None  # a condition without comparisons (one seed): the per-condition verdicts say why
        better, worse = _better_and_worse(rows)
        base = m.value(base_score(t[t["condition"] == c]))
        if better.empty:
            said = f"{name} no remedy beat the baseline's {base}"
        else:
            gains = [f"{r['arm']} ({m.change(r['diff'], unit=k == 0)})" for k, (_, r) in enumerate(better.iterrows())]
            listed = gains[0] if len(gains) == 1 else ", ".join(gains[:-1]) + " and " + gains[-1]
            said = f"{name}, {listed} beat the baseline's {base}"
        if not worse.empty:
            said += " (worse: " + ", ".join(f"{r['arm']} {m.change(r['diff'], unit=False)}"
                                            for _, r in worse.iterrows()) + ")"
        parts.append(said)
    significant = t["significant"].fillna(False).astype(bool).any()
    return ("In short: " + "; ".join(parts) +
            (" (significant after Holm, details per condition below)." if significant else
             " (details per condition below)."))


REFERENCE_WORDS = {"ridge": "a ridge regression", "logistic regression": "a logistic regression",
                   "gradient boosting": "gradient boosting"}
EARLY = 0.05  # every arm's best epoch within this share of training: the training, not the remedies, decides


def reference_beats(result, condition: int = 0, arm: str | None = None, what: str = "the network's best arm",
                    where: str = "") -> list[str]:
    """A sentence when the study's classical reference (`StudyResult.reference_row`) scores better than the
    network's best arm (or `arm`, called `what`) on a condition, else none; `where` opens it ("With 20% wrong
    labels, ").

    Example:
        >>> import pandas as pd
        >>> from goodfit.metrics import METRICS
        >>> class Result:
        ...     metric = METRICS["rmse"]
        ...     def reference_row(self, c):
        ...         return {"name": "ridge, alpha=10", "score": 52.8}
        ...     def table(self):
        ...         return pd.DataFrame({"condition": [0, 0], "arm": ["baseline", "dropout"], "score": [71.4, 61.0]})
        >>> print(reference_beats(Result())[0])
        A ridge regression (alpha=10) on the same splits and seeds reaches 52.8 test RMSE against 61.0 for the network's best arm (dropout): the network is not yet the model to use, and its remedies are measured against a baseline that a classical model beats.
    """
    row = result.reference_row(condition)
    if row is None or not np.isfinite(row["score"]):
        return []
    m, t = result.metric, result.table()
    t = t[(t["condition"] == condition) & (t["arm"] != CONTROL)].dropna(subset=["score"])
    if t.empty:
        return []
    arm = arm or t.loc[t["score"].map(m.gain).idxmax(), "arm"]
    best = t.set_index("arm")["score"].loc[arm]
    if m.gain(float(best) - row["score"]) >= 0:
        return []
    family, _, setting = row["name"].partition(", ")
    model = REFERENCE_WORDS.get(family, family) + (f" ({setting})" if setting else "")
    reached = (f"{model} on the same splits and seeds reaches {m.value(row['score'])} test {m.label} against "
               f"{m.value(float(best))} for {what} ({arm})")
    _, p, n = _against_reference(result, condition, arm)
    if n >= 2 and not p < 0.05:
        said = (f"{reached}, no significant difference over {n} seeds paired by split ({p_text(p)}): a classical "
                "model does as well as the network here.")
    else:
        tested = f" ({p_text(p)} over {n} seeds paired by split)" if n >= 2 else ""
        said = (f"{reached}{tested}: the network is not yet the model to use, and its remedies are measured "
                "against a baseline that a classical model beats.")
    return [where + said if where else said[0].upper() + said[1:]]


def _against_reference(result, condition: int, arm: str) -> tuple[float, float, int]:
    """The reference's test score against the arm's, paired by seed (each seed's split is the same for both): the
    mean difference, its two-sided p and the seeds paired; `nan, nan, 0` where the scores are not at hand."""
    found = next((c for c in (getattr(result, "reference", None) or {}).get("conditions", [])
                  if c["condition"] == condition), None)
    members = getattr(result, "members", None)
    column = f"test_{result.metric.name}"
    if found is None or members is None or column not in members:
        return float("nan"), float("nan"), 0
    mine = members[(members["condition"] == condition) & (members["arm"] == arm)].set_index("seed")[column]
    reference = dict(zip(found["seeds"], found["test"][result.metric.name]))
    seeds = [s for s in mine.index if s in reference]
    if not seeds:
        return float("nan"), float("nan"), 0
    diff, p, _ = paired_test([reference[s] for s in seeds], [float(mine[s]) for s in seeds])
    return diff.mean, p, len(seeds)


def training_dominates(result, condition: int = 0, where: str = "") -> list[str]:
    """A sentence when every arm's best epoch (the median over its seeds) lies within the first `EARLY` share of
    training: the learning rate and the epochs decide more than any remedy. Else none.

    Example:
        >>> import pandas as pd
        >>> class Result:
        ...     plan = {"train": {"epochs": 100}}
        ...     def table(self):
        ...         return pd.DataFrame({"condition": [0, 0], "arm": ["baseline", "dropout"], "best_epoch": [2.0, 4.0]})
        >>> print(training_dominates(Result())[0])
        Every arm's best epoch came within the first 5% of training (epochs 2 to 4 of 100): the training itself (its learning rate, its epochs) dominates the remedies here; lower the learning rate (--lr) or train fewer epochs before comparing remedies.
    """
    epochs = (result.plan.get("train") or {}).get("epochs")
    t = result.table()
    best = t[t["condition"] == condition]["best_epoch"].astype(float)
    if not epochs or best.empty or not np.isfinite(best).all() or best.max() > EARLY * epochs:
        return []
    span = f"epoch {best.max():g}" if best.min() == best.max() else f"epochs {best.min():g} to {best.max():g}"
    said = (f"every arm's best epoch came within the first {EARLY:.0%} of training ({span} of {epochs}): the training itself (its learning rate, its epochs) dominates the remedies "
            "here; lower the learning rate (--lr) or train fewer epochs before comparing remedies.")
    return [where + said if where else said[0].upper() + said[1:]]


UNFIT = ("still_improving", "underfitting")  # regimes of a run that has not begun to overfit


def nothing_overfit(result, condition: int = 0, where: str = "") -> list[str]:
    """A sentence when no arm overfit: each arm's regime (most seeds') is still improving or underfitting at the
    end, so the remedies against overfitting had nothing to cure yet. Else none.

    Example:
        >>> import pandas as pd
        >>> class Result:
        ...     plan = {"train": {"epochs": 30}}
        ...     def table(self):
        ...         return pd.DataFrame({"condition": [0, 0], "arm": ["baseline", "dropout"],
        ...                              "regime": ["still_improving", "still_improving"]})
        >>> print(nothing_overfit(Result())[0])
        No arm overfit in 30 epochs: every one was still improving or underfitting at the end, so the remedies against overfitting had nothing to cure yet; train longer (--epochs) before comparing them.
    """
    t = result.table()
    regimes = t[(t["condition"] == condition) & (t["arm"] != CONTROL)]["regime"].dropna()
    if regimes.empty or not regimes.isin(UNFIT).all():
        return []
    epochs = (result.plan.get("train") or {}).get("epochs")
    said = (f"no arm overfit{f' in {epochs} epochs' if epochs else ''}: every one was still improving or underfitting "
            "at the end, so the remedies against overfitting had nothing to cure yet; train longer (--epochs) before "
            "comparing them.")
    return [where + said if where else said[0].upper() + said[1:]]


def _openers(result, condition: int, where: str = "") -> list[str]:
    """What a condition's verdict says first: a reference that beats the network, training that peaked at once,
    or that nothing overfit."""
    return [*reference_beats(result, condition, where=where), *training_dominates(result, condition, where=where),
            *nothing_overfit(result, condition, where=where)]


def verdicts(result) -> list[str]:
    """Each condition's verdict of a `StudyResult` (`verdict_for`), in the plan's order, each opening with what
    outweighs the remedies there (`reference_beats`, `training_dominates`)."""
    return [" ".join([*_openers(result, c), verdict_for(result, c)]) for c in range(len(result.conditions))]


def verdict(result) -> str:
    """A `StudyResult`'s whole verdict: what outweighs the remedies (per condition), the summary across conditions,
    if any, then each condition's."""
    head = summary(result)
    if head is None:
        return " ".join(verdicts(result))
    names = condition_names(result.conditions)
    first = [said for c, name in enumerate(names) for said in _openers(result, c, where=f"{name[0].upper()}{name[1:]}, ")]
    return " ".join(first + [head] + [verdict_for(result, c) for c in range(len(result.conditions))])
