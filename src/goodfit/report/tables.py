"""The study's results table as text cells, for the terminal (rich) and for `report.html`.

One row per condition and arm, from `StudyResult.table()`; formatting only, no statistics.
"""
from __future__ import annotations

import math
import textwrap

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from goodfit.data.splits import condition_label  # noqa: F401 - the tables' and figures' wording of a condition
from goodfit.metrics import METRICS
from goodfit.stats import FIRM, MOST_SEEDS
from goodfit.words import format_p

BASELINE, CONTROL = "baseline", "control"
MARKERS = {"better": "✓", "worse": "✗", "same": "·", "untested": "n/t", "baseline": "", "floor": "A/A", "alarm": "!",
           "borderline": "?"}  # borderline follows a call's own marker: ✓? ✗? ·?
ARM_WIDTH = 20  # the arm column's width; longer names go on several lines, cut after a +
REGIME_SHORT = {"underfitting": "underfit", "still_improving": "improving", "good_fit": "good fit",
                "overfitting": "overfit", "memorization": "memorized", "diverged": "diverged"}  # narrow tables
NARROW = 100  # below this many columns the table drops the intervals of test scores and shortens regimes
WIDE_GAP = 0.10  # a gap of 10 points or more beside "good fit" gets a note: the curves did not turn, yet it is large
MEANINGS = {"better": "significantly better than the baseline", "worse": "significantly worse than the baseline",
            "same": "no significant difference from the baseline",
            "untested": "not tested: a paired test needs at least 2 seeds of the arm and the baseline",
            "baseline": "the baseline",
            "floor": "the A/A control: the baseline on other seeds, the noise floor",
            "alarm": "the A/A control differs significantly from the baseline: the study cannot be trusted",
            "borderline": f"borderline: a fresh run on as many seeds would repeat the call less than {FIRM:.0%} of the "
                          "time, the observed difference and spread taken as true"}


def finite_number(x) -> bool:
    """A real number, finite: not None, NaN, pandas' NA or a bool."""
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool) and math.isfinite(x)


def significance(row) -> str:
    """`better`, `worse` or `same` against the baseline (Holm-corrected), `baseline` for the baseline;
    for the A/A control, `floor`, or `alarm` when it differs significantly from the baseline."""
    if row["arm"] == BASELINE:
        return "baseline"
    if row["arm"] != CONTROL and finite_number(row.get("seeds")) and row["seeds"] < 2:
        return "untested"  # one seed: nothing was tested, which is not "no significant difference"
    sig = row.get("significant")
    sig = not (sig is None or sig != sig or not bool(sig))  # None or NaN: no comparison was possible
    if row["arm"] == CONTROL and row.get("role", CONTROL) == CONTROL:
        return "alarm" if sig else "floor"
    if not sig:
        return "same"
    gain = row.get("gain")
    return "better" if (row["diff"] if gain is None or gain != gain else gain) > 0 else "worse"


def borderline(row) -> bool:
    """Whether a row's call (better, worse or no difference) is borderline: a fresh run on as many seeds would
    repeat it less than 80% of the time (`StudyResult.table()`'s `borderline`, from `goodfit.stats.firmness`)."""
    flag = row.get("borderline")
    return significance(row) in ("better", "worse", "same") and isinstance(flag, (bool, np.bool_)) and bool(flag)


def settle_text(seeds) -> str:
    """How many seeds would settle a borderline call, in words.

    Example:
        >>> settle_text(14), settle_text(100)
        ('about 14 seeds would settle it', '100 seeds or more would settle it')
    """
    if not finite_number(seeds):
        return "no number of seeds would settle it"
    return f"{int(seeds)} seeds or more would settle it" if seeds >= MOST_SEEDS else f"about {int(seeds)} seeds would settle it"


def _repeats(row) -> str:
    return f"a fresh run on {int(row['seeds'])} seeds would repeat the call about {row['firmness']:.0%} of the time"


def borderline_text(row) -> str:
    """A borderline row's firmness in words: how often a fresh run repeats the call, and what would settle it.

    Example:
        >>> borderline_text({"seeds": 5, "firmness": 0.47, "seeds_to_settle": 8})
        'a fresh run on 5 seeds would repeat the call about 47% of the time; about 8 seeds would settle it'
    """
    return f"{_repeats(row)}; {settle_text(row.get('seeds_to_settle'))}"


