"""The Ray executor: the local executor's results, failed units recorded and retrained, dead workers retried.

Tests that need Ray share one local Ray runtime with 2 CPUs and skip when ray is not installed;
the others (ray stays optional, the CLI's messages) run without it.
"""
import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from goodfit import Arm, Conditions, Dropout, Study, TrainConfig
from goodfit.executors import Failure, LocalExecutor
from goodfit.store import Store

from conftest import results_json as results

FAST = TrainConfig(epochs=3, batch_size=16)


@dataclass(frozen=True)
class Net:
    """A model factory for wine (13 features, 3 classes) that misbehaves on purpose, steered by files.

    While `fail_while` exists, members with dropout raise. The first Ray worker to build a model
    while `die_once` does not exist creates it and kills its own process. The paths stay out of
    repr, hence out of the plan, so every `Net` makes the same plan.
    """

    fail_while: str = field(default="", repr=False)
    die_once: str = field(default="", repr=False)
    driver: int = field(default_factory=os.getpid, repr=False)

    def __call__(self, dropout: float = 0.0):
        from torch import nn

        if dropout and self.fail_while and os.path.exists(self.fail_while):
            raise ValueError("this unit fails on purpose")
        if self.die_once and os.getpid() != self.driver:
            try:
                os.close(os.open(self.die_once, os.O_CREAT | os.O_EXCL))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
        return nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))


def study(model="mlp"):
    return Study("wine", model, [Arm("baseline"), Arm("dropout", (Dropout(0.5),))], seeds=2, epochs=3,
                 conditions=[Conditions(train_size=40), Conditions(train_size=80)], train=FAST)


@pytest.fixture(scope="module")
def ray_runtime():
    import ray
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_net(tmp_path_factory):
    """The custom-model study through the local executor: the reference."""
    out = tmp_path_factory.mktemp("local_net")
    return results(study(Net()).run(out), out)


def test_ray_gives_the_same_results_json_as_the_local_executor(ray_runtime, tmp_path):
    from goodfit.executors.ray import RayExecutor

    local = results(study().run(tmp_path / "local", executor=LocalExecutor()), tmp_path / "local")
    on_ray = study().run(tmp_path / "ray", executor=RayExecutor())
    assert on_ray.units_trained == 2 and on_ray.failed == {}
    assert results(on_ray, tmp_path / "ray") == local


def test_a_failing_unit_is_recorded_the_rest_completes_and_a_rerun_trains_only_it(ray_runtime, tmp_path, local_net):
    from goodfit.executors.ray import RayExecutor

    flag = tmp_path / "fail"
    flag.touch()
    events = []
    first = study(Net(fail_while=str(flag))).run(tmp_path / "s", RayExecutor(), on_event=events.append)
    assert set(first.failed) == {"c0-custom-dropout=0.5", "c1-custom-dropout=0.5"}
    assert all(e == "ValueError: this unit fails on purpose" for e in first.failed.values())
    assert {(r["condition"], r["arm"]) for r in first.records} == {(0, "baseline"), (1, "baseline")}
    assert [e["type"] for e in events].count("unit_failed") == 2
    store = Store(tmp_path / "s" / "study.db")
    assert "ValueError: this unit fails on purpose" in store.failures()["c0-custom-dropout=0.5"]
    store.close()
    flag.unlink()
    rerun = study(Net()).run(tmp_path / "s", RayExecutor())
    assert rerun.units_trained == 2 and rerun.failed == {}
    assert results(rerun, tmp_path / "s") == local_net


def test_a_killed_worker_is_retried_and_the_study_completes_identically(ray_runtime, tmp_path, local_net):
    from goodfit.executors.ray import RayExecutor

    gone = study(Net(die_once=str(tmp_path / "died-a"))).run(tmp_path / "s", RayExecutor(max_retries=0))
    [error] = gone.failed.values()
    assert error.startswith("WorkerCrashedError: ") and error.endswith("(its worker died 1 time(s))"), error
    retried = study(Net(die_once=str(tmp_path / "died-b"))).run(tmp_path / "s", RayExecutor(max_retries=3))
    assert (tmp_path / "died-b").exists(), "no worker died, so nothing was retried"
    assert retried.units_trained == 1 and retried.failed == {}
    assert results(retried, tmp_path / "s") == local_net


