"""A second run of a study on the same folder refuses at once, naming the first; nothing is trained twice.

The studies here are real `goodfit study` processes; the lock they hold is `study.db.lock` beside `study.db`.
The first study is held at a known point (`tests/blocking_study.py`) while the second one and the report
try the folder, so nothing depends on how fast this machine trains.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import stopped_at, units_written

from goodfit.errors import GoodfitError
from goodfit.store import Store
from goodfit.study import StudyResult

ARGS = ["study", "--data", "wine", "--seeds", "2", "--epochs", "4", "--arms", "baseline,dropout", "--json"]
ONE = [*ARGS, "--train-size", "40"]  # one unit of 4 members
TWO = [*ARGS, "--train-size", "40,60"]  # two units


def goodfit(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "goodfit", *map(str, args)], capture_output=True, text=True, **kwargs)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "goodfit", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def holder(out) -> dict:
    try:
        return json.loads((out / "study.db.lock").read_text())
    except (OSError, ValueError):
        return {}


def test_a_second_study_on_the_same_folder_refuses_at_once_and_report_reads_while_the_first_runs(tmp_path):
    out, signals = tmp_path / "s", tmp_path / "signals"
    first = stopped_at("unit:1:epoch:2", signals, *ONE, "--out", out)  # training its only unit, and waiting there
    try:
        assert holder(out).get("pid") == first.pid
        began = time.monotonic()
        second, report = start(*ONE, "--out", out), start("report", out, "--json")
        printed, err = second.communicate(timeout=60)
        took = time.monotonic() - began
        report_err = report.communicate(timeout=60)[1]
        assert first.poll() is None  # still held at its point: nothing could have finished meanwhile
        assert second.returncode == 2 and err.count("\n") == 1 and printed == "", err
        assert f"{out} is in use by goodfit study --data wine" in err, err
        assert f"(pid {first.pid} on " in err and "pass another --out" in err, err
        print(f"\nsecond run refused in {took:.1f} s: {err.strip()}\nreport meanwhile: {report_err.strip()}")
        assert report.returncode == 2 and report_err.count("\n") == 1, report_err  # read, not blocked by the lock
        assert "holds no finished members yet; goodfit study --data wine" in report_err, report_err
        assert f"(pid {first.pid} on " in report_err and "run goodfit report again when it ends" in report_err
        assert units_written(out) == 0
    finally:
        (signals / "release").touch()
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert len(json.loads((out / "results.json").read_text())["members"]) == 4
    assert goodfit("report", out).returncode == 0
    assert units_written(out) == 1
    assert not (out / "study.db.lock").exists()


def test_the_lock_of_a_killed_study_is_taken_over(tmp_path):
    out = tmp_path / "s"
    killed = stopped_at("saved:1", tmp_path / "signals", *TWO, "--out", out)  # one unit stored, one to go
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert holder(out)["pid"] == killed.pid  # the file outlives its process; its lock does not
    assert units_written(out) == 1
    report = goodfit("report", out)
    assert report.returncode == 2 and report.stderr.count("\n") == 1, report.stderr
    assert report.stderr.endswith("; run the study command again to train them\n"), report.stderr
    again = goodfit(*TWO, "--out", out, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(json.loads((out / "results.json").read_text())["members"]) == 8
    assert units_written(out) == 2
    assert not (out / "study.db.lock").exists()


def test_a_store_held_by_another_process_is_refused_with_one_line_naming_it(tmp_path):
    path = tmp_path / "study.db"
    code = (f"import sys, time; from goodfit.store import Store; s = Store({str(path)!r}, lock=True); "
            "print('held', flush=True); time.sleep(60)")
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        with pytest.raises(GoodfitError) as refused:
            Store(path, lock=True)
        message = str(refused.value)
        assert message.startswith(f"{tmp_path} is in use by python -c (pid {other.pid} on "), message
        assert "\n" not in message and message.endswith("wait for it to finish, or pass another --out")
        reader = Store(path)  # reading needs no lock
        assert reader.finished_units() == set()
        reader.close()
    finally:
        other.kill()
        other.wait()
    Store(path, lock=True).close()  # its process is gone, so is its lock
    assert not (tmp_path / "study.db.lock").exists()


def test_a_store_this_process_left_open_gives_its_lock_to_the_next(tmp_path):
    """As when a study interrupted in a notebook keeps its store alive in the traceback."""
    left_open = Store(tmp_path / "study.db", lock=True)
    again = Store(tmp_path / "study.db", lock=True)
    left_open.close()  # the lock is no longer its to remove
    assert (tmp_path / "study.db.lock").exists()
    again.close()
    assert not (tmp_path / "study.db.lock").exists()


def test_a_unit_or_member_stored_by_another_writer_keeps_the_first_copy(tmp_path):
    first, second = Store(tmp_path / "study.db"), Store(tmp_path / "study.db")

    def unit(member, loss):
        record = {"member": member, "condition": 0, "arm": "baseline", "seed": 0, "loss": loss}
        return [record], {member: pd.DataFrame({"epoch": [1, 2], "train_loss": [loss, loss]})}

    assert first.save_unit("u1", 1.0, *unit("m1", 0.5))
    assert not second.save_unit("u1", 2.0, *unit("m1", 0.9))  # the same unit again: no IntegrityError
    assert second.save_unit("u2", 3.0, *unit("m1", 0.9))  # its member is stored already, under u1
    assert [r["loss"] for r in first.records()] == [0.5]
    assert first.history()["train_loss"].tolist() == [0.5, 0.5]
    assert first.unit_seconds() == {"u1": 1.0, "u2": 3.0}
    first.close()
    second.close()


def test_report_on_a_study_without_a_baseline_on_every_condition_says_so_in_one_line(tmp_path):
    store = Store(tmp_path / "study.db", lock=True)  # a study training it, as far as the report can tell
    store.bind_plan({"conditions": [{"train_size": 40}, {"train_size": 80}]})
    record = {"member": "c0-baseline-0", "condition": 0, "arm": "baseline", "seed": 0}
    store.save_unit("c0-mlp", 1.0, [record], {"c0-baseline-0": pd.DataFrame({"epoch": [1], "train_loss": [0.5]})})
    with pytest.raises(GoodfitError) as running:
        StudyResult.from_store(tmp_path)
    store.close()
    with pytest.raises(GoodfitError) as stopped:
        StudyResult.from_store(tmp_path)
    begins = f"{tmp_path / 'study.db'} holds a finished baseline for 1 of 2 conditions yet; "
    assert str(running.value).startswith(begins) and f"(pid {os.getpid()} on " in str(running.value)
    assert str(running.value).endswith(" is training it; run goodfit report again when it ends")
    assert str(stopped.value) == begins + "run the study command again to train them"
