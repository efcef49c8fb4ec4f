"""Figures of a study: test accuracy with 95% CIs, learning curves per arm, the gap over epochs and,
for sweeps, accuracy against training-set size or remedy strength.

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
LOG_REMEDIES = ("l2", "decay", "weight_decay", "wd")


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


def _curves(result) -> pd.DataFrame:
    """The history with each member's condition and arm, and the gap (train − validation accuracy)."""
    if result.history is None or result.history.empty:
        return pd.DataFrame()
    keys = result.members[["member", "condition", "arm", "seed"]]
    h = result.history.merge(keys, on="member", how="inner")
    if "val_accuracy" not in h:  # regression: the curves are the losses
        return h.assign(gap=h["val_loss"] - h["train_loss"])
    return h.assign(gap=h["train_accuracy"] - h["val_accuracy"])


def _over_seeds(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per epoch: mean, min and max of `metric` over the seeds that ran that epoch."""
    return frame.groupby("epoch")[metric].agg(["mean", "min", "max"]).dropna(subset=["mean"])


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


def _curve_panels(result, curves: pd.DataFrame, condition: int, metric: str) -> Figure:
    """Small multiples, one panel per arm: train (dashed) and validation (solid) `accuracy` or `loss`."""
    arms = [a for a in result.arm_names if ((curves["condition"] == condition) & (curves["arm"] == a)).any()]
    styles = arm_styles(result.arm_names)
    cols = min(4, len(arms))
    rows = math.ceil(len(arms) / cols)
    fig = _figure(WIDTH, 0.55 + 2.25 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    sub = curves[curves["condition"] == condition]
    for ax, arm in zip(axes, arms):
        frame = sub[sub["arm"] == arm]
        color = styles[arm]["color"]
        for split, line in (("train", "--"), ("val", "-")):
            band = _over_seeds(frame, f"{split}_{metric}")
            ax.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.15, linewidth=0)
            ax.plot(band.index, band["mean"], color=color, linestyle=line, linewidth=1.6 if split == "val" else 1.3)
        members = result.members[(result.members["condition"] == condition) & (result.members["arm"] == arm)]
        best, onset = _markers(members)
        _mark_epochs(ax, best, onset, float(sub["epoch"].max()))
        ax.set_title(arm, loc="left", color=color if arm != BASELINE else BASELINE_COLOR)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    low, high = _visible_range(sub, [f"train_{metric}", f"val_{metric}"],
                               result.members[result.members["condition"] == condition])
    if metric == "accuracy":
        axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if np.isfinite(low):
            axes[0].set_ylim(max(0.0, low - 0.1 * (1 - low) - 0.01), 1.005)
    elif np.isfinite(high):
        axes[0].set_ylim(0, high * 1.15)
    for ax in axes[(rows - 1) * cols:]:
        ax.set_xlabel("epoch")
    for r in range(rows):
        axes[r * cols].set_ylabel("accuracy" if metric == "accuracy" else "cross-entropy loss")
    fig.legend(handles=[Line2D([], [], color="#444444", linestyle="-", label="validation"),
                        Line2D([], [], color="#444444", linestyle="--", label="train (eval mode)"),
                        Patch(color="#444444", alpha=0.2, label="min–max over seeds"),
                        Line2D([], [], color="#555555", linewidth=1, label="best epoch (median)"),
                        Line2D([], [], color="#555555", linewidth=1, linestyle="--",
                                                label="overfitting onset (median)")],
               loc="outside upper left", ncols=5)
    return fig


def _gap_figure(result, curves: pd.DataFrame) -> Figure:
    """Train − validation accuracy over epochs, every arm on one axis; one panel per condition."""
    conditions = sorted(curves["condition"].unique())
    styles = arm_styles(result.arm_names)
    fig = _figure(WIDTH, 3.6 if len(conditions) == 1 else 3.3)
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        sub = curves[curves["condition"] == c]
        for arm in result.arm_names:
            band = _over_seeds(sub[sub["arm"] == arm], "gap")
            if band.empty:
                continue
            ax.plot(band.index, band["mean"] * 100, label=arm, zorder=3 if arm == BASELINE else 2,
                    linewidth=2.4 if arm == BASELINE else 1.6, **styles[arm])
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xlabel("epoch")
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
    axes[0].set_ylabel("train − validation accuracy (points)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper")
    return fig


def _comparison_figure(result) -> Figure:
    """Test accuracy per arm with 95% CIs; the baseline's mean and CI as a reference band."""
    table = result.table()
    conditions = list(range(len(result.conditions)))
    styles = arm_styles(result.arm_names)
    arms = [a for a in result.arm_names if a in set(table["arm"])]
    fig = _figure(WIDTH, 0.9 + 0.34 * len(arms) + (0.3 if len(conditions) > 1 else 0))
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        rows = table[table["condition"] == c].set_index("arm")
        base = rows.loc[BASELINE] if BASELINE in rows.index else None
        if base is not None and np.isfinite(_value(base["test_accuracy_low"])):
            ax.axvspan(base["test_accuracy_low"] * 100, base["test_accuracy_high"] * 100, color="#000000", alpha=0.06)
        if base is not None:
            ax.axvline(base["test_accuracy"] * 100, color=BASELINE_COLOR, linestyle="--", linewidth=1.0)
        for y, arm in enumerate(arms):
            if arm not in rows.index:
                continue
            r = rows.loc[arm]
            sig = significance({**r.to_dict(), "arm": arm})
            mean = r["test_accuracy"] * 100
            low = np.nan_to_num(_value(r["test_accuracy_low"]) * 100, nan=mean)
            high = np.nan_to_num(_value(r["test_accuracy_high"]) * 100, nan=mean)
            color = styles[arm]["color"]
            ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="none", ecolor=color, elinewidth=2.0,
                        capsize=3)
            ax.plot(mean, y, "o", markersize=8 if arm == BASELINE else 7, color=color,
                    markerfacecolor=color if sig in ("better", "worse", "baseline") else "white",
                    markeredgewidth=1.8, zorder=3)
            if arm != BASELINE and r["diff"] is not None and np.isfinite(r["diff"]):
                mark = {"better": " ✓", "worse": " ✗", "alarm": " !"}.get(sig, "")
                ax.annotate(f"{r['diff'] * 100:+.1f}{mark}", (1.0, y), xycoords=("axes fraction", "data"),
                            xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
                            color={"better": BETTER, "worse": WORSE, "alarm": WORSE}.get(sig, MUTED),
                            fontweight="bold" if sig in ("better", "worse", "alarm") else "normal")
        ax.annotate("Δ points", (1.0, 1.0), xycoords="axes fraction", xytext=(6, 3), textcoords="offset points",
                    va="bottom", fontsize=8.5, color=MUTED)
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
        low, high = ax.get_xlim()
        ax.set_xlim(max(low, -0.01 * (high - low)), min(high, 100 + 0.01 * (high - low)))  # accuracy lives in [0, 100]
    label = "test accuracy (%), mean and 95% CI over seeds"
    fig.supxlabel(label, fontsize=STYLE["axes.labelsize"]) if len(conditions) > 1 else axes[0].set_xlabel(label)
    axes[0].set_yticks(range(len(arms)), arms)
    axes[0].set_ylim(len(arms) - 0.5, -0.5)
    for label in axes[0].get_yticklabels():
        if label.get_text() == BASELINE:
            label.set_fontweight("bold")
    fig.get_layout_engine().set(w_pad=0.35)
    return fig