def firmness_text(row) -> str:
    """The clause a call's meaning ends with: how firm it is, and for a borderline call what would settle it;
    `""` where nothing was tested.

    Example:
        >>> row = {"arm": "l2", "seeds": 5, "significant": True, "diff": 0.01, "firmness": 0.99, "borderline": False}
        >>> firmness_text(row)
        '; firm: a fresh run on 5 seeds would repeat the call about 99% of the time'
    """
    if significance(row) not in ("better", "worse", "same") or not finite_number(row.get("firmness")):
        return ""
    if borderline(row):
        return f"; borderline: {borderline_text(row)}"
    return f"; firm: {_repeats(row)}"


def borderline_legend(groups: list[dict]) -> str:
    """The table legend's clause for the borderline marker, `""` when no row of `table_groups` is borderline."""
    if not any(cells["borderline"] for group in groups for cells in group["rows"]):
        return ""
    return f"; {MARKERS['borderline']} {MEANINGS['borderline']}; the verdict says what would settle it"


def _fixed(x: float, digits: int, signed: bool = False) -> str:
    """A number to `digits` decimals that never prints as `-0.0`: what rounds to zero is zero.

    Example:
        >>> _fixed(-0.0004, 1), _fixed(-0.0004, 1, signed=True), _fixed(-0.06, 1)
        ('0.0', '+0.0', '-0.1')
    """
    shown = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    if float(shown) == 0:
        shown = f"{0.0:+.{digits}f}" if signed else f"{0.0:.{digits}f}"
    return shown


def _mean_pm(mean, low, high, scale: float, digits: int) -> str:
    """`90.0 ± 2.0`, or `98.6 [81.0, 100.0]` when the interval was cut at the edge of the scale."""
    if not finite_number(mean):
        return "—"
    text = _fixed(mean * scale, digits)
    if not (finite_number(low) and finite_number(high)):
        return text
    if low == high:
        return text + " (all seeds)"  # every seed the same: an interval of no width would claim certainty
    below, above = _fixed((mean - low) * scale, digits), _fixed((high - mean) * scale, digits)
    if below == above:
        return text + f" ± {above}"
    return text + f" [{_fixed(low * scale, digits)}, {_fixed(high * scale, digits)}]"


def _epoch(x) -> str:
    if not finite_number(x):
        return "—"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _digits(row) -> int:
    """Decimals that show a score in its own units to about three significant figures."""
    v = abs(row.get("score") or 0.0)
    return 3 if not finite_number(v) or v == 0 else int(max(0, 2 - math.floor(math.log10(v))))


def _units(metric, regression: bool) -> str:
    """What the table's numbers are in, the gap's included: one clause of its legend.

    Example:
        >>> from goodfit.metrics import METRICS
        >>> _units(METRICS["r2"], True)
        "R² and Δ without units; gap: test − train RMSE at the kept weights, in the target's units"
    """
    if metric.percent:
        return f"{metric.label}, Δ and gap (train − test {metric.label} at the kept weights) in points"
    units = "in the target's units" if metric.name in ("rmse", "mae") else "without units"
    order = "" if metric.higher_is_better else ", lower is better"
    gap = ("gap: test − train RMSE at the kept weights, in the target's units" if regression else
           "gap: train − test accuracy at the kept weights, in points")
    return f"{metric.label} and Δ {units}{order}; {gap}"


