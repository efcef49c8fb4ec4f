"""A study in a notebook: the verdict and results table as the terminal shows them, and the figures as pictures.

`goodfit.show(result)` and `goodfit.plot(result)` are these; nothing here trains or writes files.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from matplotlib.figure import Figure

from goodfit.report.figures import SIGNIFICANT, study_figures
from goodfit.report.html import _environment, _png, figure_text
from goodfit.report.tables import BASELINE, MEANINGS, study_table, table_groups
from goodfit.report.verdict import verdicts

COLORS = {sig: SIGNIFICANT.get(sig, "inherit") for sig in MEANINGS}  # a table cell's colour by significance


def study_html(result) -> str:
    """The verdict and the results table of a study as an HTML fragment, with what the terminal table shows.

    Per arm: the judged metric on the test set with its 95% CI, the difference against the baseline
    with its CI, the Holm-corrected p, ✓ / ✗ / · for significantly better, worse or neither, the gap,
    the best epoch and the diagnosed regime with how many seeds agree; the title, column headers and
    note are the terminal table's, so both name the same metric.
    """
    groups, terminal = table_groups(result), study_table(result)
    return _environment().get_template("notebook.html").render(
        verdicts=verdicts(result), groups=groups, several=len(groups) > 1, title=terminal.title, note=terminal.caption,
        headers=[str(c.header) for c in terminal.columns], baseline=BASELINE, colors=COLORS)


@dataclass(frozen=True)
class Shown:
    """An HTML fragment a notebook shows as such (`_repr_html_`)."""

    html: str

    def _repr_html_(self) -> str:
        return self.html


def show(result) -> Shown:
    """A `StudyResult` as a notebook shows it: each condition's verdict and the results table (`study_html`).

    Example:
        >>> from goodfit import Study
        >>> shown = show(Study("wine", arms=["dropout=0.5"], seeds=2, epochs=2).run())
        >>> "<table>" in shown._repr_html_() and "On wine" in shown.html
        True
    """
    return Shown(study_html(result))


class Figures(dict):
    """A study's figures by key, as `study_figures` returns them; a notebook shows them as titled pictures.

    Each value is a matplotlib `Figure` (save one with `fig.savefig("x.png")`); `titles` holds each
    figure's title and caption as `report.html` prints them.
    """

    def __init__(self, figures: dict[str, Figure], titles: dict[str, tuple[str, str]]):
        super().__init__(figures)
        self.titles = titles

    def _repr_html_(self) -> str:
        parts = []
        for key, fig in self.items():
            title, caption = self.titles[key]
            width = round(fig.get_figwidth() * 100)
            parts.append(f'<figure style="margin: 0 0 1.5em 0"><figcaption><b>{escape(title)}</b> '
                         f'{escape(caption)}</figcaption><img alt="{escape(title)}" width="{width}" '
                         f'style="max-width: 100%" src="data:image/png;base64,{_png(fig)}"></figure>')
        return "\n".join(parts)


def plot(result) -> Figures:
    """The figures of a `StudyResult` (`study_figures`: test scores with CIs, learning curves per arm, the gap over
    epochs, ...), with titles, in a `Figures` that a notebook shows as pictures."""
    figures = study_figures(result)
    return Figures(figures, {key: figure_text(result, key) for key in figures})
