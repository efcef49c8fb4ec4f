"""`report.html`: one self-contained page per study, readable offline, the verdict first.

Renders a `StudyResult` through `templates/report.html` (jinja2, autoescaped) with the figures
inline as base64 PNG; no scripts, no external references.
"""
from __future__ import annotations

import base64
import io
import platform
import re
from collections import Counter

import matplotlib
import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.backends.backend_agg import FigureCanvasAgg

from goodfit import __version__
from goodfit.diagnose import REGIMES
from goodfit.metrics import METRICS
from goodfit.remedies import WORDS, word_of
from goodfit.report.figures import STYLE, WIDTH, arm_styles, curve_metric, loss_label, study_figures
from goodfit.report.tables import BASELINE, MEANINGS, condition_label, reference_legend, table_groups
from goodfit.report.verdict import verdicts
from goodfit.words import p_text

DPI = 200  # pixels per inch of the PNG; the page shows WIDTH inches at about 100 px each, sharp on 2x screens
HELD = ("A member that stopped early keeps its kept (best) weights' value to the end of its arm's curve, so the "
        "mean always covers every seed; the line turns lighter from the first epoch at which a member has stopped.")


def _captions(result) -> dict[str, tuple[str, str]]:
    """Each figure's title and caption, worded for the metric the study is judged by and the one its curves draw."""
    m, curve, loss = result.metric, curve_metric(result), loss_label(result)
    stopped = result.members.get("stopped_epoch")
    held = f" {HELD}" if stopped is not None and stopped.notna().any() else ""
    lower = "" if m.higher_is_better else "; lower is better"
    diff = "in points" if m.percent else f"in {m.label}"
    instead = (f" Plain {curve.label}: {m.label} is measured once, with the kept weights, not per epoch."
               if curve.name != m.name and m.name != "loss" else "")
    gap = (f"Training minus validation {curve.label}" + (" in points" if curve.percent else "")
           if curve.higher_is_better else f"Validation minus training {curve.label}")
    return {
        "comparison": (f"Test {m.label} per arm",
                       "Dot: mean over seeds; bar: 95% confidence interval; grey band: the baseline's "
                       f"interval{lower}. Filled dots differ significantly from the baseline (paired by seed, "
                       f"Holm-corrected); the column on the right is the difference {diff}, ✓ / ✗ where it is "
                       "significantly better / worse."),
        "data_size": ("Learning curve over data size",
                      f"Test {m.label} (solid, 95% CI) and training {m.label} (dotted) against the number of "
                      f"training samples, one line per arm{lower}. A wide gap between the two that narrows with "
                      "more data means the model was memorizing."),
        "strength": ("Validation curve over remedy strength",
                     f"Test {m.label} (95% CI) and training {m.label} (dotted) against each remedy's strength{lower}; "
                     f"the dashed line and band are the baseline's test {m.label} and its 95% CI. A green dot is "
                     "significantly better than the baseline, a red-orange one significantly worse."),
        "metric_curves": (f"Learning curves: {curve.label}",
                          "Mean over seeds with a min–max band; dashed: training subset measured in eval mode, "
                          "solid: validation. Vertical lines: the median best epoch and, where at least half "
                          f"the seeds overfit, the median onset of overfitting.{instead}{held}"),
        "loss_curves": ("Learning curves: loss",
                        f"{loss[0].upper()}{loss[1:]}, mean over seeds with a min–max band; dashed: training, "
                        f"solid: validation. Validation loss rising while training loss falls is overfitting.{held}"),
        "rate": ("Learning rate",
                 "The rate each epoch began with (the first parameter group's), one line per seed, on a log scale "
                 "where it spans more than ten times; seeds that ran the same schedule draw one line. What ran, "
                 "not judged: the diagnosis reads the validation curves alone."),
        "gap": ("Generalization gap over epochs",
                f"{gap}, mean over seeds, every arm on one axis: positive is overfitting, and a remedy that works "
                f"keeps this line low.{held}"),
    }


