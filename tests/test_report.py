"""The study report: report.html's structure and escaping, results.json, atomic writes, figures, the terminal table.

Results are built by hand from synthetic records and histories, so nothing here trains or diagnoses.
"""
import errno
import io
import json
import os
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from rich.console import Console

from goodfit.errors import GoodfitError
from goodfit import atomic
from goodfit.report import html, outputs
from goodfit.report.figures import arm_styles, study_figures
from goodfit.report.html import render_html
from goodfit.report.notebook import show
from goodfit.report.outputs import write_outputs
from goodfit.report.tables import study_table
from goodfit.report.verdict import verdict, verdict_for
from goodfit.study import StudyResult

EVIL_ARM = "<script>alert(1)</script>"
EVIL_PATH = 'data/"><img src=x onerror=alert(1)>.csv'


def make_result(arms=("baseline", "dropout", "l2"), seeds=3, epochs=12, train_sizes=(None,), effects=None,
                data="digits", classes=("zero", "one", "two"), diverged=()) -> StudyResult:
    """A `StudyResult` from synthetic curves: the baseline overfits after epoch 5, an arm's test
    accuracy is 0.80 + its effect + a little seed noise; `diverged` names arms whose seed 0 diverges."""
    effects = effects or {}
    plan = {
        "data": data, "target": None, "model": {"arch": "mlp", "width": None, "depth": None},
        "arms": [{"name": a, "remedies": [] if a == "baseline" else [{"remedy": "dropout", "rate": 0.3}]}
                 for a in arms],
        "seeds": list(range(seeds)),
        "conditions": [{"train_size": n, "label_noise": 0.0, "imbalance": 1.0, "val_fraction": 0.2,
                        "test_fraction": 0.2} for n in train_sizes],
        "train": {"epochs": epochs, "batch_size": 32, "lr": 0.001, "optimizer": "adam", "device": "cpu",
                  "train_eval_size": 512},
        "split_seed": 0,
    }
    dataset = {"name": data, "kind": "table", "samples": 600, "input_shape": [4], "classes": list(classes),
               "class_counts": [200] * len(classes), "fixed_test_set": False}
    records, histories = [], []
    e = np.arange(1, epochs + 1)
    for c, n in enumerate(train_sizes):
        size_bonus = 0.0 if n is None else 0.02 * np.log2(n / min(s for s in train_sizes))
        for i, arm in enumerate(arms):
            effect = effects.get(arm, 0.0)
            for seed in range(seeds):
                key = f"{c}/{arm}/{seed}"
                noise = 0.004 * ((seed * 7 + i * 3) % 5 - 2)
                broken = arm in diverged and seed == 0
                overfits = arm == "baseline"
                train_acc = 1 - 0.5 * np.exp(-e / 2)
                val_acc = 0.8 + effect + size_bonus - 0.3 * np.exp(-e / 2) - (0.004 * np.maximum(e - 5, 0) if overfits
                                                                              else 0)
                val_loss = 0.5 + 1.5 * np.exp(-e / 2) + (0.03 * np.maximum(e - 5, 0) if overfits else 0)
                frame = pd.DataFrame({"member": key, "epoch": e, "train_loss": 2 * np.exp(-e / 2),
                                      "train_accuracy": train_acc, "val_loss": val_loss, "val_accuracy": val_acc,
                                      "running_loss": 2.1 * np.exp(-e / 2), "test_loss": np.nan,
                                      "test_accuracy": np.nan})
                if broken:
                    frame.loc[frame["epoch"] > 4, ["train_loss", "val_loss", "running_loss"]] = np.nan
                histories.append(frame)
                regime = "diverged" if broken else "overfitting" if overfits else "good_fit"
                test_acc = float(val_acc[-1] + noise)
                records.append({
                    "member": key, "condition": c, "arm": arm, "seed": seed, "test_accuracy": test_acc,
                    "test_loss": float("nan") if broken else 0.5 - effect, "train_accuracy": float(train_acc[-1]),
                    "val_accuracy": float(val_acc[-1]), "gap": float(train_acc[-1] - test_acc),
                    "best_epoch": 5 if overfits else epochs, "stopped_epoch": None, "diverged": broken,
                    "epochs_run": epochs, "num_params": 1234,
                    "architecture": {"arch": "mlp", "width": 64, "depth": 2, "input_shape": [4], "num_classes": 3},
                    "diagnosis": {
                        "regime": regime, "onset_epoch": 6 if overfits or broken else None,
                        "best_epoch": 5 if overfits else epochs, "gap": {}, "confidence": "high",
                        "judged_on": "val_loss", "epochs": epochs,
                        "evidence": [f"validation loss of {arm} rose 20% after epoch 5 <b>really</b>."],
                        "advice": [{"remedy": "early_stopping", "reason": f"stop {arm} at epoch 5."}],
                    },
                })
    return StudyResult(plan, dataset, records, pd.concat(histories, ignore_index=True), seconds=12.5,
                       units_trained=1)


