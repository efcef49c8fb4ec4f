"""The sweep figures of a study: the judged metric against training-set size (conditions of several sizes)
and against a remedy's strength (arms named `remedy=strength`), test with 95% CIs and train beside it.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from goodfit.metrics import Metric
from goodfit.remedies import REGISTRY
from goodfit.report.figures.style import (BASELINE_COLOR, BETTER, PALETTE, SIGNIFICANT, WIDTH, WORSE, arm_styles,
                                          blank_figure, cell_value, drawn_unit, metric_axis, within_range)
from goodfit.report.tables import BASELINE, condition_label, significance
from goodfit.stats import mean_ci

SWEEP = re.compile(r"^(?P<remedy>[A-Za-z_][\w.-]*)=(?P<strength>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$")
LOG_REMEDIES = {name for cls in REGISTRY if cls.log_strength for name in (*cls.words, cls.key)}  # strengths on a log axis


def _train_score(members: pd.DataFrame, metric: Metric) -> float:
    """The members' mean training score of `metric` with the kept weights, NaN where they have none."""
    column = f"train_{metric.name}"
    return float(members[column].mean()) if column in members else np.nan


def data_size_figure(result) -> Figure:
    """Train (dotted) and test (solid, 95% CI) of the judged metric against training-set size, one line per arm."""
    styles = arm_styles(result.arm_names)
    metric, unit = result.metric, drawn_unit(result.metric)
    sizes = [c["train_size"] for c in result.conditions]
    fig = blank_figure(WIDTH, 3.8)
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
    ax.set_ylim(*within_range(ax.get_ylim(), metric))
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


def remedy_strength_figure(result, families: dict[str, list[tuple[float, str]]]) -> Figure:
    """Test (95% CI) and train score of the judged metric against each remedy's strength; the baseline as a band."""
    table = result.table()
    metric, unit = result.metric, drawn_unit(result.metric)
    fig = blank_figure(WIDTH, 3.6)
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
                if np.isfinite(cell_value(base["score_low"])):
                    ax.axhspan(base["score_low"] * unit, base["score_high"] * unit, color=color,
                               alpha=0.07, linewidth=0)
            got = [(s, rows.loc[a]) for s, a in points if a in rows.index]
            x = [s for s, _ in got]
            mean = np.array([r["score"] for _, r in got]) * unit
            low = np.array([cell_value(r["score_low"]) for _, r in got]) * unit
            high = np.array([cell_value(r["score_high"]) for _, r in got]) * unit
            err = np.nan_to_num(np.vstack([mean - low, high - mean]))
            ax.errorbar(x, mean, yerr=err, color=color, marker="none", capsize=3, label=label, linewidth=1.8)
            for s, r in got:
                sig = significance({**r.to_dict(), "arm": r.name})
                face = SIGNIFICANT.get(sig, "white")
                ax.plot(s, r["score"] * unit, "o", markersize=7, markerfacecolor=face,
                        markeredgecolor=color, markeredgewidth=1.6, zorder=3)
            train = [_train_score(m[(m["condition"] == c) & (m["arm"] == r.name)], metric) * unit for _, r in got]
            ax.plot(x, train, color=color, linestyle=":", marker=".", linewidth=1.2, alpha=0.8)
        if remedy.lower() in LOG_REMEDIES and min(s for s, _ in points) > 0:
            ax.set_xscale("log")  # ticks at the swept strengths: the log formatter's TeX would print raw (parse_math off)
            strengths = sorted({s for s, _ in points})
            ax.set_xticks(strengths, [f"{s:g}" for s in strengths])
            ax.minorticks_off()
        ax.set_xlabel(f"{remedy} strength")
        ax.set_title(remedy, loc="left")
    axes[0].set_ylabel(metric_axis(metric))
    axes[0].set_ylim(*within_range(axes[0].get_ylim(), metric))
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
