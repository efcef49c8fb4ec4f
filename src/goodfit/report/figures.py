"""Figures of a study, in the metric it is judged by (`StudyResult.metric`: accuracy, balanced accuracy,
RMSE, ...): the test score per arm with 95% CIs, learning curves per arm, the gap over epochs and, for
sweeps, the score against training-set size or remedy strength.

Figures are built on the Agg canvas without pyplot, so nothing lands in pyplot's global state;
`report.html` embeds them as PNG.
"""
from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from goodfit.metrics import METRICS, Metric
from goodfit.remedies import REGISTRY
from goodfit.report.tables import BASELINE, condition_label, significance
from goodfit.stats import mean_ci

# Okabe & Ito's palette, distinguishable under the common colour-vision deficiencies; its yellow
# is darkened to read on white. The baseline is near-black; more than seven arms reuse colours
# with dashed lines.
BASELINE_COLOR = "#222222"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#B8A100")
BETTER, WORSE, MUTED = "#007A55", "#C04A00", "#6B6B6B"
STYLE = {
    "font.size": 9.5, "axes.titlesize": 10, "axes.titleweight": "bold", "axes.labelsize": 9.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#888888",
    "axes.grid": True, "grid.color": "#E6E6E6", "grid.linewidth": 0.8, "axes.axisbelow": True,
    "xtick.color": "#444444", "ytick.color": "#444444", "xtick.labelsize": 8.5, "ytick.labelsize": 8.5,
    "legend.frameon": False, "legend.fontsize": 8.5, "figure.facecolor": "white",
    "font.family": ["DejaVu Sans"], "lines.linewidth": 1.8,
    "text.parse_math": False,  # arm names are the user's: `l2 $5` must print, not parse as TeX
}
WIDTH = 10.4  # inches; report.html shows a figure across its text column
SWEEP = re.compile(r"^(?P<remedy>[A-Za-z_][\w.-]*)=(?P<strength>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$")
LOG_REMEDIES = {name for cls in REGISTRY if cls.log_strength for name in (*cls.words, cls.key)}  # strengths on a log axis