def arm_cells(row) -> dict[str, str]:
    """The formatted cells of one row of `StudyResult.table()`: accuracies and gaps in percentage points.

    Example:
        >>> row = {"arm": "dropout", "test_accuracy": 0.9, "test_accuracy_low": 0.88, "test_accuracy_high": 0.92,
        ...        "test_loss": 0.31, "test_loss_low": 0.29, "test_loss_high": 0.33, "diff": 0.032, "diff_low": 0.01,
        ...        "diff_high": 0.054, "p_holm": 0.004,
        ...        "significant": True, "gap": 0.088, "best_epoch": 23.0, "regime": "overfitting",
        ...        "regime_agreement": "4/5"}
        >>> c = arm_cells(row); c["test_accuracy"], c["diff"], c["diff_pm"], c["marker"], c["regime"]
        ('90.0 ± 2.0', '+3.2 [+1.0, +5.4]', '+3.2 ± 2.2', '✓', 'overfitting 4/5')
        >>> arm_cells({**row, "diff_low": 0.032, "diff_high": 0.032, "all_equal": True})["diff_pm"]
        '+3.2 (all seeds)'
        >>> rmse = {**row, "metric": "rmse", "score": 52.8, "diff": -0.906, "diff_low": -4.906, "diff_high": 3.094}
        >>> r2 = {**row, "metric": "r2", "score": 0.146, "diff": 0.00191, "diff_low": -0.00509, "diff_high": 0.00891}
        >>> arm_cells(rmse)["diff_pm"], arm_cells(r2)["diff_pm"], arm_cells(r2)["diff"]
        ('-0.9 ± 4.0', '+0.002 ± 0.007', '+0.002 [-0.005, +0.009]')
    """
    sig = significance(row)
    metric = METRICS[row.get("metric") or "accuracy"]
    unit, digits = (100, 1) if metric.percent else (1, _digits(row))
    if metric.percent:
        change = lambda d: metric.change(d, unit=False)  # never "-0.0"
    else:  # the difference, its interval and its half-width to the score's decimals: "-0.9 ± 4.0", "+0.002 ± 0.007"
        change = lambda d: _fixed(d, digits, signed=True)
    diff = diff_pm = "—"
    if row["arm"] != BASELINE and finite_number(row.get("diff")):
        diff = diff_pm = change(row["diff"])
        if row.get("all_equal") is True:
            diff += " (all seeds)"
            diff_pm += " (all seeds)"
        elif finite_number(row.get("diff_low")) and finite_number(row.get("diff_high")):
            diff += f" [{change(row['diff_low'])}, {change(row['diff_high'])}]"
            diff_pm += f" ± {_fixed((row['diff_high'] - row['diff']) * unit, digits)}"
    score = "score" if "score" in row else "test_accuracy"
    return {
        "arm": str(row["arm"]),
        "test_accuracy": _mean_pm(row[score], row.get(f"{score}_low"), row.get(f"{score}_high"), unit, digits),
        "test_loss": _mean_pm(row["test_loss"], row.get("test_loss_low"), row.get("test_loss_high"), 1, 3),
        "diff": diff,
        "diff_pm": diff_pm,  # the same interval written as a half-width: a paired t interval is symmetric
        "p": "—" if row["arm"] == BASELINE else format_p(row.get("p_holm")),
        "marker": MARKERS[sig] + (MARKERS["borderline"] if borderline(row) else ""),
        "significance": sig,
        "meaning": MEANINGS[sig] + firmness_text(row),
        "borderline": borderline(row),
        "gap": (_fixed(row['gap'] * unit, digits) if row.get("train_accuracy") is None and not metric.percent
                else _fixed(row['gap'] * 100, 1)) if finite_number(row.get("gap")) else "—",
        "best_epoch": _epoch(row.get("best_epoch")),
        "test_mean": _mean_pm(row[score], None, None, unit, digits),
        "gap_value": row.get("gap"),
        "flag": "*" if (row["regime"] == "good_fit" and finite_number(row.get("gap")) and row["gap"] >= WIDE_GAP
                        and (metric.percent or row.get("train_accuracy") is not None)) else "",
        "regime": f"{row['regime']} {row['regime_agreement']}",
        "regime_name": str(row["regime"]),
        "agreement": str(row["regime_agreement"]),
    }


def table_groups(result) -> list[dict]:
    """The table's rows grouped by condition: `[{"condition": c, "label": ..., "rows": [cells, ...], "reference":
    cells or None}]`, the reference's row (`reference_cells`) apart from the arms', since it is not compared."""
    table = result.table()
    groups = []
    for c, cond in enumerate(result.conditions):
        rows = [arm_cells(r) for r in table[table["condition"] == c].to_dict("records")]
        groups.append({"condition": c, "label": condition_label(cond), "short": condition_label(cond, short=True),
                       "rows": rows, "reference": reference_cells(result, c)})
    return groups


