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
    assert ", y (21 in all)" in str(err.value)


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