def arm_styles(arms: list[str]) -> dict[str, dict]:
    """Colour and line style of each arm, the same in every figure; the baseline is near-black.

    Example:
        >>> arm_styles(["baseline", "dropout"])["dropout"]
        {'color': '#0072B2', 'linestyle': '-'}
    """
    styles, others = {}, [a for a in arms if a != BASELINE]
    if BASELINE in arms:
        styles[BASELINE] = {"color": BASELINE_COLOR, "linestyle": "-"}
    for i, arm in enumerate(others):
        styles[arm] = {"color": PALETTE[i % len(PALETTE)], "linestyle": ("-", "--", ":")[i // len(PALETTE) % 3]}
    return styles


def _value(x) -> float:
    """A table cell as a float; None (no interval from one seed) becomes NaN."""
    return np.nan if x is None else float(x)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _unit(metric: Metric) -> float:
    """What a value is multiplied by to be drawn: 100 for a percentage (differences in points), else 1."""
    return 100.0 if metric.percent else 1.0


def metric_axis(metric: Metric, what: str = "") -> str:
    """An axis label that names the metric and its unit, and says so where lower is better.

    Example:
        >>> metric_axis(METRICS["accuracy"], "test"), metric_axis(METRICS["rmse"], "test")
        ('test accuracy (%)', 'test RMSE (lower is better)')
    """
    return f"{what} {metric.label}".strip() + (" (%)" if metric.percent else "" if metric.higher_is_better
                                               else " (lower is better)")


def _within_range(limits: tuple[float, float], metric: Metric) -> tuple[float, float]:
    """Axis limits (in drawn units) cut to what the metric can take, with 1% of the span to spare."""
    low, high = limits
    spare = 0.01 * (high - low)
    if metric.low is not None:
        low = max(low, metric.low * _unit(metric) - spare)
    if metric.high is not None:
        high = min(high, metric.high * _unit(metric) + spare)
    return low, high


def curve_metric(result) -> Metric:
    """The metric the learning curves draw beside the loss: the judged one where the history has it per
    epoch, else the task's plain one (accuracy, RMSE): balanced accuracy and macro F1 are measured once,
    with the kept weights.

    Example:
        >>> from types import SimpleNamespace
        >>> r = SimpleNamespace(metric=METRICS["balanced_accuracy"], dataset={}, history=pd.DataFrame(
        ...     columns=["epoch", "train_accuracy", "val_accuracy"]))
        >>> curve_metric(r).name
        'accuracy'
    """
    m, history = result.metric, result.history
    if m.name != "loss" and history is not None and f"val_{m.name}" in history:
        return m
    return METRICS["rmse" if result.dataset.get("task") == "regression" else "accuracy"]


def loss_label(result) -> str:
    """The training loss in words: `cross-entropy loss`, or `MSE loss (standardized target)` on regression."""
    regression = result.dataset.get("task") == "regression"
    name = result.plan.get("train", {}).get("loss", "auto")
    name = ("mse" if regression else "cross_entropy") if name in (None, "auto") else name
    words = {"cross_entropy": "cross-entropy", "mse": "MSE", "mae": "MAE", "huber": "Huber"}.get(name, name)
    return f"{words} loss" + (" (standardized target)" if regression else "")


def _held(history: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Rows that hold each member that stopped early at its kept (best) epoch's values, from the epoch after
    it stopped to the last epoch its arm trained, marked `held`; a mean over seeds then keeps every member."""
    ends = history.groupby(["condition", "arm"])["epoch"].max()
    stopped = members[members["stopped_epoch"].notna() & members["best_epoch"].notna()]
    rows = []
    for m in stopped.itertuples():
        own = history[history["member"] == m.member]
        ran, end = own["epoch"].max(), ends.get((m.condition, m.arm), 0)
        kept = own[own["epoch"] == float(m.best_epoch)]
        if ran < end and len(kept):
            rows.append(kept.iloc[[0] * int(end - ran)].assign(epoch=np.arange(ran + 1, end + 1), held=True))
    return pd.concat(rows, ignore_index=True) if rows else history.iloc[:0]


def _curves(result) -> pd.DataFrame:
    """The history with each member's condition and arm, members that stopped early held at their kept
    weights' values to the end of their arm's curve (`held`), and the gap of `curve_metric` (positive:
    the model does better on its training subset than on validation)."""
    if result.history is None or result.history.empty:
        return pd.DataFrame()
    keys = result.members[["member", "condition", "arm", "seed"]]
    h = result.history.merge(keys, on="member", how="inner").assign(held=False)
    h = pd.concat([h, _held(h, result.members)], ignore_index=True).sort_values(["member", "epoch"])
    m = curve_metric(result)
    train, val = h[f"train_{m.name}"], h[f"val_{m.name}"]
    return h.assign(gap=(train - val) if m.higher_is_better else (val - train))


def _over_seeds(frame: pd.DataFrame, column: str, unit: float = 1.0) -> pd.DataFrame:
    """Per epoch: mean, min and max of `column` (times `unit`) over the seeds, and whether any seed is held."""
    band = frame.groupby("epoch")[column].agg(["mean", "min", "max"]) * unit
    return band.assign(held=frame.groupby("epoch")["held"].any()).dropna(subset=["mean"])


def _plot_mean(ax, band: pd.DataFrame, label: str | None = None, **style) -> None:
    """The mean over seeds: at full strength while every member trains, lighter from the first epoch at
    which a member that stopped early is held at its kept weights."""
    x, y, held = band.index.to_numpy(), band["mean"].to_numpy(), band["held"].to_numpy()
    cut = int(np.argmax(held)) if held.any() else len(x)
    ax.plot(x[:cut], y[:cut], label=label, **style)
    if cut < len(x):
        ax.plot(x[max(cut - 1, 0):], y[max(cut - 1, 0):], alpha=0.4, **style)


def _markers(members: pd.DataFrame) -> tuple[float | None, float | None]:
    """The median best epoch, and the median onset when at least half the seeds have one."""
    best = pd.to_numeric(members["best_epoch"], errors="coerce").dropna()
    onsets = [d.get("onset_epoch") for d in members["diagnosis"] if isinstance(d, dict)]
    onsets = [o for o in onsets if o is not None]
    onset = float(np.median(onsets)) if onsets and 2 * len(onsets) >= len(members) else None
    return (float(best.median()) if len(best) else None), onset


def _mark_epochs(ax, best: float | None, onset: float | None, last_epoch: float) -> None:
    """Vertical lines at the best epoch (solid) and the onset (dashed), labelled near the top."""
    marks = [(best, "best", "-"), (onset, "onset", "--")]
    if best is not None and onset is not None and abs(best - onset) < 0.5:
        marks = [(best, "best = onset", "-")]
    for row, (x, label, style) in enumerate(m for m in marks if m[0] is not None):
        ax.axvline(x, color="#555555", linestyle=style, linewidth=1.0, zorder=1)
        right = x > 0.7 * last_epoch
        ax.annotate(f"{label} {x:.0f}", (x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-3 if right else 3, -2 - 10 * row), textcoords="offset points", va="top",
                    ha="right" if right else "left", fontsize=7.5, color="#333333",
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})


def _visible_range(frame: pd.DataFrame, columns: list[str], members: pd.DataFrame) -> tuple[float, float]:
    """The span of the seed-mean curves after the first tenth of training, diverged members left out,
    so the first epochs' steep drop and a diverged member do not squash what comes after."""
    healthy = members.loc[~members["diverged"].astype(bool), "member"]
    frame = frame[frame["member"].isin(healthy) & (frame["epoch"] > max(1, 0.1 * frame["epoch"].max()))]
    means = frame.groupby(["arm", "epoch"])[columns].mean().to_numpy(float)
    means = means[np.isfinite(means)]
    return (float(means.min()), float(means.max())) if len(means) else (np.nan, np.nan)


def _curve_limits(ax, metric: Metric | None, low: float, high: float) -> None:
    """The curves' y range from their visible span: a percentage up to 100, a loss from 0, another metric
    padded around its span and cut to its range."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return
    if metric is None:  # the loss
        ax.set_ylim(0, high * 1.15)
    elif metric.percent:
        ax.set_ylim(max(0.0, low - 0.1 * (100 - low) - 1), 100.5)
    else:
        pad = 0.15 * (high - low) or 0.05 * abs(high) or 0.05
        ax.set_ylim(*_within_range((low - pad, high + pad), metric))


def _curve_panels(result, curves: pd.DataFrame, condition: int, metric: Metric | None) -> Figure:
    """Small multiples, one panel per arm: train (dashed) and validation (solid) of `metric`, or of the
    loss where `metric` is None."""
    arms = [a for a in result.arm_names if ((curves["condition"] == condition) & (curves["arm"] == a)).any()]
    styles = arm_styles(result.arm_names)
    name, unit = ("loss", 1.0) if metric is None else (metric.name, _unit(metric))
    cols = min(4, len(arms))
    rows = math.ceil(len(arms) / cols)
    fig = _figure(WIDTH, 0.55 + 2.25 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    sub = curves[curves["condition"] == condition]
    for ax, arm in zip(axes, arms):
        frame = sub[sub["arm"] == arm]
        color = styles[arm]["color"]
        for split, line in (("train", "--"), ("val", "-")):
            band = _over_seeds(frame, f"{split}_{name}", unit)
            ax.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.15, linewidth=0)
            _plot_mean(ax, band, color=color, linestyle=line, linewidth=1.6 if split == "val" else 1.3,
                       gid=f"{split}_{name}")
        members = result.members[(result.members["condition"] == condition) & (result.members["arm"] == arm)]
        best, onset = _markers(members)
        _mark_epochs(ax, best, onset, float(sub["epoch"].max()))
        ax.set_title(arm, loc="left", color=color if arm != BASELINE else BASELINE_COLOR)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    low, high = _visible_range(sub, [f"train_{name}", f"val_{name}"],
                               result.members[result.members["condition"] == condition])
    _curve_limits(axes[0], metric, low * unit, high * unit)
    if metric is not None and metric.percent:
        axes[0].yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    for ax in axes[(rows - 1) * cols:]:
        ax.set_xlabel("epoch")
    for r in range(rows):
        axes[r * cols].set_ylabel(loss_label(result) if metric is None else metric.label)
    handles = [Line2D([], [], color="#444444", linestyle="-", label="validation"),
               Line2D([], [], color="#444444", linestyle="--", label="train (eval mode)"),
               Patch(color="#444444", alpha=0.2, label="min–max over seeds"),
               Line2D([], [], color="#555555", linewidth=1, label="best epoch (median)"),
               Line2D([], [], color="#555555", linewidth=1, linestyle="--", label="overfitting onset (median)")]
    if sub["held"].any():
        handles.append(Line2D([], [], color="#444444", alpha=0.4, label="lighter: stopped seeds held at kept weights"))
    fig.legend(handles=handles, loc="outside upper left", ncols=3 if len(handles) > 5 else 5)
    return fig


def gap_axis(metric: Metric) -> str:
    """The gap's axis label: which difference it is, and that positive is overfitting.

    Example:
        >>> gap_axis(METRICS["accuracy"])
        'train − validation accuracy (points); positive: overfitting'
        >>> gap_axis(METRICS["rmse"])
        'validation − training RMSE; positive: overfitting'
    """
    if metric.higher_is_better:
        text = f"train − validation {metric.label}" + (" (points)" if metric.percent else "")
    else:
        text = f"validation − training {metric.label}"
    return text + "; positive: overfitting"


def _gap_figure(result, curves: pd.DataFrame) -> Figure:
    """The gap of `curve_metric` over epochs (positive: overfitting), every arm on one axis; one panel per condition."""
    conditions = sorted(curves["condition"].unique())
    styles = arm_styles(result.arm_names)
    metric = curve_metric(result)
    fig = _figure(WIDTH, 3.6 if len(conditions) == 1 else 3.3)
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        sub = curves[curves["condition"] == c]
        for arm in result.arm_names:
            band = _over_seeds(sub[sub["arm"] == arm], "gap", _unit(metric))
            if band.empty:
                continue
            _plot_mean(ax, band, label=arm, zorder=3 if arm == BASELINE else 2,
                       linewidth=2.4 if arm == BASELINE else 1.6, gid="gap", **styles[arm])
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xlabel("epoch")
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
    label = gap_axis(metric)
    axes[0].set_ylabel(label.replace("; ", "\n"))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper")
    return fig


def _comparison_figure(result) -> Figure:
    """The judged metric on the test set per arm with 95% CIs; the baseline's mean and CI as a reference band."""
    table = result.table()
    metric, unit = result.metric, _unit(result.metric)
    conditions = list(range(len(result.conditions)))
    styles = arm_styles(result.arm_names)
    arms = [a for a in result.arm_names if a in set(table["arm"])]
    fig = _figure(WIDTH, 0.9 + 0.34 * len(arms) + (0.3 if len(conditions) > 1 else 0))
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        rows = table[table["condition"] == c].set_index("arm")
        base = rows.loc[BASELINE] if BASELINE in rows.index else None
        if base is not None and np.isfinite(_value(base["score_low"])):
            ax.axvspan(base["score_low"] * unit, base["score_high"] * unit, color="#000000", alpha=0.06)
        if base is not None:
            ax.axvline(base["score"] * unit, color=BASELINE_COLOR, linestyle="--", linewidth=1.0)
        for y, arm in enumerate(arms):
            if arm not in rows.index:
                continue
            r = rows.loc[arm]
            sig = significance({**r.to_dict(), "arm": arm})
            mean = r["score"] * unit
            low = np.nan_to_num(_value(r["score_low"]) * unit, nan=mean)
            high = np.nan_to_num(_value(r["score_high"]) * unit, nan=mean)
            color = styles[arm]["color"]
            ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="none", ecolor=color, elinewidth=2.0,
                        capsize=3)
            ax.plot(mean, y, "o", markersize=8 if arm == BASELINE else 7, color=color,
                    markerfacecolor=color if sig in ("better", "worse", "baseline") else "white",
                    markeredgewidth=1.8, zorder=3)
            if arm != BASELINE and r["diff"] is not None and np.isfinite(r["diff"]):
                mark = {"better": " ✓", "worse": " ✗", "alarm": " !"}.get(sig, "")
                ax.annotate(f"{metric.change(r['diff'], unit=False)}{mark}", (1.0, y),
                            xycoords=("axes fraction", "data"),
                            xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
                            color={"better": BETTER, "worse": WORSE, "alarm": WORSE}.get(sig, MUTED),
                            fontweight="bold" if sig in ("better", "worse", "alarm") else "normal")
        ax.annotate("Δ points" if metric.percent else f"Δ {metric.label}", (1.0, 1.0), xycoords="axes fraction",
                    xytext=(6, 3), textcoords="offset points", va="bottom", fontsize=8.5, color=MUTED)
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
        ax.set_xlim(*_within_range(ax.get_xlim(), metric))
    label = (f"test {metric.label}" + (" (%)" if metric.percent else "") + ", mean and 95% CI over seeds"
             + ("" if metric.higher_is_better else "; lower is better"))
    fig.supxlabel(label, fontsize=STYLE["axes.labelsize"]) if len(conditions) > 1 else axes[0].set_xlabel(label)
    axes[0].set_yticks(range(len(arms)), arms)
    axes[0].set_ylim(len(arms) - 0.5, -0.5)
    for label in axes[0].get_yticklabels():
        if label.get_text() == BASELINE:
            label.set_fontweight("bold")
    fig.get_layout_engine().set(w_pad=0.35)
    return fig


def _train_score(members: pd.DataFrame, metric: Metric) -> float:
    """The members' mean training score of `metric` with the kept weights, NaN where they have none."""
    column = f"train_{metric.name}"
    return float(members[column].mean()) if column in members else np.nan


def _data_size_figure(result) -> Figure:
    """Train (dotted) and test (solid, 95% CI) of the judged metric against training-set size, one line per arm."""
    styles = arm_styles(result.arm_names)
    metric, unit = result.metric, _unit(result.metric)
    sizes = [c["train_size"] for c in result.conditions]
    fig = _figure(WIDTH, 3.8)
    ax = fig.subplots()
    m = result.members
    for arm in result.arm_names:
        test, train = [], []
        for c, n in enumerate(sizes):
            g = m[(m["condition"] == c) & (m["arm"] == arm)]
            if not g.empty:
                test.append((n, mean_ci(g[result.judged], scale=metric.scale)))
                train.append((n, _train_score(g, metric)))
        if not test:
            continue
        x = [n for n, _ in test]
        mean = np.array([ci.mean for _, ci in test]) * unit
        err = np.array([[ci.mean - (ci.low if ci.low is not None else ci.mean) for _, ci in test],
                        [(ci.high if ci.high is not None else ci.mean) - ci.mean for _, ci in test]]) * unit
        ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, label=arm,
                    linewidth=2.4 if arm == BASELINE else 1.6, **styles[arm])
        ax.plot([n for n, _ in train], [v * unit for _, v in train], color=styles[arm]["color"], linestyle=":",
                linewidth=1.2, marker=".", alpha=0.8)
    if max(sizes) / min(sizes) >= 4:
        ax.set_xscale("log")
    ax.set_xticks(sorted(set(sizes)), [str(n) for n in sorted(set(sizes))])
    ax.minorticks_off()
    ax.set_xlabel("training samples")
    ax.set_ylabel(metric_axis(metric))
    ax.set_ylim(*_within_range(ax.get_ylim(), metric))
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="#444444", marker="o", label="test (95% CI)"),
                Line2D([], [], color="#444444", linestyle=":", marker=".", label="train")]
    fig.legend(handles, labels + ["test (95% CI)", "train"], loc="outside right upper")
    return fig


