"""Files in: CSV and Parquet tables, NPZ arrays and folders of images become a `Dataset`.

Every reader checks what it reads and stops with a `GoodfitError` that names the problem and the fix.
"""
from __future__ import annotations

import csv
import difflib
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from PIL import Image

from goodfit.data.dataset import Dataset
from goodfit.errors import GoodfitError

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MAX_CATEGORIES = 1000  # more distinct values than this in a text column is an ID, not a category
NUMERIC_SHARE = 0.9  # a text column with at least this share of numbers is a numeric column with typos
_DELIMITERS = ",\t;|"
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
_FORMATS = (".csv, .tsv, .txt, .parquet, .pq or .npz file, "
            "or a folder with one sub-folder of images per class")


def _listed(names, limit: int = 20) -> str:
    """`a, b, c`; past `limit` names the first ones, the last three (a label column is often last) and the total.

    Example:
        >>> _listed([f"f{i}" for i in range(30)] + ["y"], limit=8)
        'f0, f1, f2, f3, f4, ..., f28, f29, y (31 in all)'
    """
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit - 3])}, ..., {', '.join(names[-3:])} ({len(names)} in all)"


CLASS_LIKE = 20  # whole-number targets with at most this many distinct values are classes


def _target(values: np.ndarray, where: str, task: str | None) -> tuple[np.ndarray, tuple[str, ...], str, str]:
    """The target as the task needs it, the classes, the task and why it was chosen.

    Classification: int64 codes in sorted order of the distinct values, each value naming its class.
    Regression: float32 numbers. With `task` None the target decides: text and few whole numbers
    are classes, fractional numbers and many distinct whole numbers a quantity.
    """
    missing = int(pd.isna(values).sum())
    if missing:
        raise GoodfitError(f"{where}: {missing} of {len(values)} rows have no label (no target value); "
                           "fill them in or drop those rows")
    numbers = values
    if values.dtype.kind in "OSU":  # text: numbers written as text, or names of classes
        text = pd.Series(values).astype(str).str.strip()
        parsed = pd.to_numeric(text, errors="coerce")
        if parsed.notna().all():
            numbers = parsed.to_numpy(np.float64)
        elif task == "regression" or parsed.notna().mean() >= NUMERIC_SHARE:
            stray = text[parsed.isna()]
            raise GoodfitError(f"{where}: {len(stray)} of {len(text)} rows are not numbers, e.g. {stray.iloc[0]!r}; "
                               + ("replace those cells with numbers or drop those rows" if task == "regression" or
                                  len(stray) < len(text) / 10 else "pass --task classification to treat them as classes"))
    if numbers.dtype.kind == "b" or numbers.dtype.kind in "OSU":
        return _classes(values, where)
    numbers = numbers.astype(np.float64)
    if not np.isfinite(numbers).all():
        raise GoodfitError(f"{where}: {int((~np.isfinite(numbers)).sum())} target values are infinite; "
                           "replace them or drop those rows")
    distinct = np.unique(numbers)
    if len(distinct) == 1:
        raise GoodfitError(f"{where}: the target is {distinct[0]:g} in every row, so there is nothing to predict; "
                           "choose another target column")
    whole = bool((distinct == np.round(distinct)).all())
    if task is None:
        codes = whole and (distinct[0] in (0, 1)) and distinct[-1] - distinct[0] == len(distinct) - 1
        if not whole:
            task, why = "regression", f"{len(distinct)} distinct fractional numbers, e.g. {distinct[len(distinct) // 2]:g}"
        elif len(distinct) <= CLASS_LIKE or (codes and len(numbers) >= 5 * len(distinct)):
            task, why = "classification", f"{len(distinct)} distinct whole numbers"
        else:
            task, why = "regression", (f"{len(distinct)} distinct whole numbers from {distinct[0]:g} "
                                       f"to {distinct[-1]:g}")
    else:
        why = f"--task {task}"
    if task == "regression":
        return numbers.astype(np.float32), (), task, why
    if not whole:
        fractional = distinct[distinct != np.round(distinct)]
        raise GoodfitError(f"{where}: the target holds fractional numbers (e.g. {fractional[0]:g}), which cannot "
                           "be classes; leave out --task classification to predict it as a number")
    if why.startswith("--") and len(distinct) > max(CLASS_LIKE, len(numbers) / 3):
        raise GoodfitError(f"{where}: {len(distinct)} distinct values in {len(numbers)} rows are too many classes "
                           "(fewer than 3 rows each); pass --task regression to predict it as a number")
    y, classes, task, _ = _classes(numbers.astype(np.int64), where)
    return y, classes, task, why


