"""A study's output files beside its `study.db`: `results.json` and `report.html`.

`Study.run(out)` keeps the store; `write_outputs` writes these two from its result, as `goodfit study --out`
and `goodfit report DIR` do. Each is written whole to a temporary name in the same folder and then renamed
over the old one, so a reader never sees half a file and a failed write leaves the previous file as it was.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from goodfit.atomic import write_atomic
from goodfit.errors import GoodfitError
from goodfit.report.html import render_html
from goodfit.report.verdict import verdict, verdicts


def json_ready(value):
    """`value` with NaN and infinities as None, numpy scalars and arrays as Python, tuples as lists.

    Example:
        >>> json_ready({"p": float("nan"), "d": (np.float32(0.5), np.inf)})
        {'p': None, 'd': [0.5, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def study_payload(result) -> dict:
    """A `StudyResult`'s numbers (`to_dict`) with the verdict's words: `verdict`, the whole, and `verdicts`,
    each condition's."""
    return {**result.to_dict(), "verdict": verdict(result), "verdicts": verdicts(result)}


def results_json(result, command: str | None = None, seconds: float | None = None) -> str:
    """The text of `results.json`: `study_payload(result)` with the command and wall time; keys sorted, NaN as
    null."""
    payload = {**study_payload(result), "command": command, "seconds": seconds}
    return json.dumps(json_ready(payload), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _previous(path: Path) -> dict:
    """The `results.json` already in the folder, or {} when there is none or it cannot be read."""
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return previous if isinstance(previous, dict) else {}


def write_outputs(result, out: str | Path, command: str | None = None, report: bool = True) -> dict[str, Path]:
    """Write `results.json` and `report.html` of a study into its output folder.

    Both are rendered in memory first, then each replaces its old version in one rename. When
    `command` is None (as when `goodfit report` rebuilds the files from `study.db`), the command
    recorded in an existing `results.json` is kept; so is its wall time when this result trained
    nothing (a rebuilt result knows no wall time of its own).

    Args:
        result: a `StudyResult`, as `Study.run(out)` returns it.
        out: the study's output folder (it holds `study.db`); created when missing.
        command: the command line that ran the study, for the report's "reproduce" part. Default None.
        report: also render `report.html` (its figures take seconds); False writes `results.json` alone,
            as a recipe's rungs do without `--reports`. Default True.

    Returns:
        Paths by name: `results`, `report` (when written) and `store` (`study.db`, written by the study itself).

    Raises:
        GoodfitError: a file cannot be written (disk full, no permission); the one-line message
            names the file and the fix, and the previous file stays intact.

    Example:
        >>> import tempfile
        >>> from goodfit import Study
        >>> with tempfile.TemporaryDirectory() as out:
        ...     result = Study("wine", arms=["dropout=0.5"], seeds=2, epochs=2).run(out)
        ...     files = write_outputs(result, out, report=False)
        ...     said = json.loads(files["results"].read_text())["verdict"]
        >>> sorted(files), "On wine with all training data" in said
        (['results', 'store'], True)
    """
    out = Path(out)
    files = {"results": out / "results.json", "report": out / "report.html", "store": out / "study.db"}
    previous = _previous(files["results"])
    if command is None:
        command = previous.get("command")
    seconds = round(float(result.seconds), 3)
    texts = {"results": results_json(result, command, seconds)}
    if report:
        texts["report"] = render_html(result, command, seconds)
    else:
        del files["report"]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GoodfitError(f"cannot create output folder {str(out)!r}: {err.strerror or err}; "
                           "pass a folder you can write to") from None
    for name, text in texts.items():
        write_atomic(files[name], text, hint=f"run `goodfit report {out}` to write it again")
    return files
