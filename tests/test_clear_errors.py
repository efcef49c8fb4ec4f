"""Errors and notes that say everything a user needs in one line (issue 35's list): every column with empty
cells, a column list that shows its last names, a misspelled remedy inside `+`, a text column one-hot encoded."""
import numpy as np
import pandas as pd
import pytest

from goodfit.data import load
from goodfit.errors import GoodfitError
from goodfit.grammar import parse_arm


@pytest.fixture
def wide(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"f{i}": rng.normal(size=40) for i in range(20)})
    df["y"] = np.arange(40) % 2
    return df, tmp_path


def test_empty_cells_in_every_column_are_named_together(wide):
    df, folder = wide
    df.iloc[3, :20] = np.nan
    df.to_csv(folder / "empty.csv", index=False)
    with pytest.raises(GoodfitError) as err:
        load(folder / "empty.csv", target="y")
    said = str(err.value)
    assert said.startswith("20 feature columns of") and "'f0' in 1, " in said and "'f19' in 1;" in said
    assert "\n" not in said


def test_a_missing_target_lists_the_last_columns_too(wide):
    df, folder = wide
    df.to_csv(folder / "wide.csv", index=False)
    with pytest.raises(GoodfitError) as err:
        load(folder / "wide.csv", target="label")
    said = str(err.value)
    assert "columns, likely targets first: y, f0, f1" in said and "(21 in all)" in said
    assert "did you mean" not in said
    with pytest.raises(GoodfitError, match=r"likely targets first: y, .*\(e\.g\. --target y\)"):
        load(folder / "wide.csv")
    df.insert(0, "kind", np.where(np.arange(40) % 3, "a", "b"))  # text with few values: classes, second
    df.to_csv(folder / "kind.csv", index=False)
    with pytest.raises(GoodfitError, match="likely targets first: y, kind, f0"):
        load(folder / "kind.csv", target="outcome")


def test_errors_wrap_at_80_columns_on_a_terminal_and_stay_one_line_in_a_pipe(monkeypatch, tmp_path):
    import io

    from rich.console import Console

    from goodfit import cli
    message = "column 'label' not found in data.csv; columns: " + ", ".join(f"feature_{i}" for i in range(40))
    wrapped = cli.error_text(message, 80)
    lines = wrapped.splitlines()
    assert len(lines) > 3 and all(len(line) <= 80 for line in lines)
    assert all(line.startswith("       ") for line in lines[1:])  # under the message, not under "error:"
    assert " ".join(line.strip() for line in lines) == f"error: {message}"  # nothing cut or split in a word
    assert cli.error_text(message, None) == f"error: {message}"
    for terminal, width in ((True, 120), (False, 120), (True, 60)):
        out = io.StringIO()
        cli._say_error(Console(file=out, force_terminal=terminal, width=width, color_system=None), message)
        said = out.getvalue().rstrip("\n").splitlines()
        if terminal:
            assert max(map(len, said)) <= min(width, 80) and len(said) > 1
        else:
            assert said == [f"error: {message}"]


def test_a_text_feature_column_is_said_to_be_one_hot_encoded(wide):
    df, folder = wide
    df["color"] = np.where(np.arange(40) % 3, "red", "blue")
    df.to_csv(folder / "text.csv", index=False)
    data = load(folder / "text.csv", target="y")
    assert data.notes == ("feature column 'color' holds text: one-hot encoded as 2 columns (color=blue, color=red)",)
    assert data.describe()["notes"] == list(data.notes)


def test_a_misspelled_remedy_inside_a_plus_is_named_with_its_likely_meaning():
    with pytest.raises(GoodfitError, match=r"'l3' is not a remedy \(did you mean l2\?\)"):
        parse_arm("dropout=0.3+l3=1e-4", "table")
    assert parse_arm("augment=noise:0.1+mixup:0.2", "table").remedies[0].mixup == 0.2  # `+` inside augment stays