def sweep_families(arm_names: list[str]) -> dict[str, list[tuple[float, str]]]:
    """Arms named `remedy=strength`, grouped by remedy and sorted by strength; families of one are left out.

    Example:
        >>> sweep_families(["baseline", "dropout=0.1", "dropout=0.5", "l2=0.0001"])
        {'dropout': [(0.1, 'dropout=0.1'), (0.5, 'dropout=0.5')]}
    """
    families: dict[str, list[tuple[float, str]]] = {}
    for arm in arm_names:
        match = SWEEP.match(arm)
        if match:
            families.setdefault(match["remedy"], []).append((float(match["strength"]), arm))
    return {k: sorted(v) for k, v in families.items() if len(v) >= 2}


def _strength_figure(result, families: dict[str, list[tuple[float, str]]]) -> Figure:
    """Test (95% CI) and train score of the judged metric against each remedy's strength; the baseline as a band."""
    table = result.table()
    metric, unit = result.metric, _unit(result.metric)
    fig = _figure(WIDTH, 3.6)
    axes = fig.subplots(1, len(families), sharey=True, squeeze=False).ravel()
    conditions = list(range(len(result.conditions)))
    colors = [BASELINE_COLOR] if len(conditions) == 1 else list(PALETTE)
    m = result.members
    for ax, (remedy, points) in zip(axes, families.items()):
        for c in conditions:
            rows = table[table["condition"] == c].set_index("arm")
            color = colors[c % len(colors)]
            label = condition_label(result.conditions[c]) if len(conditions) > 1 else None
            if BASELINE in rows.index:
                base = rows.loc[BASELINE]
                ax.axhline(base["score"] * unit, color=color, linestyle="--", linewidth=1.0)
                if np.isfinite(_value(base["score_low"])):
                    ax.axhspan(base["score_low"] * unit, base["score_high"] * unit, color=color,
                               alpha=0.07, linewidth=0)
            got = [(s, rows.loc[a]) for s, a in points if a in rows.index]
            x = [s for s, _ in got]
            mean = np.array([r["score"] for _, r in got]) * unit
            low = np.array([_value(r["score_low"]) for _, r in got]) * unit
            high = np.array([_value(r["score_high"]) for _, r in got]) * unit
            err = np.nan_to_num(np.vstack([mean - low, high - mean]))
            ax.errorbar(x, mean, yerr=err, color=color, marker="none", capsize=3, label=label, linewidth=1.8)
            for s, r in got:
                sig = significance({**r.to_dict(), "arm": r.name})
                face = {"better": BETTER, "worse": WORSE}.get(sig, "white")
                ax.plot(s, r["score"] * unit, "o", markersize=7, markerfacecolor=face,
                        markeredgecolor=color, markeredgewidth=1.6, zorder=3)
            train = [_train_score(m[(m["condition"] == c) & (m["arm"] == r.name)], metric) * unit for _, r in got]
            ax.plot(x, train, color=color, linestyle=":", marker=".", linewidth=1.2, alpha=0.8)
        if remedy.lower() in LOG_REMEDIES and min(s for s, _ in points) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(f"{remedy} strength")
        ax.set_title(remedy, loc="left")
    axes[0].set_ylabel(metric_axis(metric))
    axes[0].set_ylim(*_within_range(axes[0].get_ylim(), metric))
    handles = [Line2D([], [], color="#444444", marker="o", markerfacecolor="white",
                                       label="test (95% CI)"),
               Line2D([], [], color="#444444", linestyle=":", marker=".", label="train"),
               Line2D([], [], color="#444444", linestyle="--", label="baseline test (band: 95% CI)"),
               Line2D([], [], color=BETTER, marker="o", linestyle="none",
                                       label="significantly better"),
               Line2D([], [], color=WORSE, marker="o", linestyle="none", label="significantly worse")]
    if len(conditions) > 1:
        handles += axes[0].get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside right upper")
    return fig


