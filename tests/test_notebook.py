"""A study in a notebook: the table as the terminal shows it, figures as pictures, the files the CLI writes, --version."""
import json
import re

import pytest
from typer.testing import CliRunner

import goodfit
from goodfit import Arm, Conditions, Dropout, Study, TrainConfig, plot, show, verdict_of, write_outputs
from goodfit.cli import app
from goodfit.report.tables import study_table


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    study = Study("wine", arms=[Arm("baseline"), Arm("dropout", (Dropout(0.5),))], seeds=3, epochs=4,
                  conditions=[Conditions(train_size=40), Conditions(train_size=80)], train=TrainConfig(batch_size=16))
    return study.run(out), out


def test_run_with_a_folder_keeps_the_store_and_write_outputs_writes_the_files_the_cli_does(result):
    r, out = result
    assert sorted(p.name for p in out.iterdir()) == ["study.db"]
    files = write_outputs(r, out)
    assert files == {"results": out / "results.json", "report": out / "report.html", "store": out / "study.db"}
    assert json.loads((out / "results.json").read_text())["verdict"] == verdict_of(r)
    assert "<h1>Verdict</h1>" in (out / "report.html").read_text()


def test_verdict_of_takes_a_study_or_a_recipe_and_nothing_else():
    with pytest.raises(TypeError, match="verdict_of takes a StudyResult or a RecipeResult, not str"):
        verdict_of("a study")


def test_show_gives_the_terminal_tables_cells(result):
    r, _ = result
    html = show(r)._repr_html_()
    rows = r.table().to_dict("records")
    from goodfit.report.tables import arm_cells

    for row in rows:
        cells = arm_cells(row)
        for key in ("test_accuracy", "diff_pm", "p", "marker", "gap", "best_epoch"):
            assert f">{cells[key]}<" in html, (key, cells[key])
        assert f">{cells['regime'].replace('_', ' ')}<" in html
    assert "± 95% CI" in html and "p Holm" in html and "Holm-corrected" in html
    assert "300 training samples" not in html and "40 training samples" in html and "80 training samples" in html
    assert not re.search(r"\bnan\b|NaN|12\.000", html)  # no raw floats: the terminal's formatting
    terminal = study_table(r)
    assert [c.header for c in terminal.columns][:4] == ["arm", "test acc", "Δ acc ± CI", "p Holm"]


def test_plot_is_shown_as_pictures_and_its_figures_stay_usable(result, tmp_path):
    r, _ = result
    figures = plot(r)
    html = figures._repr_html_()
    assert html.count('src="data:image/png;base64,') == len(figures) >= 4
    assert "Generalization gap over epochs" in html
    figures["gap"].savefig(tmp_path / "gap.png")  # showing them did not clear them
    assert (tmp_path / "gap.png").stat().st_size > 10_000


def test_version_is_printed():
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.output.strip() == f"goodfit {goodfit.__version__}"
