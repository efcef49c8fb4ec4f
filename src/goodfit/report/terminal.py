"""The terminal report: a diagnosis as a verdict line, training curves, evidence and ranked advice.

Formats what `diagnose` and `weights` computed (rich for text, its own text charts); computes nothing.
"""
from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from goodfit.diagnose import Diagnosis
from goodfit.history import RATE, SCORE_WORDS, History
from goodfit.history.rate import log_scaled, rate_changes
from goodfit.weights import WeightReport, weights_vs_curves

REGIME_STYLE = {"underfitting": "yellow", "still_improving": "cyan", "good_fit": "green",
                "overfitting": "red", "memorization": "bold red", "diverged": "bold magenta"}
TRAIN_MARKER, VAL_MARKER = "hd", "•"  # train drawn in half blocks, validation in dots: readable without color
TRAIN_LEGEND = "▀▄"  # what the half blocks look like, for the legend
ABOVE, BELOW = "↑", "↓"  # a point outside the y range, drawn at the edge it passed
MARK_STYLES = {"best": "default", "onset": "dotted"}
MARK_GLYPHS = {"default": "│", "dotted": "┊", "double": "║", "heavy": "┃"}
SPARK = "▁▂▃▄▅▆▇█"  # the learning rate's line, lowest to highest


def _nice_ticks(first: int, last: int, count: int = 6) -> list[int]:
    span = max(1, last - first)
    raw = span / max(1, count - 1)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10**4, 10**5, 10**6)
                if s >= raw)
    ticks = [t for t in range((first // step) * step, last + 1, step) if t >= first]
    return ticks or [first]


def _y_range(values: np.ndarray, x: np.ndarray, epochs: tuple[int, int], bounded: bool) -> tuple[float, float]:
    """The y range of a panel: the epochs after the first tenth, up to 10x their median, padded 5%.

    The steep first epochs and one exploding epoch must not flatten the part where overfitting
    shows. A `bounded` quantity (accuracy) cannot explode: all its epochs set the range, which stays
    within [0, 1].
    """
    start = epochs[0] if bounded else epochs[0] + 0.1 * (epochs[1] - epochs[0])
    late = values[np.isfinite(values) & (x >= start)]
    if not len(late):
        late = values[np.isfinite(values)]
    low, high = float(late.min()), float(late.max())
    med = float(np.median(late))
    if med > 0:
        high = min(high, max(10 * med, low))
    pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    low = max(0.0, low - pad) if low >= 0 else low - pad  # losses and accuracies stay >= 0
    high = min(1.0, high + pad) if bounded and high <= 1.0 else high + pad  # an accuracy axis never passes 1
    if not np.isfinite(high - low) or high - low <= 0:  # values near the float limits
        low, high = low, low + max(abs(low), 1.0)
        if not np.isfinite(high - low):
            low, high = -1e300, 1e300
    return low, high


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _off_chart(label: str, panel: str, x: np.ndarray, y: np.ndarray, low: float, high: float) -> list[str]:
    """One note per kind of point the panel cannot show: infinite, or above or below its range.

    The first epochs often start above the range, by design (see `_y_range`); they are drawn as
    `ABOVE` at the top edge, and the note gives the farthest one's value.
    """
    notes = []
    name = f"{label} {panel}"
    for what, hit in (("is infinite", np.isinf(y)), ("is above the chart", np.isfinite(y) & (y > high)),
                      ("is below the chart", np.isfinite(y) & (y < low))):
        idx = np.flatnonzero(hit)
        if not len(idx):
            continue
        k = idx[np.argmax(np.abs(np.where(np.isfinite(y[idx]), y[idx], 0)))] if what != "is infinite" else idx[0]
        where = f"at epoch {int(x[k])}" if len(idx) == 1 else f"at {len(idx)} epochs (farthest: epoch {int(x[k])}"
        value = "" if what == "is infinite" else (f" ({_fmt(y[k])})" if len(idx) == 1 else f", {_fmt(y[k])})")
        shown = ("not drawn" if what == "is infinite" else
                 f"drawn as {ABOVE if 'above' in what else BELOW} at the edge")
        notes.append(f"note: {name} {what} {where}{value}; {shown}.")
    return notes


def _panel(x: np.ndarray, series: list[tuple[str, np.ndarray, str]], marks: dict, title: str, epochs: tuple,
           width: int, height: int, left: int = 0) -> tuple[list[str], list[str], int]:
    """One chart as lines of text, its notes on points it cannot show, and the width of its y labels.

    `left` is the least width of the y labels, so that stacked panels line up.

    Training is drawn in half blocks (two pixels a cell), validation in dots; marks are vertical lines.
    Pure numpy and string work: any float, infinite or NaN, gives a chart, never a crash.
    """
    drawn = [(label, y, marker) for label, y, marker in series if np.isfinite(y).any()]
    values = np.concatenate([y for _, y, _ in drawn]) if drawn else np.array([0.0, 1.0])
    xs_all = np.concatenate([x for _ in drawn]) if drawn else np.array([epochs[0], epochs[1]], dtype=float)
    low, high = _y_range(values, xs_all, epochs, bounded=title == "accuracy")
    ticks_y = np.linspace(high, low, 4)
    labels_y = [_fmt(v) for v in ticks_y]
    left = max(left, *(len(t) for t in labels_y))
    rows, cols = max(2, height - 4), max(8, width - left - 2)
    grid = [[" "] * cols for _ in range(rows)]
    span_x = max(1e-9, epochs[1] - epochs[0])

    def column(e: float) -> int:
        return int(round((e - epochs[0]) / span_x * (cols - 1)))

    notes: list[str] = []
    for label, y, marker in drawn:
        notes += _off_chart(label, title, x, y, low, high)
        ok = np.isfinite(y)
        xs, ys = x[ok], np.clip(y[ok], low, high)
        clipped = [(column(float(e)), ABOVE if v > high else BELOW) for e, v in zip(xs, y[ok]) if v > high or v < low]
        first, last = column(xs.min()), column(xs.max())
        centers = epochs[0] + np.arange(first, last + 1) / max(1, cols - 1) * span_x
        yc = np.interp(centers, xs, ys)  # the curve at each column's center
        sub = (yc - low) / (high - low) * (2 * rows - 1)  # half-cell pixels from the bottom
        for i, c in enumerate(range(first, last + 1)):
            if marker == VAL_MARKER:
                r = rows - 1 - int(round(sub[i])) // 2
                grid[r][c] = VAL_MARKER
                continue
            lo = min(sub[i], (sub[i] + sub[max(0, i - 1)]) / 2, (sub[i] + sub[min(len(sub) - 1, i + 1)]) / 2)
            hi = max(sub[i], (sub[i] + sub[max(0, i - 1)]) / 2, (sub[i] + sub[min(len(sub) - 1, i + 1)]) / 2)
            for p in range(int(round(lo)), int(round(hi)) + 1):
                r, top = rows - 1 - p // 2, p % 2 == 1
                cell = grid[r][c]
                has_top = top or cell in ("▀", "█")
                has_bottom = (not top) or cell in ("▄", "█")
                grid[r][c] = "█" if has_top and has_bottom else "▀" if has_top else "▄"
        for c, arrow in clipped:  # the edge a point passed, so a clipped curve never reads as a flat one
            grid[0 if arrow == ABOVE else rows - 1][c] = arrow
    legend = [f"{TRAIN_LEGEND if marker == TRAIN_MARKER else marker} {label}" for label, _, marker in drawn]
    bottom = ["─"] * cols
    for name, epoch in marks.items():
        if epoch is None or not epochs[0] <= epoch <= epochs[1]:
            continue
        glyph = MARK_GLYPHS[MARK_STYLES.get(name, "double")]
        c = column(float(epoch))
        if 0 < c < cols - 1:  # at the first or last column the chart's border already stands there
            for r in range(rows):
                if grid[r][c] == " ":
                    grid[r][c] = glyph
        bottom[c] = "┴"
        legend.append(f"{glyph} {name} {epoch}")
    ticks_x = _nice_ticks(*epochs)
    axis = [" "] * (cols + 1)
    for t in ticks_x:
        c = column(float(t))
        bottom[c] = "┼" if bottom[c] == "┴" else "┬"
        text = str(t)
        start = min(max(0, c - len(text) // 2), cols + 1 - len(text))
        if all(ch == " " for ch in axis[max(0, start - 1):start + len(text) + 1]):
            axis[start:start + len(text)] = list(text)
    label_rows = {int(round(i * (rows - 1) / (len(labels_y) - 1))): t for i, t in enumerate(labels_y)}
    head = f"{title}   " + "   ".join(legend)
    lines = [" " * max(0, (width - len(head)) // 2) + head, " " * left + "┌" + "─" * cols + "┐"]
    for r in range(rows):
        tick = label_rows.get(r)
        lines.append((tick.rjust(left) + "┤" if tick else " " * left + "│") + "".join(grid[r]) + "│")
    lines.append(" " * left + "└" + "".join(bottom) + "┘")
    lines.append(" " * (left + 1) + "".join(axis))
    return [line.rstrip() for line in lines], notes, left


def _rate_line(x: np.ndarray, rates: np.ndarray, width: int) -> str:
    """The learning rate in one line of at most `width` characters: its first value, a peak or trough between
    the ends, its last value, then a sparkline of one glyph an epoch (fewer where the line would be too long).

    Example:
        >>> _rate_line(np.arange(1.0, 7), np.array([3e-4, 7e-4, 1e-3, 8e-4, 5e-4, 1e-4]), 80)
        'learning rate: 0.0003 → 0.001 (epoch 3) → 0.0001   ▃▆█▆▄▁'
    """
    ok = np.isfinite(rates)
    x, rates = x[ok], rates[ok]
    last = len(rates) - 1
    low, high = sorted((rates[0], rates[last]))
    turns = [i for i in (int(np.argmax(rates)), int(np.argmin(rates))) if 0 < i < last and not low <= rates[i] <= high]
    words = " → ".join(_fmt(rates[i]) + (f" (epoch {int(x[i])})" if i in turns else "") for i in [0, *sorted(turns), last])
    log = log_scaled(rates)
    head, tail = f"learning rate: {words}   ", " (log scale)" if log else ""
    columns = max(4, min(len(rates), width - len(head) - len(tail)))
    drawn = rates[np.round(np.linspace(0, last, columns)).astype(int)]
    level = np.log10(drawn) if log else drawn
    span = float(level.max() - level.min()) or 1.0
    return head + "".join(SPARK[int(round(v))] for v in (level - level.min()) / span * (len(SPARK) - 1)) + tail


def curves_text(history: History, width: int = 80, height: int = 16, marks: dict | None = None,
                member: int | None = None) -> str:
    """Training against validation loss and accuracy over epochs, drawn as plain text.

    One panel for loss and one for the secondary score (`History.score`: accuracy, or a regression
    log's R², RMSE or MAE, named so; only those logged), training in half blocks and
    validation in dots, so the plot reads without color; each mark is a vertical line (`best`
    solid, `onset` dotted, others double) named in the panel title. Points a metric did not log
    (validation every N epochs) are skipped. The y range is set by the epochs after the first tenth
    of the run, up to 10x their median, so the steep first epochs and one exploding epoch do not
    flatten the part where overfitting shows; points outside it are drawn as ↑ (↓) at the edge
    they passed and infinite ones left out, each kind with a note line under the chart. An accuracy
    axis stays within [0, 1]. When the member's learning rate changed, one line under the panels draws it
    (`learning rate: 0.0003 → 0.001 (epoch 3) → 0.0001   ▃▆█▆▄▁`); a constant rate adds nothing.

    Args:
        history: the history to draw.
        width: characters per line. Default 80.
        height: lines of the panels, in all (notes come on top of that). Default 16.
        marks: epochs to mark, by name, e.g. `{"best": 14, "onset": 20}`; None values are skipped. Default none.
        member: which member to draw. Default None (the first).

    Returns:
        The plot, `height` lines of at most `width` characters, the learning rate's line where it changed,
        and any notes (which may be longer; the terminal report wraps them), without color codes.

    Example:
        >>> import pandas as pd
        >>> h = History(pd.DataFrame({"member": 0, "epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4],
        ...                           "val_loss": [1.1, 0.8, 0.9]}))
        >>> text = curves_text(h, width=60, height=10, marks={"best": 2})
        >>> lines = text.splitlines()
        >>> len(lines), "best 2" in text, lines[-1]
        (12, True, 'note: validation loss is above the chart at epoch 1 (1.1); drawn as ↑ at the edge.')
    """
    m = history.members[0] if member is None else member
    rows = history.frame[history.frame["member"] == m]
    x = rows["epoch"].to_numpy(dtype=float)
    epochs = (int(x.min()), int(max(x.max(), x.min() + 1)))
    score = history.member(m).score
    scored = (f"train_{score}", f"val_{score}") if score else ()
    has = {c: c in rows and bool(np.isfinite(rows[c].to_numpy(dtype=float)).any())
           for c in ("train_loss", "val_loss", "running_loss") + scored}
    train_loss = "train_loss" if has["train_loss"] else "running_loss" if has["running_loss"] else None
    panels = []
    if train_loss or has["val_loss"]:
        panels.append(("loss", [("train", train_loss), ("validation", "val_loss" if has["val_loss"] else None)]))
    if score:
        panels.append((SCORE_WORDS[score], [("train", scored[0] if has[scored[0]] else None),
                                            ("validation", scored[1] if has[scored[1]] else None)]))
    lines: list[str] = []
    notes: list[str] = []
    charts = [(title, [(label, rows[col].to_numpy(dtype=float), TRAIN_MARKER if label == "train" else VAL_MARKER)
                       for label, col in pair if col]) for title, pair in panels]
    left = max([_panel(x, series, {}, title, epochs, width, 4)[2] for title, series in charts] or [0])
    for i, (title, series) in enumerate(charts):
        share = height // len(panels) + (i < height % len(panels))
        drawn, said, _ = _panel(x, series, marks or {}, title, epochs, width, share, left)
        lines += drawn
        notes += said
    if rate_changes(rows):
        lines.append(_rate_line(x, rows[RATE].to_numpy(dtype=float), width))
    return "\n".join(lines + notes)


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
        panels = int(any(history.has(c) for c in ("train_loss", "val_loss", "running_loss"))) + int(history.score is not None)
        parts.append(Text(curves_text(history, width=width, height=11 * max(1, panels), marks=marks)))
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