def causes_curve_figure(curve: dict) -> Figure:
    """The causes' learning curve (`goodfit causes --json`'s `learning_curve`): each measured size's mean with its
    90% interval and every member as a faint dot, the fitted power law with its 90% band out to four times the
    data, and what it expects at 2x and 4x marked with their intervals.

    Example:
        >>> fit = {"sizes": [10, 80], "metric": [0.6, 0.9], "low": [0.5, 0.85], "high": [0.7, 0.93]}
        >>> fig = causes_curve_figure({"sizes": [10, 20], "metric": [0.6, 0.7], "low": [0.55, 0.65],
        ...     "high": [0.65, 0.75], "points": [[10, 0.6], [20, 0.7]], "metric_name": "accuracy", "at_2x": 0.8,
        ...     "at_4x": 0.85, "interval_2x": [0.75, 0.84], "interval_4x": [0.78, 0.9], "fit": fit})
        >>> fig.axes[0].get_xlabel()
        'training rows (log scale)'
    """
    metric = METRICS[curve.get("metric_name", "accuracy")]
    unit = _unit(metric)
    fit, sizes = curve["fit"], curve["sizes"]
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, 3.3)
        ax = fig.subplots()
        ax.fill_between(fit["sizes"], np.multiply(fit["low"], unit), np.multiply(fit["high"], unit),
                        color=PALETTE[0], alpha=0.13, linewidth=0, label="power law fitted (90% band)")
        ax.plot(fit["sizes"], np.multiply(fit["metric"], unit), color=PALETTE[0], linewidth=1.6)
        points = np.array(curve.get("points") or [], float).reshape(-1, 2)
        ax.plot(points[:, 0], points[:, 1] * unit, ".", color=MUTED, alpha=0.45, markersize=5, label="one member")
        mean = np.multiply(curve["metric"], unit)
        err = np.vstack([mean - np.multiply(curve["low"], unit), np.multiply(curve["high"], unit) - mean])
        ax.errorbar(sizes, mean, yerr=np.clip(err, 0, None), fmt="o", color=BASELINE_COLOR, capsize=3,
                    label="measured: mean over seeds (90% CI)")
        for times, key in ((2, "2x"), (4, "4x")):
            at, (low, high) = curve[f"at_{key}"] * unit, np.multiply(curve[f"interval_{key}"], unit)
            n = times * sizes[-1]
            ax.errorbar([n], [at], yerr=[[at - low], [high - at]], fmt="D", color=PALETTE[3], capsize=3,
                        markerfacecolor="white", markeredgewidth=1.6, label="expected at 2x and 4x" if times == 2 else None)
            ax.annotate(f"{key}: {metric.value(curve[f'at_{key}'])}", (n, high), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8.5, color=PALETTE[3])
        ax.axvline(sizes[-1], color=MUTED, linestyle=":", linewidth=1.0)
        ax.set_xscale("log")
        ticks = [*sizes, 2 * sizes[-1], 4 * sizes[-1]]
        ax.set_xticks(ticks, [str(n) for n in sizes] + [f"{2 * sizes[-1]}\n(2x)", f"{4 * sizes[-1]}\n(4x)"])
        ax.minorticks_off()
        ax.set_xlabel("training rows (log scale)")
        ax.set_ylabel(metric_axis(metric, "held-out"))
        low, high = ax.get_ylim()
        ax.set_ylim(*_within_range((low, high + 0.06 * (high - low)), metric))  # room for the 2x, 4x labels
        fig.legend(loc="outside right upper")
    return fig


