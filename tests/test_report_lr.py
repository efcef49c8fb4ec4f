"""The schedule that ran, in the report: a learning-rate panel per arm in report.html and one line under the
terminal's curves, when some member's rate changed; nothing when every member's rate stayed the same.

Studies are built by hand (tests/test_report.py's synthetic results, with an `lr` column), so nothing trains.
"""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from goodfit.diagnose import diagnose
from goodfit.history import RATE, History
from goodfit.report import html
from goodfit.report.figures import study_figures
from goodfit.report.terminal import curves_text, diagnosis_text
from test_report import Page, make_result, small_pngs  # noqa: F401 - small_pngs: autouse, figures at low resolution

EPOCHS = 12


def cosine(epochs: int, top: float, floor: float = 0.0) -> np.ndarray:
    """The rate CosineAnnealingLR gives each epoch as it opens, from `top` towards `floor`."""
    return floor + (top - floor) * (1 + np.cos(np.pi * np.arange(epochs) / epochs)) / 2


def with_rates(result, rate_of, stopped: dict[str, int] | None = None):
    """`result` with each member's rate (`rate_of(arm)`: one per epoch) and members in `stopped` cut short there."""
    stopped = stopped or {}
    arms = {r["member"]: r["arm"] for r in result.records}
    history = pd.concat([rows.assign(**{RATE: rate_of(arms[m])[:len(rows)]})
                         for m, rows in result.history.groupby("member", sort=False)], ignore_index=True)
    history = history[[e <= stopped.get(m, EPOCHS) for m, e in zip(history["member"], history["epoch"])]]
    records = [{**r, "stopped_epoch": stopped.get(r["member"]), "best_epoch": min(r["best_epoch"], stopped.get(r["member"], EPOCHS))}
               for r in result.records]
    return dataclasses.replace(result, records=records, history=history.reset_index(drop=True))


@pytest.fixture(scope="module")
def plain():
    return make_result(arms=("baseline", "dropout"), seeds=2, epochs=EPOCHS)


def test_the_report_draws_a_rate_panel_per_arm_when_the_rate_changes(plain):
    result = with_rates(plain, lambda arm: cosine(EPOCHS, 1e-3))
    figures = study_figures(result)
    assert list(figures) == ["comparison", "metric_curves", "loss_curves", "rate", "gap"]
    titles = [ax.get_title(loc="left") for ax in figures["rate"].axes if ax.get_visible()]
    assert titles == ["baseline", "dropout"]
    page = Page(html.render_html(result))
    assert page.find("figure", id="fig-rate") and "Learning rate." in "".join(page.text)


@pytest.mark.parametrize("rate_of", [lambda arm: np.full(EPOCHS, 1e-3),
                                     lambda arm: np.full(EPOCHS, 1e-2 if arm == "dropout" else 1e-3)],
                         ids=["one rate for all", "a rate per arm"])
def test_no_rate_panel_when_every_members_rate_stays_the_same(plain, rate_of):
    result = with_rates(plain, rate_of)
    assert "rate" not in study_figures(result)
    assert not Page(html.render_html(result)).find("figure", id="fig-rate")


@pytest.mark.parametrize("floor, scale", [(1e-5, "log"), (2e-4, "linear")])
def test_the_rate_axis_is_logarithmic_when_it_spans_more_than_ten_times(plain, floor, scale):
    figure = study_figures(with_rates(plain, lambda arm: cosine(EPOCHS, 1e-3, floor)))["rate"]
    assert figure.axes[0].get_yscale() == scale


def test_each_seed_is_drawn_over_the_epochs_it_trained_not_held_past_its_stop(plain):
    result = with_rates(plain, lambda arm: cosine(EPOCHS, 1e-3), stopped={"0/dropout/1": 7})
    ax = next(a for a in study_figures(result)["rate"].axes if a.get_title(loc="left") == "dropout")
    lines = [line for line in ax.get_lines() if line.get_gid() == RATE]
    assert sorted(len(line.get_xdata()) for line in lines) == [7, EPOCHS]
    for line in lines:
        np.testing.assert_allclose(line.get_ydata(), cosine(EPOCHS, 1e-3)[:len(line.get_xdata())])


def history_with(rates) -> History:
    e = np.arange(1, EPOCHS + 1)
    frame = pd.DataFrame({"member": 0, "epoch": e, "train_loss": 1 / e, "val_loss": 1 / e + 0.01 * e})
    return History(frame if rates is None else frame.assign(**{RATE: rates}))


def test_the_terminal_says_the_rate_in_one_line_under_the_curves_when_it_changes():
    rates = np.concatenate([[2.5e-4, 5e-4, 7.5e-4], cosine(EPOCHS - 3, 1e-3, 1e-6)])  # warm-up, then cosine
    text = curves_text(history_with(rates), width=80, height=12)
    said = [line for line in text.splitlines() if line.startswith("learning rate: ")]
    assert said == [said[0]] and len(said[0]) <= 80
    assert said[0].startswith("learning rate: 0.00025 → 0.001 (epoch 4) → ") and said[0].endswith(" (log scale)")
    assert text.splitlines().index(said[0]) == 12  # right under the panels
    assert "learning rate: " in diagnosis_text(diagnose(history_with(rates)), history_with(rates))


@pytest.mark.parametrize("rates", [None, np.full(EPOCHS, 1e-3)])
def test_the_terminal_says_nothing_of_a_constant_or_absent_rate(rates):
    plain = curves_text(history_with(None), width=80, height=12)
    assert curves_text(history_with(rates), width=80, height=12) == plain and "learning rate" not in plain
