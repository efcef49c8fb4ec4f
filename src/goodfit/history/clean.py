"""A log file's text as data: a CSV as a table that remembers each row's line, a JSON file, cells as numbers.

Cells that are not numbers become warnings naming their line; unreadable files become one-line errors.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from goodfit.errors import GoodfitError

_NA_WORDS = {"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a"}


def _data_lines(text: str, sep: str) -> tuple[list[int], list[str]]:
    """The file line of each data row (as pandas numbers them, blank lines skipped) and a warning per short row."""
    lines, warnings, header = [], [], None
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = row
            continue
        lines.append(reader.line_num)
        if len(row) < len(header):
            missing = ", ".join(header[len(row):])
            warnings.append(f"line {reader.line_num} has {len(row)} of {len(header)} fields; {missing} read as "
                            "not logged there")
    return lines, warnings


def _read_table(path: str | Path) -> pd.DataFrame:
    """A CSV as a DataFrame; `attrs` hold each row's line in the file and warnings about short rows."""
    p = Path(path)
    if not p.exists():
        raise GoodfitError(f"no file at {str(p)!r}; pass the path of a training log (CSV, JSON, TensorBoard events "
                           "or a run folder)")
    if p.is_dir():
        raise GoodfitError(f"{str(p)!r} is a folder; pass the CSV inside it (history.csv or metrics.csv)")
    try:
        if p.stat().st_size == 0:
            raise pd.errors.EmptyDataError
        with open(p, newline="", encoding="utf-8") as f:
            text = f.read()
        head = text[:4096]
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:  # one column, nothing to sniff
            sep = ","
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except pd.errors.EmptyDataError:
        raise GoodfitError(f"{str(p)!r} is empty; expected a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise GoodfitError(f"cannot read {str(p)!r} as CSV ({str(err).splitlines()[0]}); "
                           "expected a header row and one row per epoch") from None
    if frame.empty:
        raise GoodfitError(f"{str(p)!r} has a header ({', '.join(map(str, frame.columns))}) but no rows")
    lines, warnings = _data_lines(text, sep)
    frame.attrs["lines"] = lines if len(lines) == len(frame) else [i + 2 for i in range(len(frame))]
    frame.attrs["warnings"] = warnings
    return frame


def _numeric(frame: pd.DataFrame, column: str, source: str, warnings: list[str] | None = None) -> pd.Series:
    """A column as numbers. A cell that is not one (`abc`) is a warning naming its line and read as not
    logged; a column that is mostly such cells is an error."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    if raw.dtype == object or str(raw.dtype).startswith("str"):
        text = raw.astype(str).str.strip().str.lower()
        junk = np.flatnonzero((raw.notna() & values.isna() & ~text.isin(_NA_WORDS)).to_numpy())
        filled = int((raw.notna() & ~text.isin(_NA_WORDS)).sum())
        if len(junk):
            lines = frame.attrs.get("lines") or [i + 2 for i in range(len(frame))]
            where = ", ".join(f"line {lines[i]} ({raw.iloc[i]!r})" for i in junk[:3]) + (
                f" and {len(junk) - 3} more" if len(junk) > 3 else "")
            if 2 * len(junk) > filled:
                raise GoodfitError(f"{source}: column {column!r} is mostly not numbers ({len(junk)} of {filled} cells, "
                                   f"e.g. {where}); name the right column with --train-loss, --val-loss, --train-acc "
                                   "or --val-acc")
            if warnings is not None:
                warnings.append(f"column {column!r}: {where} {'is' if len(junk) == 1 else 'are'} not a number; "
                                "read as not logged")
    if values.notna().sum() == 0:
        raise GoodfitError(f"{source}: column {column!r} holds no numbers (first value {raw.iloc[0]!r})")
    return values


def _as_fraction(values: pd.Series, column: str, source: str) -> pd.Series:
    top = values[np.isfinite(values)].max() if np.isfinite(values).any() else values.max()
    if top > 100:
        raise GoodfitError(f"{source}: accuracy column {column!r} reaches {top:g}; expected a fraction or a percentage")
    return values / 100 if top > 1 else values


def _numeric_or_none(frame: pd.DataFrame, column: str, source: str, warnings: list[str]) -> pd.Series | None:
    """A column as numbers when it holds any (with `_numeric`'s warnings), else None: a column of text."""
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.notna().sum() == 0:
        return None
    return _numeric(frame, column, source, warnings)


def _read_json(path: str | Path):
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GoodfitError(f"cannot read {str(p)!r} as JSON ({str(err).splitlines()[0][:100]})") from None
