"""Reading CSV, Parquet, NPZ and image folders: good files load, bad ones say what is wrong and how to fix it."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from goodfit.data import Conditions, load, split
from goodfit.data.files import read_path
from goodfit.errors import GoodfitError


def _table(n=12):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.integers(0, 9, size=n),
        "label": np.arange(n) % 2,
    })


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(source, target=None) -> str:
    with pytest.raises(GoodfitError) as info:
        load(source, target)
    return str(info.value)


def _image(path, size=(6, 5), mode="L", value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 20, 200)).save(path)


def _image_folder(tmp_path, files_per_class=3):
    root = tmp_path / "pics"
    for cls in ("dog", "cat"):
        for i in range(files_per_class):
            _image(root / cls / f"{i}.png", value=40 * i)
    return root


# --- CSV and Parquet ----------------------------------------------------------------------------

def test_csv_with_numeric_columns_loads_as_a_standardized_table(tmp_path):
    df = _table()
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    ds = load(path, target="label")
    assert (ds.kind, ds.standardize, ds.name) == ("table", True, "data.csv")
    assert ds.X.shape == (12, 2) and ds.X.dtype == np.float32
    assert ds.feature_names == ("x1", "x2")
    assert ds.classes == ("0", "1")
    np.testing.assert_array_equal(ds.y, df["label"])
    np.testing.assert_allclose(ds.X[:, 0], df["x1"], rtol=1e-6)


def test_string_labels_are_numbered_in_sorted_order_and_name_the_classes(tmp_path):
    path = _csv(tmp_path, "x,animal\n1,dog\n2,cat\n3,bird\n4,cat\n")
    ds = load(path, target="animal")
    assert ds.classes == ("bird", "cat", "dog")
    assert ds.y.tolist() == [2, 1, 0, 1]


def test_whole_float_labels_name_classes_as_integers(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": [2.0, 1.0, 2.0, 1.0]}).to_parquet(path)
    assert load(path, target="label").classes == ("1", "2")


def test_text_column_is_one_hot_encoded_with_column_equals_value_names(tmp_path):
    path = _csv(tmp_path, "size,color,label\n1.5,red,a\n2.5,blue,b\n3.5,red,b\n4.5,green,a\n")
    ds = load(path, target="label")
    assert ds.feature_names == ("size", "color=blue", "color=green", "color=red")
    np.testing.assert_array_equal(ds.X, [[1.5, 0, 0, 1], [2.5, 1, 0, 0], [3.5, 0, 0, 1], [4.5, 0, 1, 0]])


def test_bool_column_becomes_a_single_zero_one_feature(tmp_path):
    path = _csv(tmp_path, "flag,label\nTrue,a\nFalse,b\nTrue,b\n")
    ds = load(path, target="label")
    assert ds.feature_names == ("flag",)
    assert ds.X[:, 0].tolist() == [1.0, 0.0, 1.0]


def test_spaces_after_delimiters_are_ignored(tmp_path):
    path = _csv(tmp_path, "x1, x2, label\n1, 2, a\n3, 4, b\n")
    ds = load(path, target="label")
    assert ds.feature_names == ("x1", "x2") and ds.classes == ("a", "b")


@pytest.mark.parametrize("name,sep", [("data.tsv", "\t"), ("data.txt", ";"), ("data.csv", ";"), ("data.txt", "|")])
def test_delimiter_is_sniffed(tmp_path, name, sep):
    path = tmp_path / name
    _table().to_csv(path, sep=sep, index=False)
    ds = load(path, target="label")
    assert ds.feature_names == ("x1", "x2") and ds.X.shape == (12, 2)


@pytest.mark.parametrize("name", ["data.parquet", "data.pq"])
def test_parquet_loads_like_csv(tmp_path, name):
    path = tmp_path / name
    df = _table().assign(color=["red", "blue", "red"] * 4, label=["yes", "no"] * 6)
    df.to_parquet(path)
    ds = load(path, target="label")
    assert ds.kind == "table" and ds.classes == ("no", "yes")
    assert ds.feature_names == ("x1", "x2", "color=blue", "color=red")


def test_split_cuts_a_loaded_csv_into_standardized_parts(tmp_path):
    path = tmp_path / "data.csv"
    _table(60).to_csv(path, index=False)
    s = split(load(path, target="label"), Conditions(), seed=0)
    assert len(s.y_train) + len(s.y_val) + len(s.y_test) == 60
    assert s.input_shape == (2,) and s.classes == ("0", "1")
    np.testing.assert_allclose(s.X_train.mean(0), 0, atol=1e-5)


def test_missing_target_lists_the_columns_and_asks_for_one(tmp_path):
    path = tmp_path / "data.csv"
    _table().to_csv(path, index=False)
    message = _error(path)
    assert "columns, likely targets first: label, x2, x1" in message and "pass --target COLUMN" in message


def test_misspelled_target_suggests_the_close_column(tmp_path):
    path = tmp_path / "data.csv"
    _table().to_csv(path, index=False)
    message = _error(path, "lable")
    assert "'lable' not found" in message and "likely targets first: label, x2, x1" in message
    assert "did you mean 'label'?" in message and "--target label" in message


def test_unknown_target_with_no_close_column_lists_the_columns(tmp_path):
    path = tmp_path / "data.csv"
    _table().to_csv(path, index=False)
    message = _error(path, "species")
    assert "likely targets first: label, x2, x1" in message and "did you mean" not in message and "--target" in message


def test_file_read_as_one_column_points_at_the_delimiter(tmp_path):
    path = _csv(tmp_path, "x1 x2 label\n1 2 a\n3 4 b\n")
    message = _error(path, "label")
    assert "single column" in message and "delimiter" in message and "comma-separated" in message


def test_missing_labels_are_counted(tmp_path):
    path = _csv(tmp_path, "x,label\n1,a\n2,\n3,b\n4,\n")
    message = _error(path, "label")
    assert "2 of 4 rows have no label" in message and "drop those rows" in message


def test_fractional_target_is_regression_and_refused_as_classes(tmp_path):
    path = _csv(tmp_path, "x,price\n1,3.5\n2,4.25\n3,3.5\n")
    data = read_path(path, "price")
    assert data.task == "regression" and data.y.dtype == np.float32 and "fractional" in data.why
    with pytest.raises(GoodfitError, match="leave out --task classification"):
        read_path(path, "price", task="classification")


@pytest.mark.parametrize("cell", ["", "n/a"])
def test_missing_feature_values_name_column_and_count(tmp_path, cell):
    path = _csv(tmp_path, f"x1,x2,label\n1,2,a\n3,{cell},b\n5,6,a\n")
    message = _error(path, "label")
    assert "'x2'" in message and "no value in 1 of 3 rows" in message and "fill those cells or drop" in message


def test_missing_text_values_name_column_and_count(tmp_path):
    path = _csv(tmp_path, "x,color,label\n1,red,a\n2,,b\n3,blue,a\n")
    message = _error(path, "label")
    assert "'color'" in message and "no value in 1 of 3 rows" in message and "fill those cells" in message


def test_mostly_numeric_column_with_a_stray_string_names_it(tmp_path):
    ages = [str(20 + i) for i in range(19)] + ["12a"]
    path = _csv(tmp_path, "age,label\n" + "".join(f"{a},{i % 2}\n" for i, a in enumerate(ages)))
    message = _error(path, "label")
    assert "'age'" in message and "text in 1 of 20 rows" in message and "'12a'" in message
    assert "replace those cells with numbers" in message


def test_column_with_too_many_distinct_strings_is_taken_for_an_id(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame({"user": [f"u{i}" for i in range(1001)], "x": 1.0, "label": np.arange(1001) % 2}).to_csv(path)
    message = _error(path, "label")
    assert "'user'" in message and "1001 distinct" in message and "drop the column" in message


def test_date_column_in_parquet_is_refused(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"when": pd.date_range("2024-01-01", periods=4), "label": [0, 1, 0, 1]}).to_parquet(path)
    message = _error(path, "label")
    assert "'when'" in message and "convert it to numbers or drop" in message


@pytest.mark.parametrize("text,words", [
    ("", ["is empty", "header line"]),
    ("x1,x2,label\n", ["no rows", "add data rows"]),
    ('x1,x2,label\n1,2,a\n3,4,"b\n', ["could not be parsed", "export the file again"]),
    ("x1,x2,label\n1,2,a\n3,4,b,9,9\n", ["could not be parsed", "fix that line"]),
])
def test_empty_header_only_and_broken_csv_are_refused(tmp_path, text, words):
    message = _error(_csv(tmp_path, text), "label")
    assert all(w in message for w in words), message


def test_latin1_csv_is_refused_with_a_request_for_utf8(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("x,city,label\n1,Malmö,a\n2,Zürich,b\n".encode("latin-1"))
    message = _error(path, "label")
    assert "not UTF-8" in message and "save it as a UTF-8" in message


@pytest.mark.parametrize("cut", [0, 100])
def test_truncated_parquet_is_refused(tmp_path, cut):
    path = tmp_path / "data.parquet"
    _table().to_parquet(path)
    path.write_bytes(path.read_bytes()[:cut])
    message = _error(path, "label")
    assert "could not be read as Parquet" in message and "write it again" in message


def test_parquet_with_only_the_label_column_asks_for_features(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"label": [0, 1]}).to_parquet(path)
    assert "add feature columns" in _error(path, "label")


# --- NPZ ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kind,input_shape,standardize", [
    ((10, 4), "table", (4,), True),
    ((10, 1, 16), "sequence", (16,), False),
    ((10, 8, 8), "image", (1, 8, 8), False),
    ((10, 3, 8, 8), "image", (3, 8, 8), False),
])
def test_npz_shape_picks_the_kind(tmp_path, shape, kind, input_shape, standardize):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.random.default_rng(0).random(shape), y=np.arange(10) % 2)
    ds = load(path)
    assert (ds.kind, ds.input_shape, ds.standardize) == (kind, input_shape, standardize)
    assert ds.feature_names == (("x1", "x2", "x3", "x4") if kind == "table" else ())


def test_npz_images_in_0_255_are_scaled_to_unit_range(tmp_path):
    path = tmp_path / "data.npz"
    X = np.full((4, 5, 5), 255, np.uint8)
    X[0] = 0
    np.savez(path, X=X, y=np.array([0, 1, 0, 1]))
    ds = load(path)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0


def test_npz_string_labels_are_encoded(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((3, 2)), y=np.array(["spam", "ham", "spam"]))
    ds = load(path)
    assert ds.classes == ("ham", "spam") and ds.y.tolist() == [1, 0, 1]


def test_npz_without_y_names_the_arrays_it_has(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((3, 2)), labels=np.zeros(3))
    message = _error(path)
    assert "no array 'y'" in message and "arrays found: X, labels" in message and "np.savez" in message


def test_npz_with_text_features_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1]))
    message = _error(path)
    assert "not numbers" in message and "numeric array" in message


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array(["a", 1], dtype=object))
    message = _error(path)
    assert "'y'" in message and "allow_pickle" in message and "numbers or strings only" in message


def test_npz_channels_last_images_are_refused_with_the_transpose(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((4, 8, 8, 3)), y=np.array([0, 1, 0, 1]))
    assert "transpose(0, 3, 1, 2)" in _error(path)


def test_npz_labels_must_be_one_per_row(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((4, 2)), y=np.array([[0], [1], [0], [1]]))
    assert "y.ravel()" in _error(path)


@pytest.mark.parametrize("content", [b"", b"not an archive at all", b"PK\x03\x04 cut short"])
def test_corrupted_npz_is_refused(tmp_path, content):
    path = tmp_path / "data.npz"
    path.write_bytes(content)
    message = _error(path)
    assert "not an .npz archive" in message and "np.savez" in message


def test_truncated_npz_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((50, 20)), y=np.arange(50) % 2)
    path.write_bytes(path.read_bytes()[:-30])
    assert "np.savez" in _error(path)


def test_npz_with_damaged_array_data_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((50, 20)), y=np.arange(50) % 2)
    data = bytearray(path.read_bytes())
    data[1000:1010] = b"\xff" * 10  # inside X's values: the zip's CRC check fails
    path.write_bytes(bytes(data))
    message = _error(path)
    assert "'X' in" in message and "could not be loaded" in message and "save the file again" in message


# --- image folders ------------------------------------------------------------------------------

def test_grayscale_image_folder_loads_classes_from_sub_folder_names(tmp_path):
    ds = load(_image_folder(tmp_path))
    assert (ds.kind, ds.standardize, ds.name) == ("image", False, "pics")
    assert ds.classes == ("cat", "dog")
    assert ds.X.shape == (6, 1, 5, 6) and ds.X.dtype == np.float32
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(ds.X[:3, 0, 0, 0], [0, 40 / 255, 80 / 255], rtol=1e-6)


def test_one_color_image_makes_the_whole_folder_rgb(tmp_path):
    root = _image_folder(tmp_path)
    _image(root / "cat" / "color.jpg", mode="RGB")
    ds = load(root)
    assert ds.X.shape == (7, 3, 5, 6)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    gray = ds.X[1]  # cat/1.png, pixel value 40 in every channel
    np.testing.assert_allclose(gray, 40 / 255, rtol=1e-6)


def test_images_of_different_sizes_name_two_files_and_ask_for_a_resize(tmp_path):
    root = _image_folder(tmp_path)
    _image(root / "dog" / "big.png", size=(9, 7))
    message = _error(root)
    assert "0.png is 6x5" in message and "big.png is 9x7" in message and "resize" in message


def test_unreadable_image_is_named(tmp_path):
    root = _image_folder(tmp_path)
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    message = _error(root)
    assert "broken.png" in message and "replace or remove it" in message


def test_class_folder_without_images_is_named(tmp_path):
    root = _image_folder(tmp_path)
    (root / "bird").mkdir()
    (root / "bird" / "notes.txt").write_text("no images here")
    message = _error(root)
    assert "bird holds no images" in message and "remove the folder" in message


def test_folder_with_one_class_asks_for_two(tmp_path):
    root = tmp_path / "pics"
    _image(root / "cat" / "0.png")
    message = _error(root)
    assert "1 class sub-folder" in message and "at least two" in message


def test_folder_without_images_is_not_an_image_folder(tmp_path):
    _table().to_csv(tmp_path / "data.csv")
    message = _error(tmp_path)
    assert "not an image folder" in message and "sub-folder" in message


def test_target_is_refused_for_formats_that_carry_their_labels(tmp_path):
    message = _error(_image_folder(tmp_path), "label")
    assert "leave out --target" in message


# --- everything else ----------------------------------------------------------------------------

def test_unsupported_suffix_lists_the_supported_formats(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"anything")
    message = _error(path)
    assert "'.xlsx' are not supported" in message and ".csv" in message and ".npz" in message
    assert "folder" in message
