"""Everything goodfit prints fits an 80-column terminal, without cropping or splitting a word.

Each command's `--help`, a tiny study, the diagnosis of a corpus log and a short training run are
printed at COLUMNS=80 and again at 200. No line may pass 80 characters, nothing may be cropped
(`…`), and no word of the narrow text may be a piece of a word of the wide one: a word split
across two lines ("bas" / "eline") or cut short ("improvi"). Chart lines are left out of the word
check, since a chart's dots and blocks depend on its width.
"""
import contextlib
import io
import re
import sys
from pathlib import Path

import pytest
import typer
from rich.console import Console

from goodfit import cli

CORPUS = Path(__file__).resolve().parent / "corpus"
CHART = re.compile(r"[│┤┌└┐┘┬┴┼┊]")  # a line of a chart: its glyphs follow its width


def goodfit(args, width, monkeypatch, capsys) -> tuple[int, str]:
    """The console entry point run in this process at a terminal `width`; (exit code, stdout and stderr)."""
    monkeypatch.setattr(sys, "argv", ["goodfit", *map(str, args)])
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(cli, "console", Console())  # reads COLUMNS now, as a fresh process would
    try:
        cli.main()
        code = 0
    except SystemExit as done:
        code = done.code
    out = capsys.readouterr()
    return code, out.out + out.err


TIMES = re.compile(r"\b\d+(?:\.\d+)? s\b|\b\d+:\d\d(?::\d\d)?\b")  # seconds that differ between two runs


def run_in(folder: Path, args, width, monkeypatch, capsys) -> tuple[int, str]:
    """`goodfit` run from `folder`, so that two runs print the same relative output paths."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    return goodfit(args, width, monkeypatch, capsys)


def words(text: str) -> set[str]:
    """The words of a text outside its charts; rules, bars and marks (no letter or digit) are no words."""
    return {w for line in TIMES.sub("T", text).splitlines() if not CHART.search(line) for w in line.split()
            if re.search(r"\w", w)}


def assert_fits(narrow: str, wide: str, width: int = 80):
    long = [line for line in narrow.splitlines() if len(line) > width]
    assert not long, f"{len(long)} line(s) over {width} columns, e.g. {long[0]!r}"
    assert "…" not in narrow, [line for line in narrow.splitlines() if "…" in line]
    wide_words = words(wide)
    split = {w for w in words(narrow) - wide_words if any(w in v for v in wide_words)}  # a piece of a word
    assert not split, f"words split or cut at {width} columns: {sorted(split)}"


def help_text(args, width: int, monkeypatch) -> str:
    """`goodfit ARGS --help` as click lays it out for a terminal `width` columns wide."""
    monkeypatch.setenv("COLUMNS", str(width))
    buffer = io.StringIO()
    with pytest.raises(SystemExit) as done, contextlib.redirect_stdout(buffer):
        typer.main.get_command(cli.app).main([*args, "--help"], prog_name="goodfit", terminal_width=width,
                                             max_content_width=width)
    assert done.value.code == 0
    return buffer.getvalue()


COMMANDS = sorted(typer.main.get_command(cli.app).commands)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_fits_80_columns_and_splits_no_word(command, monkeypatch):
    args = [command] if command else []
    narrow, wide = help_text(args, 80, monkeypatch), help_text(args, 200, monkeypatch)
    assert "Usage: goodfit" in narrow
    assert_fits(narrow, wide)


def test_a_tiny_study_prints_its_table_and_verdict_within_80_columns(tmp_path, monkeypatch, capsys):
    args = ["study", "--data", "wine", "--seeds", "2", "--epochs", "5", "--arms", "baseline,dropout",
            "--train-size", "40,80"]
    code, narrow = run_in(tmp_path / "narrow", [*args, "--out", "runs/s"], 80, monkeypatch, capsys)
    assert code == 0 and "verdict:" in narrow and "regime" in narrow
    code, wide = run_in(tmp_path / "wide", [*args, "--out", "runs/s"], 200, monkeypatch, capsys)
    assert code == 0
    assert_fits(narrow, wide)
    assert "(c1)" not in narrow and "n=80" in narrow  # a learning curve's bars name their condition


def test_the_diagnosis_of_a_corpus_log_fits_80_columns(monkeypatch, capsys):
    log = CORPUS / "keras" / "overfitting.csv"
    code, narrow = goodfit(["diagnose", log], 80, monkeypatch, capsys)
    assert code == 0 and "verdict: OVERFITTING" in narrow
    _, wide = goodfit(["diagnose", log, "--width", "200"], 200, monkeypatch, capsys)
    assert max(len(line) for line in wide.splitlines()) > 120  # a wider terminal uses the room
    assert_fits(narrow, wide)
    assert "↑" in narrow and "is above the chart" in " ".join(narrow.split())  # the clipped first epochs say so
    assert "▚" not in narrow and "▀▄ train" in narrow  # the legend shows what the chart draws
    accuracy_axis = [float(t) for t in re.findall(r"^ *([\d.]+)┤", narrow.split(" accuracy ")[1], re.M)]
    assert accuracy_axis and max(accuracy_axis) <= 1.0


def test_a_short_training_run_prints_within_80_columns(tmp_path, monkeypatch, capsys):
    args = ["train", "--data", "wine", "--epochs", "5"]
    code, narrow = run_in(tmp_path / "narrow", [*args, "--out", "runs/t"], 80, monkeypatch, capsys)
    assert code == 0 and "verdict:" in narrow
    _, wide = run_in(tmp_path / "wide", [*args, "--out", "runs/t"], 200, monkeypatch, capsys)
    assert_fits(narrow, wide)
    assert " eta " not in f" {narrow} "


def test_a_tiny_recipe_prints_its_table_verdict_and_command_within_80_columns(tmp_path, monkeypatch, capsys):
    args = ["recipe", "--data", "wine", "--candidates", "4", "--eta", "2", "--top", "2", "--epochs", "6", "--seeds", "2"]
    code, narrow = run_in(tmp_path / "narrow", [*args, "--out", "runs/r"], 80, monkeypatch, capsys)
    assert code == 0 and "verdict:" in narrow and "goodfit train --data wine" in narrow
    code, wide = run_in(tmp_path / "wide", [*args, "--out", "runs/r"], 200, monkeypatch, capsys)
    assert code == 0 and "goodfit train --data wine" in wide
    assert_fits(narrow, wide)
    command = narrow.split("train with ")[-1].split("\n", 1)[1].split("\n\n")[0]
    joined = " ".join(part.strip() for part in command.replace("\\\n", "\n").splitlines())
    assert joined == wide.split("train with ")[-1].split("\n", 1)[1].split("\n\n")[0].strip()  # the shell reads one


def test_a_long_combined_arm_name_goes_on_several_lines_instead_of_being_cropped():
    from goodfit.report.tables import ARM_WIDTH, _arm_lines

    name = "dropout=0.3+l2=0.0001+augment=noise:0.1+mixup:0.2+batchnorm"
    lines = _arm_lines(name).splitlines()
    assert "".join(lines) == name and all(len(line) <= ARM_WIDTH for line in lines)
    assert all(line.endswith("+") for line in lines[:-1])
