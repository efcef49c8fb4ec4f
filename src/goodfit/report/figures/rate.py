"""The learning-rate figure of a study: per arm, the rate each epoch began with, one line per seed, on a log
scale when it spans more than ten times. `study_figures` draws it only when some member's rate changes.
"""
from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogFormatter, MaxNLocator

from goodfit.history import RATE
from goodfit.history.rate import log_scaled
from goodfit.report.figures.style import BASELINE_COLOR, WIDTH, arm_styles, blank_figure
from goodfit.report.tables import BASELINE


def rate_figure(result, curves: pd.DataFrame, condition: int) -> Figure:
    """Small multiples, one short panel per arm: the learning rate over the epochs each member trained, one
    line per seed (seeds that ran the same schedule draw one line).

    Args:
        result: the `StudyResult`, for its arms.
        curves: `curve_frame(result)`, with the `lr` column.
        condition: which condition's members to draw.

    Returns:
        The figure, drawn without pyplot.
    """
    sub = curves[(curves["condition"] == condition) & ~curves["held"].astype(bool)]  # epochs that ran
    arms = [a for a in result.arm_names if (sub["arm"] == a).any()]
    styles = arm_styles(result.arm_names)
    cols = min(4, len(arms))
    rows = math.ceil(len(arms) / cols)
    fig = blank_figure(WIDTH, 0.3 + 1.6 * rows)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, arm in zip(axes, arms):
        color = styles[arm]["color"]
        for _, member in sub[sub["arm"] == arm].groupby("member"):
            ax.plot(member["epoch"], member[RATE], color=color, linewidth=1.4, alpha=0.75, gid=RATE)
        ax.set_title(arm, loc="left", color=color if arm != BASELINE else BASELINE_COLOR)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    if log_scaled(sub[RATE].to_numpy(float)):
        axes[0].set_yscale("log")
        axes[0].yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))  # 2e-4 between 1e-4 and 1e-3
    else:
        axes[0].set_ylim(bottom=0)
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # plain numbers: the style turns TeX off
    for ax in axes[(rows - 1) * cols:]:
        ax.set_xlabel("epoch")
    for r in range(rows):
        axes[r * cols].set_ylabel("learning rate")
    return fig
