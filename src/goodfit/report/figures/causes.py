"""The causes' learning-curve figure (`goodfit causes`): the held-out metric against training rows, measured and
extrapolated by a fitted power law to twice and four times the data.
"""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from goodfit.metrics import METRICS
from goodfit.report.figures.style import (BASELINE_COLOR, MUTED, PALETTE, STYLE, WIDTH, blank_figure, drawn_unit,
                                          metric_axis, within_range)


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
    unit = drawn_unit(metric)
    fit, sizes = curve["fit"], curve["sizes"]
    with matplotlib.rc_context(STYLE):
        fig = blank_figure(WIDTH, 3.3)
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
        ax.set_ylim(*within_range((low, high + 0.06 * (high - low)), metric))  # room for the 2x, 4x labels
        fig.legend(loc="outside right upper")
    return fig
