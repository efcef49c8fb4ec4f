"""A study killed with SIGKILL resumes to the same results, losing and repeating nothing.

Each study is stopped at a known point (`tests/blocking_study.py`: inside a unit's training, inside the
transaction that writes a unit, after the last unit was stored) and killed there, so what it had stored is
known exactly; the same command then resumes it, and every member must equal an uninterrupted run's.
"""
import json
import signal
import sqlite3
import subprocess
import sys

import pytest
from conftest import stopped_at, units_written

ARGS = ["study", "--data", "wine", "--seeds", "2", "--epochs", "6", "--arms", "baseline,dropout",
        "--train-size", "40,60,80,100"]
UNITS, MEMBERS = 4, 16  # a unit per train size, each of 2 arms x 2 seeds


def goodfit(out) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goodfit", *ARGS, "--out", str(out)], capture_output=True, text=True)


def stored(out) -> dict[str, str]:
    """Each stored member's record as study.db holds it."""
    with sqlite3.connect(out / "study.db") as db:
        return dict(db.execute("SELECT member, record FROM members").fetchall())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    done = goodfit(out)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results.json").read_text())


def members_of(results):
    return sorted(json.dumps(m, sort_keys=True) for m in results["members"])


@pytest.mark.parametrize("point, units", [
    ("unit:1:epoch:3", 0),  # inside the first unit's training
    ("writing:2", 1),  # inside the transaction writing the second unit: it must roll back
    ("unit:3:epoch:4", 2),  # inside a later unit's training
    ("saved:4", 4),  # every unit stored, results.json and report.html not yet written
])
def test_killed_study_resumes_to_identical_results(tmp_path, reference, point, units):
    out = tmp_path / "s"
    proc = stopped_at(point, tmp_path / "signals", *ARGS, "--out", out)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert units_written(out) == units and not (out / "results.json").exists()
    before = stored(out)
    assert len(before) == 4 * units  # a unit's members are stored with it or not at all
    resumed = goodfit(out)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({UNITS - units} unit(s) trained now;" in " ".join(resumed.stdout.split())  # none trained twice
    after = stored(out)
    assert {k: after[k] for k in before} == before  # nothing stored before the kill was lost or rewritten
    results = json.loads((out / "results.json").read_text())
    assert members_of(results) == members_of(reference)
    with sqlite3.connect(out / "study.db") as db:
        keys = [k for (k,) in db.execute("SELECT member FROM members")]
        rows = db.execute("SELECT count(*) FROM history").fetchone()[0]
    assert len(keys) == len(set(keys)) == MEMBERS
    assert rows == sum(m["epochs_run"] for m in reference["members"])