def test_importing_goodfit_never_imports_ray():
    code = ("import sys, goodfit, goodfit.cli, goodfit.study, goodfit.executors.ray\n"
            "from goodfit.executors import EXECUTORS\n"
            "assert 'ray' in EXECUTORS and 'ray' not in sys.modules, sorted(m for m in sys.modules if 'ray' in m)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"
            "from goodfit.cli import main\n"
            f"sys.argv = ['goodfit', 'study', '--data', 'wine', '--executor', 'ray', '--out', {str(tmp_path)!r}]\n"
            "main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert 'pip install "goodfit[ray]"' in r.stderr


def test_address_without_the_ray_executor_is_refused(tmp_path):
    r = subprocess.run([sys.executable, "-m", "goodfit", "study", "--data", "wine", "--address", "ray://head:10001",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "add --executor ray" in r.stderr, r.stderr


class FailsLastUnit(LocalExecutor):
    def run(self, tasks, work, on_result, on_epoch=None):
        tasks = list(tasks)
        for task in tasks[:-1]:
            on_result(task, work(task, on_epoch))
        on_result(tasks[-1], Failure("ValueError: out of luck", "Traceback ..."))


def test_cli_names_the_failed_units_exits_1_and_a_rerun_finishes(tmp_path, monkeypatch, capsys):
    from goodfit import cli
    from goodfit.executors import EXECUTORS

    args = ["goodfit", "study", "--data", "wine", "--seeds", "2", "--epochs", "2", "--arms", "baseline,dropout",
            "--train-size", "40,80", "--one-split", "--json", "--out", str(tmp_path)]  # two units: one per size
    monkeypatch.setitem(EXECUTORS, "ray", lambda **options: FailsLastUnit())
    monkeypatch.setattr(sys, "argv", args + ["--executor", "ray"])
    with pytest.raises(SystemExit) as failed:
        cli.main()
    err = capsys.readouterr().err
    assert failed.value.code == 1 and err.count("\n") == 1, err
    assert "1 of 2 unit(s) failed" in err and "c1-mlp-w256-d2 (ValueError: out of luck)" in err
    assert not (tmp_path / "results.json").exists()
    monkeypatch.setattr(sys, "argv", args)
    cli.main()
    assert json.loads(capsys.readouterr().out)["arms"]
    assert len(json.loads((tmp_path / "results.json").read_text())["members"]) == 8


def test_the_cli_runs_a_study_on_a_ray_runtime_it_starts_and_matches_local(tmp_path):
    args = [sys.executable, "-m", "goodfit", "study", "--data", "wine", "--seeds", "2", "--epochs", "3",
            "--arms", "baseline,dropout", "--train-size", "40,80", "--json"]
    runs = {}
    for executor in ("local", "ray"):
        r = subprocess.run(args + ["--executor", executor, "--out", str(tmp_path / executor)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        payload = json.loads((tmp_path / executor / "results.json").read_text())
        runs[executor] = {k: v for k, v in payload.items() if k not in ("seconds", "command")}
    assert runs["ray"] == runs["local"]
    assert (tmp_path / "ray" / "report.html").exists()


def test_joining_retries_a_client_session_that_failed_to_start_and_nothing_else(monkeypatch):
    from goodfit.errors import GoodfitError
    from goodfit.executors import ray as goodfit_ray

    class Flaky:
        def __init__(self, errors):
            self.errors, self.calls = list(errors), 0

        def is_initialized(self):
            return False

        def init(self, **options):
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)

    monkeypatch.setattr(goodfit_ray.time, "sleep", lambda seconds: None)
    executor = goodfit_ray.RayExecutor(address="ray://head:10001")
    busy = Flaky([ConnectionAbortedError("Initialization failure from server")])
    assert executor._connect(busy) is True and busy.calls == 2
    down = Flaky([ConnectionRefusedError("connection refused")])
    with pytest.raises(GoodfitError, match="could not join the Ray cluster"):
        executor._connect(down)
    assert down.calls == 1


def test_a_study_of_a_training_function_on_ray_matches_the_local_executor(ray_runtime, tmp_path):
    from goodfit.executors.ray import RayExecutor

    """Members that are calls of a function defined here (pickled by value) run as Ray tasks, with the same
    results as in this process."""
    import numpy as np
    import pandas as pd

    def fit(settings, seed):
        rng = np.random.default_rng(seed)
        epochs = np.arange(1, settings.epochs + 1)
        val = 1 / epochs + (0.03 - 0.1 * (settings.dropout or 0)) * epochs + rng.normal(0, 0.005, len(epochs))
        return pd.DataFrame({"epoch": epochs, "loss": 1 / epochs, "val_loss": val, "val_accuracy": 0.9 - 0.1 * val})

    def run(out, executor=None):
        return Study(fit=fit, arms=["baseline", "dropout=0.3"], seeds=2, epochs=6).run(out, executor=executor)

    local, on_ray = run(tmp_path / "local"), run(tmp_path / "ray", RayExecutor())
    assert results(local, tmp_path / "local") == results(on_ray, tmp_path / "ray")