def reference_cells(result, condition: int) -> dict | None:
    """The reference's row on a condition as cells (`arm_cells`' keys): its model, test score and loss with their
    95% CIs, and nothing in the columns of a comparison: it is not tested against the baseline. None without one.

    Example:
        >>> class Result:
        ...     def reference_row(self, c):
        ...         return {"arm": "reference (ridge, alpha=10)", "name": "ridge, alpha=10", "metric": "rmse",
        ...                 "score": 52.84, "score_low": 51.0, "score_high": 54.68, "test_loss": 0.48,
        ...                 "test_loss_low": None, "test_loss_high": None}
        >>> c = reference_cells(Result(), 0); c["arm"], c["test_accuracy"], c["marker"], c["p"]
        ('reference (ridge, alpha=10)', '52.8 ± 1.8', '', '')
    """
    row = result.reference_row(condition)
    if row is None:
        return None
    metric = METRICS[row["metric"]]
    unit, digits = (100, 1) if metric.percent else (1, _digits(row))
    blank = dict.fromkeys(("diff", "diff_pm", "p", "marker", "gap", "best_epoch", "regime", "regime_name",
                           "agreement", "flag"), "")
    return {**blank, "arm": row["arm"], "name": row["name"], "significance": "reference", "meaning": REFERENCE_MEANING,
            "test_accuracy": _mean_pm(row["score"], row["score_low"], row["score_high"], unit, digits),
            "test_mean": _mean_pm(row["score"], None, None, unit, digits),
            "test_loss": _mean_pm(row["test_loss"], row["test_loss_low"], row["test_loss_high"], 1, 3)}


REFERENCE_WIDTH = 11  # the regime column's narrowest cell ("overfit 5/5"): the reference's model, wrapped to it,
# never widens the table
REFERENCE_MEANING = ("not tested: a reference, a classical model from scikit-learn trained on the same splits and "
                     "seeds and measured on the same test rows, picked on validation")


def reference_legend(result) -> str:
    """The legend's clause on the reference row, or the note that says why there is none ('' when the study
    was run without one)."""
    reference = result.reference or {}
    if "note" in reference:
        return reference["note"]
    return f"reference (its model on its row): {REFERENCE_MEANING}" if reference else ""


def _notes(result, groups: list[dict]) -> list[str]:
    """What the table's numbers need said beside them: a large gap beside a good fit, a negative gap under label noise."""
    notes = []
    rows = [(g, r) for g in groups for r in g["rows"]]
    if any(r["flag"] == "*" for _, r in rows):
        notes.append(f"*: a good fit with a gap of {WIDE_GAP * 100:.0f} points or more: its validation curve never "
                     "turned upward, yet it fits its training data much better than new data; regularizing may close "
                     "the gap")
    noisy = [g for g in groups if result.conditions[g["condition"]].get("label_noise")]
    if any(finite_number(r["gap_value"]) and r["gap_value"] < 0 for g in noisy for r in g["rows"]):
        said = ("with label noise the gap can be negative: training accuracy is scored against the noisy "
                "labels, which a model that generalizes gets wrong, so it can sit below test accuracy")
        table = result.table()
        clean = table[table["condition"].isin([g["condition"] for g in noisy])]
        clean = clean.dropna(subset=["train_clean_accuracy"]) if "train_clean_accuracy" in clean else clean.iloc[:0]
        if not clean.empty:
            best = clean.sort_values("train_clean_accuracy").iloc[-1]
            base = clean[clean["arm"] == "baseline"]
            said += ("; against the true labels the same predictions score " +
                     (f"{base['train_clean_accuracy'].iloc[0]:.1%} for the baseline and " if not base.empty else "") +
                     f"{best['train_clean_accuracy']:.1%} for {best['arm']} (train_clean_accuracy in results.json)")
        notes.append(said)
    return notes


def _arm_lines(name: str, width: int = ARM_WIDTH) -> str:
    """A long arm name on several lines, each after a `+` that joins its remedies, rather than cropped.

    Example:
        >>> print(_arm_lines("dropout=0.3+l2=0.0001+batchnorm"))
        dropout=0.3+
        l2=0.0001+batchnorm
    """
    lines = [""]
    for part in name.split("+"):
        joined = f"{lines[-1]}+{part}" if lines[-1] else part
        if len(joined) <= width or not lines[-1]:
            lines[-1] = joined
        else:
            lines[-1] += "+"
            lines.append(part)
    return "\n".join(lines)


