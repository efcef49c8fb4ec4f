"""A study in a notebook: the results table as the terminal shows it, and the figures as pictures.

`StudyResult._repr_html_` and `StudyResult.plot()` call these; nothing here trains or writes files.
"""
from __future__ import annotations

from html import escape

from matplotlib.figure import Figure

from goodfit.report.figures import SIGNIFICANT, study_figures
from goodfit.report.html import _environment, _png, figure_text
from goodfit.report.tables import BASELINE, MEANINGS, study_table, table_groups

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
        verdicts=[result.verdict_for(c) for c in range(len(result.conditions))], groups=groups,
        several=len(groups) > 1, title=terminal.title, note=terminal.caption,
        headers=[str(c.header) for c in terminal.columns], baseline=BASELINE, colors=COLORS)


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


def study_plot(result) -> Figures:
    """The figures of `study_figures(result)`, with titles, in a `Figures` that a notebook displays."""
    figures = study_figures(result)
    return Figures(figures, {key: figure_text(result, key) for key in figures})