def _data_size_figure(result) -> Figure:
    """Train (dashed) and test (solid, 95% CI) accuracy against training-set size, one line per arm."""
    styles = arm_styles(result.arm_names)
    sizes = [c["train_size"] for c in result.conditions]
    fig = _figure(WIDTH, 3.8)
    ax = fig.subplots()
    m = result.members
    for arm in result.arm_names:
        test, train = [], []
        for c, n in enumerate(sizes):
            g = m[(m["condition"] == c) & (m["arm"] == arm)]
            if not g.empty:
                test.append((n, mean_ci(g["test_accuracy"])))
                train.append((n, float(g["train_accuracy"].mean())))
        if not test:
            continue
        x = [n for n, _ in test]
        mean = np.array([ci.mean for _, ci in test]) * 100
        err = np.array([[ci.mean - (ci.low if ci.low is not None else ci.mean) for _, ci in test],
                        [(ci.high if ci.high is not None else ci.mean) - ci.mean for _, ci in test]]) * 100
        ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, label=arm,
                    linewidth=2.4 if arm == BASELINE else 1.6, **styles[arm])
        ax.plot([n for n, _ in train], [v * 100 for _, v in train], color=styles[arm]["color"], linestyle=":",
                linewidth=1.2, marker=".", alpha=0.8)
    if max(sizes) / min(sizes) >= 4:
        ax.set_xscale("log")
    ax.set_xticks(sorted(set(sizes)), [str(n) for n in sorted(set(sizes))])
    ax.minorticks_off()
    ax.set_xlabel("training samples")
    ax.set_ylabel("accuracy (%)")
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
    """Test accuracy (95% CI) and train accuracy against each remedy's strength; the baseline as a band."""
    table = result.table()
    fig = _figure(WIDTH, 3.6)
    axes = fig.subplots(1, len(families), sharey=True, squeeze=False).ravel()
    conditions = list(range(len(result.conditions)))
    colors = [BASELINE_COLOR] if len(conditions) == 1 else list(PALETTE)
    for ax, (remedy, points) in zip(axes, families.items()):
        for c in conditions:
            rows = table[table["condition"] == c].set_index("arm")
            color = colors[c % len(colors)]
            label = condition_label(result.conditions[c]) if len(conditions) > 1 else None
            if BASELINE in rows.index:
                base = rows.loc[BASELINE]
                ax.axhline(base["test_accuracy"] * 100, color=color, linestyle="--", linewidth=1.0)
                if np.isfinite(_value(base["test_accuracy_low"])):
                    ax.axhspan(base["test_accuracy_low"] * 100, base["test_accuracy_high"] * 100, color=color,
                               alpha=0.07, linewidth=0)
            got = [(s, rows.loc[a]) for s, a in points if a in rows.index]
            x = [s for s, _ in got]
            mean = np.array([r["test_accuracy"] for _, r in got]) * 100
            low = np.array([_value(r["test_accuracy_low"]) for _, r in got]) * 100
            high = np.array([_value(r["test_accuracy_high"]) for _, r in got]) * 100
            err = np.nan_to_num(np.vstack([mean - low, high - mean]))
            ax.errorbar(x, mean, yerr=err, color=color, marker="none", capsize=3, label=label, linewidth=1.8)
            for s, r in got:
                sig = significance({**r.to_dict(), "arm": r.name})
                face = {"better": BETTER, "worse": WORSE}.get(sig, "white")
                ax.plot(s, r["test_accuracy"] * 100, "o", markersize=7, markerfacecolor=face,
                        markeredgecolor=color, markeredgewidth=1.6, zorder=3)
            ax.plot(x, [r["train_accuracy"] * 100 for _, r in got], color=color, linestyle=":", marker=".",
                    linewidth=1.2, alpha=0.8)
        if remedy.lower() in LOG_REMEDIES and min(s for s, _ in points) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(f"{remedy} strength")
        ax.set_title(remedy, loc="left")
    axes[0].set_ylabel("accuracy (%)")
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