def study_table(result, width: int | None = None) -> Table:
    """The study's results for the terminal: one row per condition and arm, fitted to `width` columns.

    Test accuracy and the difference against the baseline are in percentage points with their 95%
    confidence intervals over seeds; the difference is paired by seed, and its interval and
    p-value are Holm-adjusted over all arms. ✓ marks a significant improvement, ✗ a significant
    loss and · no significant difference; A/A marks the control (! when it differs significantly). A ? after
    a marker says the call is borderline: a fresh run on as many seeds would repeat it less than 80% of the time.

    Below `NARROW` columns (80 fits) the test score shows its mean alone (its interval is in
    report.html and `--json`) and regimes are shortened (`overfit 5/5`); no cell wraps.

    Args:
        result: a `StudyResult`.
        width: the terminal's columns. Default None (the full table, about 100 columns).

    Returns:
        A `rich.table.Table`; print it with `rich.console.Console().print(table)`.
    """
    narrow = width is not None and width < NARROW
    seeds = len(result.plan["seeds"])
    metric = result.metric
    regression = (result.dataset or {}).get("task") == "regression"
    groups = table_groups(result)
    untested = any(cells["significance"] == "untested" for group in groups for cells in group["rows"])
    table = Table(title=f"test {metric.label} over {seeds} seed{'s' if seeds != 1 else ''}: mean ± 95% CI; "
                        "Δ paired by seed against the baseline, Holm-adjusted 95% CI",
                  caption="✓ significantly better · ✗ significantly worse · · no significant difference "
                          "(Holm-corrected p < 0.05)" + borderline_legend(groups)
                          + ("; n/t not tested: one seed (a paired test needs 2 or more); "
                             if untested else "; ")
                          + _units(metric, regression)
                          + "; (all seeds): every seed gave the same value, so there is no interval; "
                          + ("test score intervals and test loss are" if narrow else "test loss is") + " in report.html"
                          + ("; A/A: the control, the baseline on other seeds (noise floor)"
                             if CONTROL in result.arm_names else "")
                          + "".join(f"; {note}" for note in _notes(result, groups))
                          + (f"; {reference_legend(result)}" if reference_legend(result) else ""),
                  box=box.SIMPLE_HEAD, padding=(0, 0 if narrow else 1, 0, 0), pad_edge=False, title_justify="left",
                  caption_justify="left")
    table.add_column("arm", no_wrap=True, overflow="ellipsis", max_width=ARM_WIDTH)
    short = {"accuracy": "acc", "balanced_accuracy": "bal acc", "macro_f1": "F1"}.get(metric.name, metric.label)
    table.add_column(f"test {short}", justify="right", no_wrap=True)
    table.add_column(f"Δ {short} ± CI", justify="right", no_wrap=True)
    table.add_column("p Holm", justify="right", no_wrap=True)
    table.add_column("", justify="center", no_wrap=True, min_width=3)
    table.add_column("gap RMSE" if regression and not narrow else "gap", justify="right", no_wrap=True)
    table.add_column("best", justify="right", no_wrap=True)
    table.add_column("regime", no_wrap=True)
    style = {"better": "bold green", "worse": "bold red", "same": "dim", "untested": "dim", "baseline": "",
             "floor": "italic", "alarm": "bold red reverse"}
    for group in groups:
        if len(groups) > 1:
            table.add_row(Text(group["short"], style="bold"))
        for cells in group["rows"]:
            sig = cells["significance"]
            regime = (f"{REGIME_SHORT.get(cells['regime_name'], cells['regime_name'])} {cells['agreement']}" if narrow
                      else cells["regime"].replace("_", " "))
            table.add_row(Text(_arm_lines(cells["arm"]), style={BASELINE: "bold", CONTROL: "italic"}.get(cells["arm"], "")),
                          cells["test_mean"] if narrow else cells["test_accuracy"], Text(cells["diff_pm"], style=style[sig]),
                          cells["p"], Text(cells["marker"], style=style[sig]), cells["gap"], cells["best_epoch"],
                          Text(regime + cells["flag"]))
        if (cells := group["reference"]) is not None:  # not compared: no Δ or p; its model where a regime goes
            model = textwrap.wrap(f"({cells['name']})", REFERENCE_WIDTH, break_long_words=False)
            table.add_row(Text("reference", style="italic"), cells["test_mean"] if narrow else cells["test_accuracy"],
                          "", "", "", "", "", Text("\n".join(model), style="italic"))
        if len(groups) > 1:
            table.add_section()
    return table
