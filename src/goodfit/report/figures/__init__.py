"""Figures of a study, in the metric it is judged by (`StudyResult.metric`: accuracy, balanced accuracy,
RMSE, ...): the test score per arm with 95% CIs, learning curves per arm, the gap over epochs and, for
sweeps, the score against training-set size or remedy strength; the learning rate where it changed; and the
causes' learning curve.

One module per kind of figure: `style` (palette, arm styles, axes), `comparison`, `curves` (learning curves
and the gap), `rate` (the learning rate), `sweeps` (data size and strength), `causes`. Figures are built on
the Agg canvas without pyplot, so nothing lands in pyplot's global state; `report.html` embeds them as PNG.
"""
from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

from goodfit.history.rate import rate_changes
from goodfit.report.figures.causes import causes_curve_figure
from goodfit.report.figures.comparison import comparison_figure
from goodfit.report.figures.curves import curve_frame, curve_metric, curve_panels, gap_axis, gap_figure, loss_label
from goodfit.report.figures.rate import rate_figure
from goodfit.report.figures.style import (BASELINE_COLOR, MUTED, PALETTE, SIGNIFICANT, STYLE, WIDTH, arm_styles,
                                          metric_axis)
from goodfit.report.figures.sweeps import data_size_figure, remedy_strength_figure, sweep_families

__all__ = ["BASELINE_COLOR", "MUTED", "PALETTE", "SIGNIFICANT", "STYLE", "WIDTH", "arm_styles", "causes_curve_figure",
           "curve_metric", "gap_axis", "loss_label", "metric_axis", "study_figures", "sweep_families"]


def study_figures(result) -> dict[str, Figure]:
    """The figures of a study, most telling first, each in the metric the study is judged by.

    Keys: `comparison` (the judged metric on the test set per arm with 95% CIs, significant differences
    marked); `data_size` when the conditions have several training-set sizes; `strength` when arms
    sweep a remedy's strength (`dropout=0.1`, `l2=0.0001`, ...); `metric_curves` and `loss_curves`
    (one panel per arm: train and validation over epochs of `curve_metric` and of the loss, mean with a
    min–max band over seeds, the median best epoch and onset marked; a member that stopped early is held
    at its kept weights' values to the end of its arm's curve, drawn lighter); `gap` (of `curve_metric`
    over epochs, all arms, positive where the model overfits); `rate` when some member's learning rate changed
    over training (one short panel per arm, one line per seed; a constant rate is said with the settings). With
    several conditions the curve figures come once per condition, keyed `metric_curves_c0`, `loss_curves_c0`,
    `rate_c0`, ...

    Args:
        result: a `StudyResult`.

    Returns:
        Matplotlib figures by key, drawn without pyplot (save them with `fig.savefig`).
    """
    with matplotlib.rc_context(STYLE):
        figures = {"comparison": comparison_figure(result)}
        sizes = [c.get("train_size") for c in result.conditions]
        if len(sizes) > 1 and all(sizes) and len(set(sizes)) > 1:
            figures["data_size"] = data_size_figure(result)
        families = sweep_families(result.arm_names)
        if families:
            figures["strength"] = remedy_strength_figure(result, families)
        curves = curve_frame(result)
        if not curves.empty:
            several = len(result.conditions) > 1
            for c in sorted(curves["condition"].unique()):
                suffix = f"_c{c}" if several else ""
                figures[f"metric_curves{suffix}"] = curve_panels(result, curves, c, curve_metric(result))
                figures[f"loss_curves{suffix}"] = curve_panels(result, curves, c, None)
                if rate_changes(curves[curves["condition"] == c]):
                    figures[f"rate{suffix}"] = rate_figure(result, curves, c)
            figures["gap"] = gap_figure(result, curves)
    return figures
