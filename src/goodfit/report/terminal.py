"""The terminal report: a diagnosis as a verdict line, training curves, evidence and ranked advice.

Formats what `diagnose` and `weights` computed (rich for text, plotext for curves); computes nothing.
"""
from __future__ import annotations

import io

import numpy as np
import plotext
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from goodfit.diagnose import Diagnosis
from goodfit.history import History
from goodfit.weights import WeightReport, weights_vs_curves

REGIME_STYLE = {"underfitting": "yellow", "still_improving": "cyan", "good_fit": "green",
                "overfitting": "red", "memorization": "bold red", "diverged": "bold magenta"}
TRAIN_MARKER, VAL_MARKER = "hd", "•"  # train drawn in half blocks, validation in dots: readable without color
MARK_STYLES = {"best": "default", "onset": "dotted"}
MARK_GLYPHS = {"default": "│", "dotted": "┊", "double": "║", "heavy": "┃"}


def _nice_ticks(first: int, last: int, count: int = 6) -> list[int]:
    span = max(1, last - first)
    raw = span / max(1, count - 1)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10**4, 10**5, 10**6)
                if s >= raw)
    ticks = [t for t in range((first // step) * step, last + 1, step) if t >= first]
    return ticks or [first]


def _panel(plot, x: np.ndarray, series: list[tuple[str, np.ndarray, str]], marks: dict, title: str, epochs: tuple):
    legend = []
    values = []
    for label, y, marker in series:
        ok = np.isfinite(y)
        if not ok.any():
            continue
        plot.draw(plot.signal(x[ok].tolist(), y[ok].tolist(), marker=marker).lines())
        legend.append(f"{'▚' if marker == TRAIN_MARKER else marker} {label}")
        values.append(y[ok & (x >= epochs[0] + 0.1 * (epochs[1] - epochs[0]))])  # the first tenth sets no range
    for name, epoch in marks.items():
        if epoch is None:
            continue
        style = MARK_STYLES.get(name, "double")
        plot.line(float(epoch), orientation="v", style=style)
        legend.append(f"{MARK_GLYPHS[style]} {name} {epoch}")
    allv = np.concatenate(values) if values else np.array([])
    if len(allv):
        low, high = float(allv.min()), float(allv.max())
        cap = float(np.median(allv)) * 10 if np.median(allv) > 0 else high
        high = min(high, max(cap, low + 1e-9))  # one exploding epoch must not flatten the rest
        pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
        plot.ruler("y").lim(max(0.0, low - pad) if low >= 0 else low - pad, high + pad)  # losses and accuracies stay >= 0
    plot.ruler("x").lim(epochs[0], epochs[1])
    ticks = _nice_ticks(*epochs)
    plot.ruler("x").ticks(ticks, [str(t) for t in ticks])
    plot.title(f"{title}   " + "   ".join(legend))
    plot.legend(active=False)


def curves_text(history: History, width: int = 80, height: int = 16, marks: dict | None = None,
                member: int | None = None) -> str:
    """Training against validation loss and accuracy over epochs, drawn as plain text.

    One panel for loss and one for accuracy (only those logged), training in half blocks and
    validation in dots, so the plot reads without color; each mark is a vertical line (`best`
    solid, `onset` dotted, others double) named in the panel title. Points a metric did not log
    (validation every N epochs) are skipped. The y range is set by the epochs after the first tenth
    of the run, up to 10x their median, so the steep first epochs and one exploding epoch do not
    flatten the part where overfitting shows.

    Args:
        history: the history to draw.
        width: characters per line. Default 80.
        height: lines in all. Default 16.
        marks: epochs to mark, by name, e.g. `{"best": 14, "onset": 20}`; None values are skipped. Default none.
        member: which member to draw. Default None (the first).

    Returns:
        The plot, `height` lines of at most `width` characters, without color codes.

    Example:
        >>> import pandas as pd
        >>> h = History(pd.DataFrame({"member": 0, "epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4],
        ...                           "val_loss": [1.1, 0.8, 0.9]}))
        >>> text = curves_text(h, width=60, height=10, marks={"best": 2})
        >>> len(text.splitlines()), "best 2" in text
        (10, True)
    """
    m = history.members[0] if member is None else member
    rows = history.frame[history.frame["member"] == m]
    x = rows["epoch"].to_numpy(dtype=float)
    epochs = (int(x.min()), int(max(x.max(), x.min() + 1)))
    has = {c: c in rows and bool(np.isfinite(rows[c].to_numpy(dtype=float)).any())
           for c in ("train_loss", "val_loss", "running_loss", "train_accuracy", "val_accuracy")}
    train_loss = "train_loss" if has["train_loss"] else "running_loss" if has["running_loss"] else None
    panels = []
    if train_loss or has["val_loss"]:
        panels.append(("loss", [("train", train_loss), ("validation", "val_loss" if has["val_loss"] else None)]))
    if has["train_accuracy"] or has["val_accuracy"]:
        panels.append(("accuracy", [("train", "train_accuracy" if has["train_accuracy"] else None),
                                    ("validation", "val_accuracy" if has["val_accuracy"] else None)]))
    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    if len(panels) > 1:
        fig.subplots(len(panels), 1)
    for i, (title, pair) in enumerate(panels, 1):
        plot = fig.subplot(i, 1) if len(panels) > 1 else fig
        series = [(label, rows[col].to_numpy(dtype=float), TRAIN_MARKER if label == "train" else VAL_MARKER)
                  for label, col in pair if col]
        _panel(plot, x, series, marks or {}, title, epochs)
    text = fig.build().string(colorless=True)
    fig.clear()
    return "\n".join(line.rstrip() for line in text.splitlines())


def _verdict(diagnosis: Diagnosis) -> Text:
    d = diagnosis
    line = Text()
    line.append(d.regime.replace("_", " ").upper(), style=REGIME_STYLE.get(d.regime, "bold"))
    if d.onset_epoch is not None:
        line.append(f" since epoch {d.onset_epoch}")
    if d.best_epoch is not None:
        line.append(f" · best epoch {d.best_epoch}")
    line.append(f" · confidence {d.confidence}", style="dim" if d.confidence == "low" else "")
    if d.spread:
        line.append(f" · {d.spread['members']} seeds, {d.spread['agreement']:.0%} agree")
    return line


def _hanging(rows: list[tuple[str, Text]]) -> Table:
    """Bulleted lines whose continuation lines indent under the text, not the bullet."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for bullet, text in rows:
        grid.add_row(bullet, text)
    return grid


def weights_table(report: WeightReport) -> Table:
    """A table of per-layer norms and alpha.

    Example:
        >>> import torch
        >>> from goodfit.weights import weight_stats
        >>> weights_table(weight_stats(torch.nn.Linear(30, 20).state_dict())).row_count
        1
    """
    table = Table(title="weights: alpha 2-6 well trained, < 2 over-trained, > 6 under-trained", title_justify="left")
    for col, justify in (("layer", "left"), ("shape", "left"), ("‖W‖F", "right"), ("‖W‖2", "right"),
                         ("eigs", "right"), ("alpha", "right"), ("reading", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "layer")
    for layer in report.layers:
        table.add_row(layer.name, "x".join(map(str, layer.shape)), f"{layer.frobenius:.3g}", f"{layer.spectral:.3g}",
                      str(layer.eigenvalues), "-" if layer.alpha is None else f"{layer.alpha:.2f}", layer.verdict)
    return table


def diagnosis_renderable(diagnosis: Diagnosis, history: History | None = None, *, weights: WeightReport | None = None,
                         title: str | None = None, width: int = 100) -> Group:
    """A diagnosis as rich renderables: title, verdict line, curves, evidence, ranked advice, weights.

    Args:
        diagnosis: what `diagnose` returned.
        history: the history it judged, to draw its curves. Default None (no curves).
        weights: a `WeightReport` to show beside the verdict, with any disagreement stated. Default None.
        title: a first line, such as the file and its format. Default None.
        width: width of the curves, in characters. Default 100.

    Returns:
        A rich `Group` to print.

    Example:
        >>> d = Diagnosis("good_fit", None, 9, {}, ("flat.",), (), "medium", "val_loss", 10)
        >>> len(diagnosis_renderable(d).renderables)
        4
    """
    d = diagnosis
    parts = [Text(title, style="bold")] if title else []
    parts.append(Text("verdict: ", style="bold") + _verdict(d))
    if history is not None:
        marks = {"best": d.best_epoch, "onset": d.onset_epoch}
        panels = int(any(history.has(c) for c in ("train_loss", "val_loss", "running_loss"))) + \
            int(any(history.has(c) for c in ("train_accuracy", "val_accuracy")))
        parts.append(Text(curves_text(history, width=width, height=12 * max(1, panels), marks=marks)))
    parts.append(Text("evidence", style="bold"))
    parts.append(_hanging([("  •", Text(sentence)) for sentence in d.evidence]))
    parts.append(Text("advice, most promising first", style="bold") if d.advice else
                 Text("advice: nothing to fix", style="bold"))
    if d.advice:
        parts.append(_hanging([(f"  {i}.", Text(a.remedy, style="bold") + Text(f": {a.reason}"))
                               for i, a in enumerate(d.advice, 1)]))
    if weights is not None:
        parts.append(weights_table(weights))
        parts.append(Text(weights_vs_curves(d.regime, weights)))
    return Group(*parts)


def diagnosis_text(diagnosis: Diagnosis, history: History | None = None, *, weights: WeightReport | None = None,
                   title: str | None = None, width: int = 100) -> str:
    """The terminal report as plain text of a fixed width (no color codes), for files and tests.

    Args:
        diagnosis, history, weights, title, width: as for `diagnosis_renderable`.

    Returns:
        The report.

    Example:
        >>> d = Diagnosis("good_fit", None, 9, {}, ("flat.",), (), "medium", "val_loss", 10)
        >>> diagnosis_text(d).splitlines()[0]
        'verdict: GOOD FIT · best epoch 9 · confidence medium'
    """
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, highlight=False)
    console.print(diagnosis_renderable(diagnosis, history, weights=weights, title=title, width=width))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