def _classes(values: np.ndarray, where: str) -> tuple[np.ndarray, tuple[str, ...], str, str]:
    """Labels as int64 codes in sorted order of the distinct values, and each value's name."""
    try:
        classes, y = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types, e.g. numbers and strings in one column
        classes, y = np.unique(values.astype(str), return_inverse=True)
    if len(classes) < 2:
        raise GoodfitError(f"{where}: only one class found, {classes[0]!r} in every row; a classifier needs at least two classes")
    return y.reshape(-1).astype(np.int64), tuple(str(c) for c in classes), "classification", \
        f"{len(classes)} distinct {'labels' if values.dtype.kind in 'OSUb' else 'whole numbers'}"


# --- tables: CSV and Parquet ---------------------------------------------------------------------

def _delimiter(path: Path) -> str:
    """The delimiter csv.Sniffer finds among , tab ; | in the file's start, else the suffix's own."""
    with open(path, "rb") as f:
        sample = f.read(64 * 1024).decode("utf-8", errors="replace")
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if path.suffix.lower() == ".tsv" else ","


def _read_frame(path: Path) -> pd.DataFrame:
    """The file as a DataFrame with string column names, at least one row and two columns."""
    text = path.suffix.lower() in TEXT_SUFFIXES
    try:
        if text:
            df = pd.read_csv(path, sep=_delimiter(path), skipinitialspace=True, low_memory=False)
        else:
            df = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise GoodfitError(f"{path} is empty; write a header line and data rows into it") from None
    except UnicodeDecodeError:
        raise GoodfitError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    except pd.errors.ParserError as e:
        reason = str(e).strip().splitlines()[-1]
        raise GoodfitError(f"{path} could not be parsed as CSV ({reason}); "
                           "fix that line or export the file again") from None
    except (pa.ArrowException, OSError) as e:
        raise GoodfitError(f"{path} could not be read as Parquet ({e}); "
                           "the file may be truncated or not Parquet, so write it again") from None
    df.columns = [str(c) for c in df.columns]
    if len(df) == 0:
        raise GoodfitError(f"{path} has columns ({_listed(df.columns)}) but no rows; add data rows")
    if df.shape[1] == 1 and text:
        raise GoodfitError(
            f"{path} reads as a single column {df.columns[0]!r}: its delimiter is probably not one of "
            "comma, tab, semicolon or |; save it comma-separated, with a label column and feature columns"
        )
    if df.shape[1] == 1:
        raise GoodfitError(f"{path} has only the column {df.columns[0]!r}; "
                           "add feature columns next to the label column")
    return df


TARGET_NAMES = ("target", "label", "labels", "y", "class", "outcome", "species", "diagnosis", "category", "response")


def likely_targets(df: pd.DataFrame) -> list[str]:
    """The columns, those that look like a target first: a target's usual name, then text or whole numbers with
    few distinct values (classes), then the last column; the rest keep their order.

    Example:
        >>> df = pd.DataFrame({"f0": [0.1, 0.2, 0.3], "kind": ["a", "b", "a"], "f1": [1.5, 2.5, 0.5], "y": [0, 1, 0]})
        >>> likely_targets(df)
        ['y', 'kind', 'f0', 'f1']
    """
    columns = [str(c) for c in df.columns]

    def rank(i: int) -> int:
        name, values = columns[i], df.iloc[:, i]
        if name.strip().lower() in TARGET_NAMES:
            return 0
        numeric = pd.api.types.is_numeric_dtype(values)
        few = values.nunique(dropna=True) <= CLASS_LIKE
        if few and (not numeric or bool(np.all(np.mod(values.dropna(), 1) == 0))):
            return 1
        return 2 if i == len(columns) - 1 else 3

    return [columns[i] for i in sorted(range(len(columns)), key=lambda i: (rank(i), i))]