def _png(fig) -> str:
    """The figure as base64 PNG at `DPI`, the same bytes `fig.savefig` writes.

    The Agg canvas's `print_png` draws the figure once, laying it out on the way; `savefig` first
    draws it without rendering just to lay it out, and then again to render. A figure without an
    Agg canvas (as `Figure()` makes) is given one.
    """
    buffer, dpi = io.BytesIO(), fig.dpi
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with matplotlib.rc_context(STYLE):
        fig.set_dpi(DPI)
        try:
            canvas.print_png(buffer, metadata={"Software": None})
        finally:
            fig.set_dpi(dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_text(result, key: str) -> tuple[str, str]:
    """The title and caption of figure `key` of `study_figures(result)`, its condition named when there are several."""
    base, c = re.fullmatch(r"(.+?)(?:_c(\d+))?", key).groups()
    title, caption = _captions(result)[base]
    if len(result.conditions) > 1 and c:
        title += f" — {condition_label(result.conditions[int(c)])}"
    return title, caption


def _figures(result) -> list[dict]:
    out = []
    for key, fig in study_figures(result).items():
        title, caption = figure_text(result, key)
        width_px = round(fig.get_figwidth() * 100)
        height_px = round(fig.get_figheight() * 100)
        out.append({"key": key, "title": title, "caption": caption, "png": _png(fig),
                    "width": width_px, "height": height_px})
    return out


def _regime_class(regime: str) -> str:
    """The CSS class that colours a regime; a name goodfit does not know gets a neutral one."""
    return regime if regime in REGIMES else "other"


def _finite(x) -> bool:
    return isinstance(x, (int, float, np.number)) and np.isfinite(x)


def _median(values) -> float | None:
    values = [v for v in values if _finite(v)]
    return float(np.median(values)) if values else None


def _arm_diagnosis(rows, judged: str) -> dict:
    """One arm's diagnosis over its seeds: the majority regime, and a typical seed's evidence and advice
    (the median seed by the judged column `judged`, among those that agree)."""
    diagnoses = [d if isinstance(d, dict) else {} for d in rows["diagnosis"]]
    regimes = Counter(d.get("regime", "unknown") for d in diagnoses)
    regime, count = regimes.most_common(1)[0]
    agreeing = rows[[d.get("regime", "unknown") == regime for d in diagnoses]].sort_values(judged)
    typical = agreeing.iloc[len(agreeing) // 2]
    diagnosis = typical["diagnosis"] if isinstance(typical["diagnosis"], dict) else {}
    onsets = [d.get("onset_epoch") for d in diagnoses]
    return {
        "regime": regime, "regime_class": _regime_class(regime),
        "agreement": f"{count}/{len(diagnoses)}",
        "others": ", ".join(f"{r} {n}/{len(diagnoses)}" for r, n in regimes.most_common()[1:]),
        "best_epoch": _median([d.get("best_epoch") for d in diagnoses]),
        "onset_epoch": _median(onsets), "onsets": sum(o is not None for o in onsets),
        "seed": typical["seed"], "confidence": diagnosis.get("confidence"),
        "evidence": list(diagnosis.get("evidence", [])),
        "advice": list(diagnosis.get("advice", []))[:3],
    }


def _diagnoses(result) -> list[dict]:
    m, styles = result.members, arm_styles(result.arm_names)
    groups = []
    for c, cond in enumerate(result.conditions):
        arms = []
        for arm in result.arm_names:
            rows = m[(m["condition"] == c) & (m["arm"] == arm)]
            if not rows.empty:
                arms.append({"arm": arm, "color": styles[arm]["color"], **_arm_diagnosis(rows, result.judged)})
        groups.append({"label": condition_label(cond), "arms": arms})
    return groups


def _remedy_text(remedy: dict) -> str:
    """`dropout(rate=0.3)`: a remedy and the settings that differ from nothing."""
    settings = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in remedy.items() if k != "remedy" and v not in (None, False, 0, 0.0))
    return f"{remedy.get('remedy', '?')}({settings})"


def _arms(result) -> list[dict]:
    """Each arm of the plan: its remedies, the network its members trained and their parameter count."""
    m, out = result.members, []
    for arm in result.plan.get("arms", []):
        rows = m[m["arm"] == arm["name"]]
        first = rows.iloc[0] if not rows.empty else {}
        a = first.get("architecture") if isinstance(first.get("architecture"), dict) else {}
        out.append({
            "name": arm["name"], "remedies": [_remedy_text(r) for r in arm.get("remedies", [])],
            "model": f"{a['arch']}, depth {a.get('depth')}" if a.get("arch") else "—",
            "params": f"{int(first['num_params']):,}" if _finite(first.get("num_params")) else "—",
        })
    return out


def _model_text(result) -> str:
    """The baseline's network in words, as resolved for this data (arms may shrink it)."""
    m = result.members
    rows = m[m["arm"] == BASELINE] if BASELINE in set(m["arm"]) else m
    a = rows.iloc[0]["architecture"] if len(rows) and isinstance(rows.iloc[0]["architecture"], dict) else {}
    if not a:
        return str(result.plan.get("model", {}).get("arch", "—"))
    outputs = ("one output" if result.dataset.get("task") == "regression" else f"{a.get('num_classes')} classes")
    return (f"{a.get('arch')}: width {a.get('width')}, depth {a.get('depth')}, input "
            f"{' × '.join(str(d) for d in a.get('input_shape', []))}, {outputs}")


def _target_text(stats: dict | None) -> str:
    """A numeric target's spread in words: `mean 152, std 77, from 25 to 346`.

    Example:
        >>> _target_text({"mean": 152.13, "std": 77.0, "min": 25.0, "max": 346.0})
        'mean 152, std 77, from 25 to 346'
    """
    if not stats:
        return ""
    words = {k: np.format_float_positional(float(stats[k]), precision=3, fractional=False, trim="-")
             for k in ("mean", "std", "min", "max")}  # three significant figures, no exponent
    return f"mean {words['mean']}, std {words['std']}, from {words['min']} to {words['max']}"


def _setup(result, seconds: float | None) -> dict:
    plan, data = result.plan, result.dataset or {}
    classes = [str(c) for c in data.get("classes", [])]
    counts = data.get("class_counts", [])
    return {
        "data": plan.get("data"), "target": plan.get("target"), "name": data.get("name", plan.get("data")),
        "kind": data.get("kind"), "samples": data.get("samples"),
        "input_shape": " × ".join(str(d) for d in data.get("input_shape", [])),
        "classes": list(zip(classes, counts)) if len(counts) == len(classes) else [(c, None) for c in classes],
        "fixed_test_set": data.get("fixed_test_set"), "regression": data.get("task") == "regression",
        "target_name": data.get("target") or plan.get("target"), "target_stats": _target_text(data.get("target_stats")),
        "conditions": [{"label": condition_label(c), **c} for c in result.conditions],
        "model": _model_text(result), "arms": _arms(result),
        "train": plan.get("train", {}), "seeds": ", ".join(str(s) for s in plan.get("seeds", [])),
        "split_seed": plan.get("split_seed"), "members": len(result.members), "seconds": seconds,
        "python": platform.python_version(),
    }


def _range_text(metric) -> str:
    """What the intervals are kept within, in words.

    Example:
        >>> from goodfit.metrics import METRICS
        >>> _range_text(METRICS["accuracy"])
        'Accuracy intervals stay within 0–100% and loss intervals above zero'
        >>> _range_text(METRICS["rmse"])
        'RMSE and loss intervals stay at or above zero'
    """
    label = metric.label[0].upper() + metric.label[1:]
    if metric.percent:
        return f"{label} intervals stay within 0–100% and loss intervals above zero"
    if metric.low == 0 and metric.high is None:
        return f"{label} and loss intervals stay at or above zero" if metric.name != "loss" else \
            "Loss intervals stay at or above zero"
    return f"{label} intervals stay at or below {metric.high:g} and loss intervals above zero"


HINTS = {  # what the report says of the causes' remedies no arm can be
    "fix_listed_rows": "check and relabel the rows listed below",
    "more_data": "the learning curve below says how much twice and four times the rows would add",
    "balanced_accuracy": "judge by it: --metric balanced_accuracy",
    "more_data_like_the_test_rows": "collect training rows like the test rows",
    "larger_model": "a wider or deeper model: --width, --depth",
    "higher_learning_rate": "--lr",
    "huber_loss": "a loss that weighs far-off targets less: --loss huber",
}
TOP_ISSUES = 10  # mislabeled rows the report lists (results.json has them all)


def _arm_evidence(result, remedy: str) -> list[dict]:
    """The study's arms of `remedy` alone (at any strength) on the condition causes looked at, each with its
    measured difference from the baseline in words and whether it was significantly better or worse."""
    condition = (result.causes or {}).get("condition", 0)
    keys = {a["name"]: {word_of(r) for r in a.get("remedies", [])} for a in result.plan.get("arms", [])}
    table = result.table()
    rows = table[(table["condition"] == condition) & table["arm"].isin([a for a, k in keys.items() if k == {remedy}])]
    m, out = result.metric, []
    for _, r in rows.iterrows():
        if r["diff"] is None or not np.isfinite(r["diff"]):
            words, sig = "no comparison (one seed)", "same"
        else:
            interval = ("on every seed" if r["all_equal"] else
                        f"95% CI {m.change(r['diff_low'], False)} to {m.change(r['diff_high'], False)}")
            words = f"{m.change(r['diff'])} ({interval}, {p_text(r['p_holm'])} after Holm)"
            sig = ("better" if r["gain"] > 0 else "worse") if r["significant"] else "same"
        out.append({"arm": r["arm"], "words": words, "significance": sig})
    return out


def _quiet_checks(found: dict, names: set[str]) -> list[str]:
    """A few words with a number for each check that found no cause."""
    from goodfit.causes import NOISE_SHARE

    said, curve = [], found.get("learning_curve", {})
    regression = found.get("task") == "regression"
    if "small_data" not in names and curve.get("metric") and regression:
        m = METRICS[curve["metric_name"]]
        said.append(f"small data: twice the rows would bring {m.label} from {m.value(curve['metric'][-1])} to about "
                    f"{m.value(curve['at_2x'])} ({m.value(curve['interval_2x'][0])} to {m.value(curve['interval_2x'][1])})")
    elif "small_data" not in names and curve.get("metric"):
        gain, low, high = (100 * v for v in curve["gain_2x"])
        said.append(f"small data: twice the rows would add about {gain:+.1f} points ({low:+.1f} to {high:+.1f})")
    if regression and "corrupted_targets" not in names:
        low, high = found.get("corrupted_share_interval", [0.0, 0.0])
        said.append(f"corrupted targets: about {found.get('estimated_corrupted_share', 0):.1%} ({low:.1%} to "
                    f"{high:.1%}) lie further from the out-of-fold predictions than chance puts them")
    elif not regression and "noisy_labels" not in names:
        said.append(f"noisy labels: about {found.get('estimated_noise_share', 0):.1%} look wrong "
                    f"(a cause from {NOISE_SHARE:.0%})")
    if not regression and "imbalance" not in names:
        said.append("imbalance: no class under a third of the largest")
    shift = found.get("shift")
    if "shift" not in names and shift:
        said.append(f"shift: a classifier tells test from training rows with AUC {shift['auc']:.2f} "
                    f"({shift['interval'][0]:.2f} to {shift['interval'][1]:.2f}; 0.5 is chance)")
    capacity = found.get("capacity", {})
    if "capacity" not in names and "train_r2" in capacity:
        said.append(f"capacity: training R² {capacity['train_r2']:.3f}, validation {capacity['val_r2']:.3f}"
                    + (f"; a {capacity['wider_width'] // capacity['width']}x wider model takes "
                       f"{capacity['wider_error_cut_percent']:.0f}% off the error" if "wider_width" in capacity else ""))
    if "capacity" not in names and "train_accuracy" in capacity:
        said.append(f"capacity: training accuracy {capacity['train_accuracy']:.1%}, validation "
                    f"{capacity['val_accuracy']:.1%}" + (f"; a {capacity['wider_width'] // capacity['width']}x wider "
                                                         f"model adds {capacity['wider_gain_points']:+.1f} points"
                                                         if "wider_gain_points" in capacity else ""))
    return said


def _causes(result) -> dict | None:
    """The report's causes section from what `Study(causes=True)` stored: nothing here trains."""
    found = result.causes
    if not found:
        return None
    from goodfit.report.figures import causes_curve_figure

    names = {c["name"] for c in found["causes"]}
    causes = []
    for c in found["causes"]:
        remedies = [{"name": r, "arms": _arm_evidence(result, r) if r in WORDS else None, "hint": HINTS.get(r, "")}
                    for r in c["remedies"]]
        causes.append({**c, "remedies": remedies})
    fig = causes_curve_figure(found["learning_curve"])
    issues = found.get("target_issues", found.get("label_issues", []))
    planted = found.get("planted_noise")
    condition = result.conditions[found.get("condition", 0)]
    return {
        "causes": causes, "quiet": _quiet_checks(found, names), "notes": found.get("notes", []),
        "issues": issues[:TOP_ISSUES], "flagged": len(issues), "regression": found.get("task") == "regression",
        "share": found.get("estimated_noise_share", found.get("estimated_corrupted_share", 0.0)),
        "classes": found.get("classes", []),
        "rows": found.get("rows"), "seconds": found.get("seconds"), "planted": planted,
        "where": condition_label(condition), "several": len(result.conditions) > 1,
        "noise": condition.get("label_noise") or 0.0,
        "figure": {"png": _png(fig), "width": round(fig.get_figwidth() * 100), "height": round(fig.get_figheight() * 100),
                   "metric": METRICS[found["learning_curve"].get("metric_name", "accuracy")].label},
    }


def _environment() -> Environment:
    return Environment(loader=PackageLoader("goodfit.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(result, command: str | None = None, seconds: float | None = None) -> str:
    """The study's report as one self-contained HTML page.

    The page opens with the verdict, then the results table, the causes (when the study looked for
    them: `Study(causes=True)`), the figures, the diagnosis per arm, the data and setup, and the command that reproduces the study. Every name the user chose
    (arms, data path, classes, command) is escaped; figures are inline PNG; there are no scripts
    and no external references, so the file reads the same offline.

    Args:
        result: a `StudyResult`.
        command: the command line that ran the study, shown for reproduction. Default None.
        seconds: the study's wall time, shown with the setup. Default None (not shown).

    Returns:
        The HTML text.
    """
    said = verdicts(result)
    setup = _setup(result, seconds)
    groups = table_groups(result)
    for row in (row for group in groups for row in group["rows"]):
        row["regime_class"] = _regime_class(row["regime_name"])
    page = _environment().get_template("report.html").render(
        title=f"goodfit study: {setup['name']}",
        verdicts=said, several=len(said) > 1, groups=groups, figures=_figures(result),
        diagnoses=_diagnoses(result), setup=setup, command=command, version=__version__, baseline=BASELINE,
        colors={arm: style["color"] for arm, style in arm_styles(result.arm_names).items()},
        seeds=len(result.plan.get("seeds", [])), arms=len(result.arm_names),
        has_control="control_seeds" in result.plan, reference=reference_legend(result),
        borderline=MEANINGS["borderline"] if any(row["borderline"] for g in groups for row in g["rows"]) else "",
        splits_text="each seed on its own train/validation split, one test set" if result.plan.get("resample_splits")
        else "same split",
        epochs=result.plan.get("train", {}).get("epochs"), model_arch=result.plan.get("model", {}).get("arch"),
        metric=result.metric, range_text=_range_text(result.metric), causes=_causes(result),
        width=round(WIDTH * 100))
    return page
