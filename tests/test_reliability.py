"""Reliability: the same command gives the same bytes, nothing is written outside --out, a full disk
loses nothing, and hostile names stay text in a real browser."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from goodfit import Arm, Conditions, Dropout, TrainConfig, verdict_of
from goodfit.errors import GoodfitError
from goodfit.study import Study, StudyResult

HOSTILE = "<script>document.title='pwned'</script>"
STUDY = ["study", "--data", "wine", "--seeds", "2", "--epochs", "4", "--arms", "baseline,dropout", "--json"]


def goodfit(args, cwd):
    return subprocess.run([sys.executable, "-m", "goodfit", *args], capture_output=True, text=True, cwd=cwd)


def without_timings(path: Path) -> str:
    data = json.loads(path.read_text())
    data.pop("seconds")
    return json.dumps(data, sort_keys=True)


def test_the_same_command_twice_gives_identical_results(tmp_path):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        r = goodfit(STUDY + ["--out", "s"], cwd=tmp_path / run)
        assert r.returncode == 0, r.stderr
    a, b = (tmp_path / run / "s" / "results.json" for run in ("a", "b"))
    assert without_timings(a) == without_timings(b)


def test_nothing_is_written_outside_the_output_folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    r = goodfit(STUDY + ["--out", "out"], cwd=work)
    assert r.returncode == 0, r.stderr
    written = {p.relative_to(work).parts[0] for p in work.rglob("*")}
    assert written == {"out"}
    assert sorted(p.name for p in (work / "out").iterdir()) == ["report.html", "results.json", "study.db"]


def test_a_full_disk_while_writing_the_report_keeps_the_store_consistent(tmp_path, monkeypatch):
    from goodfit import atomic
    from goodfit.report.outputs import write_outputs

    study = Study("wine", arms=[Arm("baseline"), Arm("d", (Dropout(0.5),))], seeds=2, epochs=3,
                  conditions=[Conditions()], train=TrainConfig())
    result = study.run(tmp_path)

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", disk_full)
    with pytest.raises(GoodfitError, match="No space left on device.*goodfit report"):
        write_outputs(result, tmp_path)
    monkeypatch.undo()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    rebuilt = StudyResult.from_store(tmp_path)
    assert verdict_of(rebuilt) == verdict_of(result)
    write_outputs(rebuilt, tmp_path)
    assert (tmp_path / "report.html").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_hostile_arm_name_does_not_run_in_a_headless_browser(tmp_path):
    from goodfit.report.outputs import write_outputs

    arms = [Arm("baseline"), Arm(HOSTILE, (Dropout(0.5),))]
    result = Study("wine", arms=arms, seeds=2, epochs=3).run(tmp_path)
    write_outputs(result, tmp_path, command=f"goodfit study --arms '{HOSTILE}'")
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", (tmp_path / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)}).stdout
    assert "<title>" in dom and "pwned" not in dom.split("</title>")[0]
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;" in dom
