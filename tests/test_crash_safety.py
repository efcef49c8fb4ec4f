"""A study killed with SIGKILL at any moment resumes to the same results, losing and repeating nothing."""
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import units_written

ARGS = ["study", "--data", "wine", "--seeds", "2", "--epochs", "15", "--arms", "baseline,dropout",
        "--train-size", "40,60,80,100", "--json"]
UNITS = 4  # one a train size


def start(out):
    return subprocess.Popen([sys.executable, "-m", "goodfit", *ARGS, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(out):
    r = subprocess.run([sys.executable, "-m", "goodfit", *ARGS, "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads((out / "results.json").read_text())


def kill_when(proc, out, seconds=None, units=None):
    """SIGKILL the study at `seconds` or once `units` are written; the units it had written when it died."""
    deadline = time.time() + 60
    while proc.poll() is None and time.time() < deadline:
        if seconds is not None and time.time() - proc.started >= seconds:
            break
        if units is not None and units_written(out) >= units:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the study ended before it was killed: {proc.communicate()[1].decode()}"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    return units_written(out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    began = time.time()
    results = finish(tmp_path_factory.mktemp("whole"))
    results["seconds"] = time.time() - began  # the whole command, for the timed kill points
    return results


def members_of(results):
    return sorted(json.dumps(m, sort_keys=True) for m in results["members"])


@pytest.mark.parametrize("point", ["0.3s", "after 1 unit", "after 2 units", "after 3 units", "at 50%", "at 70%"])
def test_killed_study_resumes_to_identical_results(tmp_path, reference, point):
    out = tmp_path / "s"
    proc = start(out)
    proc.started = time.time()
    if point.startswith("at "):  # a share of the whole command's time on this machine, late in the study
        written = kill_when(proc, out, seconds=float(point[3:-1]) / 100 * reference["seconds"])
    elif not point.startswith("after"):
        written = kill_when(proc, out, seconds=float(point[:-1]))
    else:
        written = kill_when(proc, out, units=int(point.split()[1]))
        assert written >= int(point.split()[1])
    # it died mid-study (kill_when checked it was still running): before results.json, all units or not
    assert written <= UNITS and not (out / "results.json").exists()
    resumed = finish(out)
    assert members_of(resumed) == members_of(reference)
    with sqlite3.connect(out / "study.db") as db:
        keys = [k for (k,) in db.execute("SELECT member FROM members")]
        rows = db.execute("SELECT count(*) FROM history").fetchone()[0]
    assert len(keys) == len(set(keys)) == 16
    assert rows == sum(m["epochs_run"] for m in reference["members"])