class Page(HTMLParser):
    """Every start tag of a page with its attributes, and the text of each element id'd section."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


@pytest.fixture(scope="module", autouse=True)
def small_pngs():
    """Figures at a low resolution: these tests read the page's structure, not its pixels."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(html, "DPI", 40)
        yield


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One study written once: (result, files), shared by the tests that only read it."""
    result = make_result(effects={"dropout": 0.06, "l2": 0.0})
    out = tmp_path_factory.mktemp("study")
    return result, write_outputs(result, out, command="goodfit study --data digits --seeds 3")


def test_report_opens_with_the_verdict_then_table_figures_diagnosis_setup_command(written):
    result, files = written
    text = files["report"].read_text(encoding="utf-8")
    order = [text.index(f'id="{s}"') for s in ("verdict", "results", "figures", "diagnosis", "setup", "reproduce")]
    assert order == sorted(order)
    assert text.index(str(escape(verdict_for(result, 0)))) < text.index('id="results"')
    assert "goodfit study --data digits --seeds 3" in text


def test_report_table_has_one_row_per_arm_with_markers(written):
    result, files = written
    page = Page(files["report"].read_text(encoding="utf-8"))
    rows = page.find("tr", **{"class": "arm"}) + page.find("tr", **{"class": "baseline"})
    assert len(rows) == len(result.arm_names)
    text = "".join(page.text)
    assert "✓" in text  # dropout is 6 points better over three seeds


def test_report_figures_are_inline_png_and_nothing_is_fetched(written):
    result, files = written
    text = files["report"].read_text(encoding="utf-8")
    page = Page(text)
    images = page.find("img")
    assert len(images) == len(study_figures(result)) >= 4
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object", "embed")]
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert not (value or "").lower().startswith(("http:", "https:", "//")), (name, value)
    assert "url(" not in text and "@import" not in text


def test_user_supplied_names_are_escaped_everywhere(tmp_path):
    result = make_result(arms=("baseline", EVIL_ARM), data=EVIL_PATH, classes=("<b>bold</b>", "a&b", "c"),
                         effects={EVIL_ARM: 0.05})
    files = write_outputs(result, tmp_path, command=f"goodfit study --data '{EVIL_PATH}' --arms {EVIL_ARM}")
    text = files["report"].read_text(encoding="utf-8")
    page = Page(text)
    assert not page.find("script")
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.find("img"))
    assert not [a for _, attrs in page.tags for a in attrs if a.lower().startswith("on")]
    assert "<script>" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert EVIL_ARM in "".join(page.text) and EVIL_PATH in "".join(page.text)  # shown as text, readable


def test_results_json_holds_plan_aggregates_comparisons_members_and_nan_as_null(tmp_path):
    result = make_result(effects={"dropout": 0.06}, diverged=("l2",))
    files = write_outputs(result, tmp_path, command="goodfit study")
    text = files["results"].read_text(encoding="utf-8")

    def no_constants(name):
        raise AssertionError(f"results.json holds {name}; JSON has no NaN or Infinity")

    data = json.loads(text, parse_constant=no_constants)
    assert data["plan"] == result.plan
    assert data["command"] == "goodfit study" and data["seconds"] == 12.5
    assert [a["arm"] for a in data["arms"]] == ["baseline", "dropout", "l2"]
    assert {"test_accuracy", "test_accuracy_low", "test_accuracy_high", "diff", "p_holm", "significant",
            "regime", "regime_agreement"} <= set(data["arms"][1])
    assert [c["arm"] for c in data["comparisons"][0]] == ["dropout", "l2"]
    assert len(data["members"]) == 9
    broken = next(m for m in data["members"] if m["member"] == "0/l2/0")
    assert broken["test_loss"] is None and broken["diagnosis"]["regime"] == "diverged"
    assert data["verdict"] == verdict(result) and data["verdicts"] == [verdict_for(result, 0)]
    assert outputs.results_json(result, "goodfit study", 12.5) == text  # the same result gives the same bytes


def copy_outputs(files: dict, folder) -> dict:
    for name in ("results", "report"):
        (folder / files[name].name).write_bytes(files[name].read_bytes())
    return {name: folder / files[name].name for name in ("results", "report")}


def test_rebuilding_without_a_command_keeps_the_recorded_one(written, tmp_path):
    result, files = written
    copy_outputs(files, tmp_path)
    rebuilt = StudyResult(result.plan, result.dataset, result.records, result.history, result.seconds)  # as from_store
    write_outputs(rebuilt, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["command"] == "goodfit study --data digits --seeds 3" and data["seconds"] == 12.5


def test_a_failed_write_raises_one_line_and_leaves_the_previous_files_intact(written, tmp_path, monkeypatch):
    files = copy_outputs(written[1], tmp_path)
    before = {k: files[k].read_bytes() for k in ("results", "report")}

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "replace", disk_full)
    with pytest.raises(GoodfitError, match=r"cannot write .*results\.json: No space left on device; free disk space"
                       ) as err:
        write_outputs(make_result(effects={"dropout": 0.1}, epochs=6), tmp_path, command="goodfit study --again")
    assert "\n" not in str(err.value)
    assert {k: files[k].read_bytes() for k in ("results", "report")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "results.json"]  # no temporary left


def test_figures_for_one_condition(written):
    result, _ = written
    assert list(study_figures(result)) == ["comparison", "metric_curves", "loss_curves", "gap"]


def test_figures_for_several_train_sizes_add_a_learning_curve_over_data_size():
    figures = study_figures(make_result(train_sizes=(50, 100, 200), seeds=2, epochs=6))
    assert list(figures) == ["comparison", "data_size", "metric_curves_c0", "loss_curves_c0",
                             "metric_curves_c1", "loss_curves_c1", "metric_curves_c2", "loss_curves_c2", "gap"]
    assert len(figures["comparison"].axes) == 3  # one panel per condition


def test_figures_for_a_strength_sweep_add_a_validation_curve_on_log_x_for_l2():
    arms = ("baseline", "dropout=0.1", "dropout=0.3", "l2=1e-05", "l2=0.0001")
    figures = study_figures(make_result(arms=arms, seeds=2, epochs=6, effects={"dropout=0.3": 0.05}))
    assert "strength" in figures
    dropout, l2 = figures["strength"].axes[:2]
    assert (dropout.get_xscale(), l2.get_xscale()) == ("linear", "log")


def test_figures_leave_pyplot_alone(written):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    study_figures(written[0])
    assert plt.get_fignums() == before


def test_terminal_table_fits_100_columns_and_prints_names_literally():
    result = make_result(arms=("baseline", "dropout", "[bold]early_stopping[/bold]"), train_sizes=(100, 300),
                         effects={"dropout": 0.06, "[bold]early_stopping[/bold]": -0.05}, seeds=3, epochs=6)
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(study_table(result))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "[bold]early_stop" in text and "n=100" in text and "n=300" in text
    assert "✓" in text and "✗" in text and "regime" in text


def test_report_renders_a_single_seed_study_without_intervals():
    page = Page(render_html(make_result(seeds=1, epochs=5)))
    text = "".join(page.text)
    said = " ".join(text.split())
    assert "not tested: 1 seed, and a paired comparison needs two or more; --seeds " in said
    assert "finds a difference as large as its seed-to-seed spread" in said and "p=—" not in said
    assert "80.0 ±" not in text and "—" in text


def axes_data(fig) -> list[tuple[str, np.ndarray]]:
    """Each visible axis of a figure with every y value drawn on it (lines, error bars, bands)."""
    out = []
    for ax in (a for a in fig.axes if a.get_visible()):
        ys = [np.asarray(line.get_ydata(), float) for line in ax.get_lines()]
        ys += [np.asarray(c.get_paths()[0].vertices[:, 1], float) for c in ax.collections if c.get_paths()]
        out.append((ax.get_title(loc="left"), np.concatenate(ys) if ys else np.array([])))
    return out


@pytest.fixture(scope="module")
def regression():
    """A small regression study on diabetes: two training-set sizes, a dropout sweep and early stopping."""
    from goodfit import Arm, Conditions, EarlyStopping, Study

    arms = [Arm("baseline"), Arm("early_stopping", (EarlyStopping(patience=2),)), "dropout=0.1", "dropout=0.3"]
    return Study("diabetes", "mlp", arms=arms, seeds=2, epochs=15,
                 conditions=[Conditions(train_size=120), Conditions(train_size=240)]).run()


def test_every_figure_of_a_regression_study_draws_rmse_in_its_units(regression):
    figures = study_figures(regression)
    assert list(figures) == ["comparison", "data_size", "strength", "metric_curves_c0", "loss_curves_c0",
                             "metric_curves_c1", "loss_curves_c1", "gap"]
    for key, fig in figures.items():
        for title, ys in axes_data(fig):
            assert np.isfinite(ys).any(), (key, title)  # no axis drawn from NaNs alone
    comparison = figures["comparison"]
    label = comparison.get_supxlabel()  # two conditions, two panels: the label spans them
    assert label == "test RMSE, mean and 95% CI over seeds; lower is better"
    table = regression.table()
    base = table[(table["condition"] == 0) & (table["arm"] == "baseline")].iloc[0]
    dots = [line.get_xdata()[0] for line in comparison.axes[0].get_lines() if line.get_marker() == "o"]
    assert base["score"] == pytest.approx(dots[0])  # RMSE in the target's units, not times 100
    assert comparison.axes[0].get_xlim()[0] >= -0.02 * np.ptp(comparison.axes[0].get_xlim())  # RMSE ≥ 0
    assert figures["data_size"].axes[0].get_ylabel() == "RMSE (lower is better)"
    assert figures["strength"].axes[0].get_ylabel() == "RMSE (lower is better)"
    assert figures["metric_curves_c0"].axes[0].get_ylabel() == "RMSE"
    assert figures["loss_curves_c0"].axes[0].get_ylabel() == "MSE loss (standardized target)"
    gap = figures["gap"].axes[0]
    assert gap.get_ylabel() == "validation − training RMSE\npositive: overfitting"
    baseline_gap = [line for line in gap.get_lines() if line.get_label() == "baseline"][0].get_ydata()
    assert baseline_gap[-1] > 0  # the baseline fits its training rows better than validation ones by the end


def test_the_regression_report_and_notebook_name_rmse_and_never_accuracy(regression):
    text = "".join(Page(render_html(regression)).text)
    shown = text[text.index("Results per arm"):text.index("Diagnosis per arm")]  # the table, notes, figures
    for words in ("test RMSE", "lower is better", "Δ RMSE", "Test RMSE per arm", "Learning curves: RMSE",
                  "Validation minus training RMSE", "test − train RMSE", "MSE loss (standardized target)"):
        assert words in shown, words
    assert "accuracy" not in shown.lower()
    assert "progression" in text and "one output" in text and "classes" not in text.split("Data and setup")[1]
    notebook = show(regression).html
    assert "test RMSE" in notebook and "Δ RMSE" in notebook and "acc" not in notebook


def test_a_balanced_accuracy_study_labels_balanced_accuracy():
    from goodfit import Conditions, Study

    result = Study("wine", model="mlp", arms=["dropout=0.3"], seeds=2, epochs=3,
                   conditions=[Conditions(imbalance=0.1)]).run()
    assert result.metric.name == "balanced_accuracy"
    figures = study_figures(result)
    assert figures["comparison"].axes[0].get_xlabel().startswith("test balanced accuracy (%)")
    text = "".join(Page(render_html(result)).text)
    assert "test balanced accuracy %" in text and "Test balanced accuracy per arm" in text
    assert "Learning curves: accuracy" in text and "balanced accuracy is measured once" in text
    assert "judged by test balanced accuracy" in text
    notebook = show(result).html
    assert "test balanced accuracy over 2 seeds" in notebook and ">test bal acc<" in notebook


@pytest.fixture(scope="module")
def stopping():
    """Early stopping on friedman, each seed on its own split: the three members stop at different epochs."""
    from goodfit import Arm, Conditions, EarlyStopping, Study

    return Study("friedman", "mlp", arms=[Arm("baseline"), Arm("early_stopping", (EarlyStopping(patience=4),))],
                 seeds=3, epochs=40, conditions=[Conditions(train_size=200)], resample_splits=True).run()


def plotted(ax, gid: str) -> dict[int, float]:
    """The mean line `gid` of a curve panel by epoch, its full-strength and lighter parts joined."""
    points = {}
    for line in (line for line in ax.get_lines() if line.get_gid() == gid):
        points.update(zip(line.get_xdata().astype(int), line.get_ydata()))
    return points


def test_a_member_that_stopped_early_stays_in_the_mean_at_its_kept_weights(stopping):
    members = stopping.members[stopping.members["arm"] == "early_stopping"]
    history = stopping.history
    last = {m: int(history.loc[history["member"] == m, "epoch"].max()) for m in members["member"]}
    assert len(set(last.values())) == 3  # they stop at three different epochs
    end = max(last.values())
    held = {}  # each member's validation loss per epoch, held at its best epoch's after it stopped
    for m, best in zip(members["member"], members["best_epoch"]):
        own = history[history["member"] == m].set_index("epoch")["val_loss"]
        held[m] = {e: own[e] if e <= last[m] else own[best] for e in range(1, end + 1)}
    figure = study_figures(stopping)["loss_curves"]
    ax = next(a for a in figure.axes if a.get_title(loc="left") == "early_stopping")
    curve = plotted(ax, "val_loss")
    assert sorted(curve) == list(range(1, end + 1))
    for e in curve:
        assert curve[e] == pytest.approx(np.mean([h[e] for h in held.values()]), rel=1e-6)
    for e in sorted({s + 1 for s in last.values() if s < end}):  # the epoch after a member left
        own_steps = [abs(h[e] - h[e - 1]) for h in held.values()]
        assert abs(curve[e] - curve[e - 1]) <= max(own_steps) + 1e-9
    lighter = [line for line in ax.get_lines() if line.get_gid() == "val_loss" and line.get_alpha()]
    assert lighter and lighter[0].get_xdata()[0] == min(last.values())  # lighter from the first stop on
    color = arm_styles(stopping.arm_names)["early_stopping"]["color"]
    gap = [line for line in study_figures(stopping)["gap"].axes[0].get_lines() if line.get_color() == color]
    assert gap and max(x for line in gap for x in line.get_xdata()) == end  # the gap keeps every member too
    assert "keeps its kept (best) weights' value" in html.figure_text(stopping, "loss_curves")[1]


def test_table_cells_never_print_minus_zero():
    from goodfit.report.tables import arm_cells

    row = {"arm": "dropout", "test_accuracy": 0.9, "test_accuracy_low": 0.88, "test_accuracy_high": 0.92,
           "test_loss": 0.31, "test_loss_low": 0.29, "test_loss_high": 0.33, "diff": -0.0002, "diff_low": -0.0004,
           "diff_high": 0.015, "p_holm": 0.0497, "significant": True, "gap": -0.0003, "best_epoch": 23.0,
           "regime": "good_fit", "regime_agreement": "4/5"}
    cells = arm_cells(row)
    assert not any(isinstance(v, str) and "-0.0" in v for v in cells.values()), cells
    assert cells["p"] == "0.0497"


def test_a_study_result_prints_as_one_short_line():
    text = repr(make_result(seeds=3, epochs=5))
    assert len(text) < 300 and "\n" not in text and text.startswith("StudyResult(data=") and "arms=[" in text
