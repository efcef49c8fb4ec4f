"""The comparison figure of a study: the judged metric on the test set per arm with its 95% CI, the baseline's
mean and CI as a reference band, and each arm's difference from the baseline marked by its significance.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from goodfit.report.figures.style import (BASELINE_COLOR, MUTED, SIGNIFICANT, STYLE, WIDTH, arm_styles, blank_figure,
                                          cell_value, drawn_unit, within_range)
from goodfit.report.tables import BASELINE, MARKERS, condition_label, significance


def comparison_figure(result) -> Figure:
    """The judged metric on the test set per arm with 95% CIs; the baseline's mean and CI as a reference band."""
    table = result.table()
    metric, unit = result.metric, drawn_unit(result.metric)
    conditions = list(range(len(result.conditions)))
    styles = arm_styles(result.arm_names)
    arms = [a for a in result.arm_names if a in set(table["arm"])]
    fig = blank_figure(WIDTH, 0.9 + 0.34 * len(arms) + (0.3 if len(conditions) > 1 else 0))
    axes = fig.subplots(1, len(conditions), sharey=True, squeeze=False).ravel()
    for ax, c in zip(axes, conditions):
        rows = table[table["condition"] == c].set_index("arm")
        base = rows.loc[BASELINE] if BASELINE in rows.index else None
        if base is not None and np.isfinite(cell_value(base["score_low"])):
            ax.axvspan(base["score_low"] * unit, base["score_high"] * unit, color="#000000", alpha=0.06)
        if base is not None:
            ax.axvline(base["score"] * unit, color=BASELINE_COLOR, linestyle="--", linewidth=1.0)
        for y, arm in enumerate(arms):
            if arm not in rows.index:
                continue
            r = rows.loc[arm]
            sig = significance({**r.to_dict(), "arm": arm})
            mean = r["score"] * unit
            low = np.nan_to_num(cell_value(r["score_low"]) * unit, nan=mean)
            high = np.nan_to_num(cell_value(r["score_high"]) * unit, nan=mean)
            color = styles[arm]["color"]
            ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="none", ecolor=color, elinewidth=2.0,
                        capsize=3)
            ax.plot(mean, y, "o", markersize=8 if arm == BASELINE else 7, color=color,
                    markerfacecolor=color if sig in ("better", "worse", "baseline") else "white",
                    markeredgewidth=1.8, zorder=3)
            if arm != BASELINE and r["diff"] is not None and np.isfinite(r["diff"]):
                mark = f" {MARKERS[sig]}" if sig in SIGNIFICANT else ""
                ax.annotate(f"{metric.change(r['diff'], unit=False)}{mark}", (1.0, y),
                            xycoords=("axes fraction", "data"),
                            xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
                            color=SIGNIFICANT.get(sig, MUTED), fontweight="bold" if sig in SIGNIFICANT else "normal")
        ax.annotate("Δ points" if metric.percent else f"Δ {metric.label}", (1.0, 1.0), xycoords="axes fraction",
                    xytext=(6, 3), textcoords="offset points", va="bottom", fontsize=8.5, color=MUTED)
        if len(conditions) > 1:
            ax.set_title(condition_label(result.conditions[c]), loc="left")
        ax.set_xlim(*within_range(ax.get_xlim(), metric))
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