def study_figures(result) -> dict[str, Figure]:
    """The figures of a study, most telling first, each in the metric the study is judged by.

    Keys: `comparison` (the judged metric on the test set per arm with 95% CIs, significant differences
    marked); `data_size` when the conditions have several training-set sizes; `strength` when arms
    sweep a remedy's strength (`dropout=0.1`, `l2=0.0001`, ...); `metric_curves` and `loss_curves`
    (one panel per arm: train and validation over epochs of `curve_metric` and of the loss, mean with a
    min–max band over seeds, the median best epoch and onset marked; a member that stopped early is held
    at its kept weights' values to the end of its arm's curve, drawn lighter); `gap` (of `curve_metric`
    over epochs, all arms, positive where the model overfits). With several conditions the curve
    figures come once per condition, keyed `metric_curves_c0`, `loss_curves_c0`, ...

    Args:
        result: a `StudyResult`.

    Returns:
        Matplotlib figures by key, drawn without pyplot (save them with `fig.savefig`).
    """
    with matplotlib.rc_context(STYLE):
        figures = {"comparison": _comparison_figure(result)}
        sizes = [c.get("train_size") for c in result.conditions]
        if len(sizes) > 1 and all(sizes) and len(set(sizes)) > 1:
            figures["data_size"] = _data_size_figure(result)
        families = sweep_families(result.arm_names)
        if families:
            figures["strength"] = _strength_figure(result, families)
        curves = _curves(result)
        if not curves.empty:
            several = len(result.conditions) > 1
            for c in sorted(curves["condition"].unique()):
                suffix = f"_c{c}" if several else ""
                figures[f"metric_curves{suffix}"] = _curve_panels(result, curves, c, curve_metric(result))
                figures[f"loss_curves{suffix}"] = _curve_panels(result, curves, c, None)
            figures["gap"] = _gap_figure(result, curves)
    return figures
