"""The look every figure of a report shares: the palette, each arm's colour and line style, the matplotlib
style, the figure width, a blank Agg figure, and how a metric's values and axis labels are drawn.

Figures are built on the Agg canvas without pyplot, so nothing lands in pyplot's global state.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from goodfit.metrics import Metric
from goodfit.report.tables import BASELINE

# Okabe & Ito's palette, distinguishable under the common colour-vision deficiencies; its yellow
# is darkened to read on white. The baseline is near-black; more than seven arms reuse colours
# with dashed lines.
BASELINE_COLOR = "#222222"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#B8A100")
BETTER, WORSE, MUTED = "#007A55", "#C04A00", "#6B6B6B"
SIGNIFICANT = {"better": BETTER, "worse": WORSE, "alarm": WORSE}  # a significance drawn in colour; the rest muted
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


def cell_value(x) -> float:
    """A table cell as a float; None (no interval from one seed) becomes NaN."""
    return np.nan if x is None else float(x)


def blank_figure(width: float, height: float) -> Figure:
    """An empty figure of `width` by `height` inches on its own Agg canvas, with constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def drawn_unit(metric: Metric) -> float:
    """What a value is multiplied by to be drawn: 100 for a percentage (differences in points), else 1."""
    return 100.0 if metric.percent else 1.0


def metric_axis(metric: Metric, what: str = "") -> str:
    """An axis label that names the metric and its unit, and says so where lower is better.

    Example:
        >>> from goodfit.metrics import METRICS
        >>> metric_axis(METRICS["accuracy"], "test"), metric_axis(METRICS["rmse"], "test")
        ('test accuracy (%)', 'test RMSE (lower is better)')
    """
    return f"{what} {metric.label}".strip() + (" (%)" if metric.percent else "" if metric.higher_is_better
                                               else " (lower is better)")


def within_range(limits: tuple[float, float], metric: Metric) -> tuple[float, float]:
    """Axis limits (in drawn units) cut to what the metric can take, with 1% of the span to spare."""
    low, high = limits
    spare = 0.01 * (high - low)
    if metric.low is not None:
        low = max(low, metric.low * drawn_unit(metric) - spare)
    if metric.high is not None:
        high = min(high, metric.high * drawn_unit(metric) + spare)
    return low, high