def study_figures(result) -> dict[str, Figure]:
    """The figures of a study, most telling first.

    Keys: `test_accuracy` (per arm with 95% CIs, significant differences marked); `data_size`
    when the conditions have several training-set sizes; `strength` when arms sweep a remedy's
    strength (`dropout=0.1`, `l2=0.0001`, ...); `accuracy_curves` and `loss_curves` (one panel
    per arm: train and validation over epochs, mean with a min–max band over seeds, the median
    best epoch and onset marked); `gap` (train − validation accuracy over epochs, all arms).
    With several conditions the curve figures come once per condition, keyed `accuracy_curves_c0`,
    `loss_curves_c0`, ...

    Args:
        result: a `StudyResult`.

    Returns:
        Matplotlib figures by key, drawn without pyplot (save them with `fig.savefig`).
    """
    with matplotlib.rc_context(STYLE):
        if result.dataset.get("task") == "regression":  # the accuracy figures have no counterpart yet
            curves = _curves(result)
            several = len(result.conditions) > 1
            return {} if curves.empty else {
                f"loss_curves{f'_c{c}' if several else ''}": _curve_panels(result, curves, c, "loss")
                for c in sorted(curves["condition"].unique())}
        figures = {"test_accuracy": _comparison_figure(result)}
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
                figures[f"accuracy_curves{suffix}"] = _curve_panels(result, curves, c, "accuracy")
                figures[f"loss_curves{suffix}"] = _curve_panels(result, curves, c, "loss")
            figures["gap"] = _gap_figure(result, curves)
    return figures
