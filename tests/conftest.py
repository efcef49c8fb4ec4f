import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from goodfit.data import Conditions, load, split


@pytest.fixture(scope="session")
def digits_small():
    """300 digits images for training, split once for the whole session."""
    return split(load("digits"), Conditions(train_size=300), seed=0)


@pytest.fixture(scope="session")
def wine_splits():
    return split(load("wine"), Conditions(), seed=0)


@pytest.fixture(scope="session")
def mnist1d_small():
    return split(load("mnist1d"), Conditions(train_size=400), seed=0)


def make_splits(kind="table", n=120, shape=(6,), classes=3, seed=0):
    """A small random Splits of any kind, for fast engine tests."""
    from goodfit.data import Dataset

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n,) + shape).astype(np.float32)
    y = (np.arange(n) % classes).astype(np.int64)
    return split(Dataset("toy", X, y, kind, tuple(map(str, range(classes))), standardize=False), Conditions(), seed)


def results_json(result, out) -> dict:
    """A study's results.json as written to `out`, without the wall time and the command line."""
    from goodfit.report.outputs import write_outputs

    write_outputs(result, out)
    return read_results(out)


def read_results(out) -> dict:
    """The results.json in `out`, without the wall time and the command line."""
    payload = json.loads((out / "results.json").read_text())
    return {k: v for k, v in payload.items() if k not in ("seconds", "command")}


def units_written(out) -> int:
    """Units a study has stored so far in `out`/study.db; 0 while it has none or the file is busy."""
    try:
        with sqlite3.connect(out / "study.db", timeout=0.1) as db:
            return db.execute("SELECT count(*) FROM units").fetchone()[0]
    except sqlite3.Error:
        return 0


def goodfit_here(args, monkeypatch) -> tuple[int, str, str]:
    """`goodfit ARGS` run in this process as the console script runs it, at 80 columns: exit code, stdout, stderr."""
    import contextlib
    import io
    import sys

    from rich.console import Console

    from goodfit import cli

    monkeypatch.setattr(sys, "argv", ["goodfit", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(cli, "console", Console())  # a console that reads sys.stdout when it prints
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main()
        except SystemExit as done:
            code = done.code or 0
    return code, out.getvalue(), err.getvalue()


BLOCKING_STUDY = Path(__file__).resolve().parent / "blocking_study.py"


def stopped_at(point: str, signals: Path, *args) -> subprocess.Popen:
    """`goodfit ARGS` started and stopped at `point` (tests/blocking_study.py), still running there."""
    signals.mkdir()
    proc = subprocess.Popen([sys.executable, str(BLOCKING_STUDY), str(signals), point, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (signals / "reached").exists():
        assert proc.poll() is None, f"the study ended before {point}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"the study did not reach {point} in 120 s"
        time.sleep(0.02)
    return proc