def _target_column(df: pd.DataFrame, target: str | None, path: Path) -> str:
    columns = list(df.columns)
    if target in columns:
        return target
    ranked = likely_targets(df)
    if target is None:
        raise GoodfitError(f"{path} needs a label column; columns, likely targets first: {_listed(ranked)}; "
                           f"pass --target COLUMN (e.g. --target {ranked[0]})")
    close = difflib.get_close_matches(target, [str(c) for c in columns], n=1)
    fix = f"did you mean {close[0]!r}? pass --target {close[0]}" if close else "pass --target with one of them"
    raise GoodfitError(f"column {target!r} not found in {path}; columns, likely targets first: {_listed(ranked)}; "
                       f"{fix}")


def _finite_values(values: np.ndarray, column: str, path: Path) -> np.ndarray:
    bad = int((~np.isfinite(values)).sum())
    if bad:
        what = "no value" if np.isnan(values).sum() == bad else "no value or an infinite one"
        raise GoodfitError(f"column {column!r} in {path} has {what} in {bad} of {len(values)} rows; "
                           "fill those cells or drop those rows")
    return values


def _feature_block(s: pd.Series, path: Path) -> tuple[list[str], np.ndarray]:
    """One column as feature names and float columns: numbers as they are, text one-hot encoded."""
    column = str(s.name)
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return [column], _finite_values(s.to_numpy(np.float64, na_value=np.nan), column, path)[:, None]
    if not (pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)):
        raise GoodfitError(f"column {column!r} in {path} has type {s.dtype}, which is not a feature goodfit "
                           "can use; convert it to numbers or drop the column")
    text = s.astype("string").str.strip()
    text = text.mask(text == "")  # a blank cell is a missing value
    numbers = pd.to_numeric(text, errors="coerce")
    present, parsed = int(text.notna().sum()), int(numbers.notna().sum())
    if present and parsed == present:
        return [column], _finite_values(numbers.to_numpy(np.float64, na_value=np.nan), column, path)[:, None]
    if present and parsed >= NUMERIC_SHARE * present:
        stray = text[text.notna() & numbers.isna()]
        raise GoodfitError(
            f"column {column!r} in {path} holds numbers but also text in {len(stray)} of {len(text)} rows, "
            f"e.g. {stray.iloc[0]!r}; replace those cells with numbers or drop those rows"
        )
    if present < len(text):
        raise GoodfitError(f"column {column!r} in {path} has no value in {len(text) - present} of {len(text)} "
                           "rows; fill those cells or drop those rows")
    distinct = text.nunique()
    if distinct > MAX_CATEGORIES:
        raise GoodfitError(
            f"column {column!r} in {path} has {distinct} distinct text values, too many to use as categories "
            f"(at most {MAX_CATEGORIES}); it is probably an ID, so drop the column"
        )
    onehot = pd.get_dummies(text, prefix=column, prefix_sep="=", dtype=np.float64)
    return list(onehot.columns), onehot.to_numpy()


def _empty_cells(df: pd.DataFrame, path: Path) -> None:
    """Refuse feature columns with empty cells, all of them named in one line (a blank text cell is empty too)."""
    empty = {}
    for column in df.columns:
        s = df[column]
        blank = s.isna() if pd.api.types.is_numeric_dtype(s) else s.isna() | (s.astype("string").str.strip() == "")
        if int(blank.sum()):
            empty[str(column)] = int(blank.sum())
    if len(empty) == 1:
        (column, n), = empty.items()
        raise GoodfitError(f"column {column!r} in {path} has no value in {n} of {len(df)} rows; fill those cells or "
                           "drop those rows")
    if empty:
        listed = _listed([f"{c!r} in {n}" for c, n in empty.items()])
        raise GoodfitError(f"{len(empty)} feature columns of {path} have no value in some of its {len(df)} rows: "
                           f"{listed}; fill those cells or drop those rows")


def _read_table(path: Path, target: str | None, task: str | None) -> Dataset:
    df = _read_frame(path)
    label = _target_column(df, target, path)
    y, classes, task, why = _target(df[label].to_numpy(), f"target column {label!r} in {path}", task)
    _empty_cells(df.drop(columns=label), path)
    names, blocks, notes = [], [], []
    for column in df.columns.drop(label):
        block_names, block = _feature_block(df[column], path)
        if len(block_names) > 1 or block_names[0] != str(column):
            notes.append(f"feature column {str(column)!r} holds text: one-hot encoded as {len(block_names)} columns "
                         f"({_listed(block_names, 4)})")
        names += block_names
        blocks.append(block)
    X = np.concatenate(blocks, axis=1).astype(np.float32)  # (N, D)
    return Dataset(path.name, X, y, "table", classes, feature_names=tuple(names), standardize=True, task=task,
                   target=label, why=f"column {label!r} holds {why}" if not why.startswith("--") else why,
                   notes=tuple(notes))


