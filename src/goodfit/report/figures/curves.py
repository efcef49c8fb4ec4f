"""The learning-curve figures of a study: per arm, train and validation of the curve metric and of the loss
over epochs (mean and min–max over seeds, best epoch and onset marked), and the gap over epochs for all arms.

A member that stopped early is held at its kept weights' values to the end of its arm's curve, drawn lighter.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from goodfit.metrics import METRICS, Metric
from goodfit.report.figures.style import BASELINE_COLOR, WIDTH, arm_styles, blank_figure, drawn_unit, within_range
from goodfit.report.tables import BASELINE, condition_label


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


def curve_frame(result) -> pd.DataFrame:
    """The history with each member's condition and arm, members that stopped early held at their kept
    weights' values to the end of their arm's curve (`held`), and the gap of `curve_metric` (positive:
    the model does better on its training subset than on validation)."""
    if result.history is None or result.history.empty:
        return pd.DataFrame()
    keys = result.members[["member", "condition", "arm", "seed"]]
    h = result.history.merge(keys, on="member", how="inner").assign(held=False)
    h = pd.concat([h, _held(h, result.members)], ignore_index=True).sort_values(["member", "epoch"])
    m = curve_metric(result)
    for column in (f"train_{m.name}", f"val_{m.name}"):  # a training function may log one side only
        if column not in h:
            h[column] = np.nan
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
        ax.set_ylim(*within_range((low - pad, high + pad), metric))


def curve_panels(result, curves: pd.DataFrame, condition: int, metric: Metric | None) -> Figure:
    """Small multiples, one panel per arm: train (dashed) and validation (solid) of `metric`, or of the
    loss where `metric` is None."""
    arms = [a for a in result.arm_names if ((curves["condition"] == condition) & (curves["arm"] == a)).any()]
    styles = arm_styles(result.arm_names)
    name, unit = ("loss", 1.0) if metric is None else (metric.name, drawn_unit(metric))
    cols = min(4, len(arms))
    rows = math.ceil(len(arms) / cols)
    fig = blank_figure(WIDTH, 0.55 + 2.25 * rows)
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


def gap_figure(result, curves: pd.DataFrame) -> Figure:
    """The gap of `curve_metric` over epochs (positive: overfitting), every arm on one axis; one panel per condition."""
    conditions = sorted(curves["condition"].unique())
    styles = arm_styles(result.arm_names)
    metric = curve_metric(result)
    fig = blank_figure(WIDTH, 3.6 if len(conditions) == 1 else 3.3)
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        sub = curves[curves["condition"] == c]
        for arm in result.arm_names:
            band = _over_seeds(sub[sub["arm"] == arm], "gap", drawn_unit(metric))
            if band.empty:
                continue
            _plot_mean(ax, band, label=arm, zorder=3 if arm == BASELINE else 2,
                       linewidth=2.4 if arm == BASELINE else 1.6, gid="gap", **styles[arm])
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
    label = gap_axis(metric)
    axes[0].set_ylabel(label.replace("; ", "\n"))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper")
    return fig