# --- arrays: NPZ ---------------------------------------------------------------------------------

def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # object arrays, damaged data
        raise GoodfitError(f"array {key!r} in {path} could not be loaded ({e}); save the file again with "
                           "numbers or strings only, e.g. np.savez(path, X=X, y=y.astype(str))") from None


def _shaped_features(X: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """X as float32 in the layout of its kind: `(N, D)` table, `(N, L)` sequence, `(N, C, H, W)` image."""
    if X.dtype.kind not in "biuf":
        raise GoodfitError(f"array 'X' in {path} has dtype {X.dtype}, not numbers; save the features as a "
                           "numeric array")
    X = X.astype(np.float32)
    if X.ndim == 2:
        return X, "table"
    if X.ndim == 3 and X.shape[1] == 1:
        return X[:, 0], "sequence"  # (N, 1, L) -> (N, L)
    if X.ndim == 3:
        X = X[:, None]  # (N, H, W) -> (N, 1, H, W)
    elif X.ndim == 4 and X.shape[1] not in (1, 3, 4) and X.shape[3] in (1, 3, 4):
        raise GoodfitError(f"array 'X' in {path} looks channels-last {X.shape}; save it as (N, C, H, W), "
                           "e.g. X.transpose(0, 3, 1, 2)")
    elif X.ndim != 4:
        raise GoodfitError(f"array 'X' in {path} has shape {X.shape}; save it as (N, D) for a table, (N, 1, L) "
                           "for sequences or (N, H, W) / (N, C, H, W) for images")
    if X.size and X.max() > 1.5:
        X = X / np.float32(255)  # 0..255 pixels to [0, 1]
    return X, "image"


def _read_npz(path: Path, task: str | None) -> Dataset:
    if not zipfile.is_zipfile(path):
        raise GoodfitError(f"{path} is not an .npz archive (it may be truncated or another format); "
                           "save it with np.savez(path, X=features, y=labels)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise GoodfitError(f"{path} could not be read as .npz ({e}); "
                           "save it with np.savez(path, X=features, y=labels)") from None
    with archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            raise GoodfitError(
                f"{path} has no array {' or '.join(map(repr, missing))}; arrays found: "
                f"{_listed(archive.files) or 'none'}; save it with np.savez(path, X=features, y=labels)"
            )
        X, labels = _npz_array(archive, "X", path), _npz_array(archive, "y", path)
    if labels.ndim != 1:
        raise GoodfitError(f"array 'y' in {path} has shape {labels.shape}; save one label per row, "
                           "e.g. y.ravel()")
    y, classes, task, why = _target(labels, f"array 'y' in {path}", task)
    X, kind = _shaped_features(X, path)
    names = tuple(f"x{i + 1}" for i in range(X.shape[1])) if kind == "table" else ()
    return Dataset(path.name, X, y, kind, classes, feature_names=names, standardize=kind == "table", task=task,
                   target="y", why=f"array 'y' holds {why}" if not why.startswith("--") else why)


# --- images: one sub-folder per class ------------------------------------------------------------

def _class_folders(path: Path) -> list[tuple[Path, list[Path]]]:
    """Each class sub-folder, sorted by name, with its image files sorted by name."""
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = [(f, sorted(p for p in f.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
             for f in folders]
    layout = f"put each class's images in its own sub-folder, e.g. {path.name}/cat/1.png and {path.name}/dog/2.png"
    if not any(files for _, files in found):
        raise GoodfitError(f"folder {path} is not an image folder: no sub-folder holds images "
                           f"({', '.join(IMAGE_SUFFIXES)}); {layout}, or pass a file")
    if len(found) < 2:
        raise GoodfitError(f"folder {path} has {len(found)} class sub-folder; a classifier needs at least two: "
                           f"{layout}")
    for folder, files in found:
        if not files:
            raise GoodfitError(f"class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                               "add images or remove the folder")
    return found


def _pixels(file: Path) -> np.ndarray:
    """The image as uint8, `(H, W)` when grayscale, `(H, W, 3)` otherwise."""
    try:
        with Image.open(file) as im:
            im.load()
            return np.asarray(im.convert("L" if im.mode in _GRAY_MODES else "RGB"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise GoodfitError(f"cannot read image {file} ({e}); replace or remove it") from None


def _read_image_folder(path: Path) -> Dataset:
    found = _class_folders(path)
    images, labels, first = [], [], None
    for label, (_, files) in enumerate(found):
        for file in files:
            pixels = _pixels(file)
            first = first or (file, pixels.shape[:2])
            if pixels.shape[:2] != first[1]:
                (h, w), (h0, w0) = pixels.shape[:2], first[1]
                raise GoodfitError(f"images differ in size: {first[0]} is {w0}x{h0}, {file} is {w}x{h}; "
                                   f"resize them to one size (e.g. {w0}x{h0})")
            images.append(pixels)
            labels.append(label)
    if all(p.ndim == 2 for p in images):
        X = np.stack(images)[:, None]  # (N, 1, H, W)
    else:
        rgb = [np.repeat(p[..., None], 3, axis=2) if p.ndim == 2 else p for p in images]
        X = np.stack(rgb).transpose(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
    X = X.astype(np.float32) / np.float32(255)
    classes = tuple(folder.name for folder, _ in found)
    return Dataset(path.name, X, np.array(labels, np.int64), "image", classes, standardize=False)


def read_path(path: Path, target: str | None = None, task: str | None = None) -> Dataset:
    """Read a data file or image folder into a `Dataset`.

    The format follows the path. A `.csv`, `.tsv` or `.txt` file (delimiter sniffed among comma,
    tab, semicolon and |) or a `.parquet` / `.pq` file is a table: `target` names its label
    column, numeric columns are features as they are and text columns are one-hot encoded
    (`color=red`). An `.npz` file holds arrays `X` and `y`: a 2-D `X` is a table, `(N, 1, L)` a
    sequence, `(N, H, W)` or `(N, C, H, W)` images (0..255 pixels are scaled to [0, 1]). A folder
    holds one sub-folder of images per class. Labels of any type become `0 .. C-1` in sorted
    order of their values, which name the classes.

    The task follows the target unless given: text and whole numbers with at most 20 distinct
    values (or class codes 0..C-1 with at least 5 rows each) are classes; fractional numbers
    and many distinct whole numbers are a regression target, read as float32.

    Args:
        path: the file or folder.
        target: the label column of a CSV or Parquet file. Default None; required for tables
            and refused for the other formats, which carry their labels.
        task: `classification` or `regression`, or None to decide from the target. Default None.

    Returns:
        The `Dataset`: standardized if it is a table, named after the file or folder.

    Raises:
        GoodfitError: when the file cannot be read or its contents cannot become a `Dataset`;
            the message says what to change.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     table = pathlib.Path(folder, "pets.csv")
        ...     _ = table.write_text("weight,color,kind\\n4.1,black,cat\\n30.5,brown,dog\\n3.8,black,cat\\n")
        ...     pets = read_path(table, target="kind")
        >>> pets.classes, pets.feature_names, pets.y.tolist()
        (('cat', 'dog'), ('weight', 'color=black', 'color=brown'), [0, 1, 0])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     table = pathlib.Path(folder, "pets.csv")
        ...     _ = table.write_text("kind,weight\\ncat,4.1\\ndog,30.5\\ncat,3.8\\n")
        ...     heavy = read_path(table, target="weight")
        >>> heavy.task, heavy.why, [round(v, 3) for v in heavy.y.tolist()]
        ('regression', "column 'weight' holds 3 distinct fractional numbers, e.g. 4.1", [4.1, 30.5, 3.8])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    is_table = not path.is_dir() and suffix in TEXT_SUFFIXES + PARQUET_SUFFIXES
    if target is not None and not is_table:
        raise GoodfitError(f"--target names a column of a CSV or Parquet file, but {path} carries its own "
                           "labels; leave out --target")
    if path.is_dir():
        if task == "regression":
            raise GoodfitError(f"folder {path} holds one sub-folder of images per class, which is classification; "
                               "for a numeric target save the images and targets in an .npz file (X, y)")
        return _read_image_folder(path)
    if is_table:
        return _read_table(path, target, task)
    if suffix == ".npz":
        return _read_npz(path, task)
    raise GoodfitError(f"{path}: files ending in {suffix or '(no suffix)'!r} are not supported; use a {_FORMATS}")
