"""A real two-node Ray cluster on this machine, secured with a token as `ray start` secures it.

One cluster serves the module: a head and a second node, each started with `ray start --block`
(1 CPU each) in a process group of its own, and stopped at the end by those process ids. A
one-unit study of 8 members is cut in two and spreads over both nodes; joined through `ray://`
with the user's token (and refused in one line without it); a node killed mid-study loses its
sub-population to a retry and the study completes. Results equal the local executor's within the
engine's population-independence tolerance (`DEVELOPERS.md`: a member's sums may differ by a few
float32 ulps with the number of members in the call, and here a population of 8 trains as two of 4).
"""
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from goodfit import Arm, Study, TrainConfig, WeightDecay
from goodfit.errors import GoodfitError
from goodfit.executors import LocalExecutor

from conftest import read_results, results_json

RAY = Path(sys.executable).with_name("ray")
SRC = str(Path(__file__).resolve().parents[1] / "src")
REL, ABS = 1e-5, 1e-6  # 16 float32 ulps are 2e-6 of a value; aggregates over members stay within 1e-5


@dataclass(frozen=True)
class Placed:
    """A model factory for wine that tells where it was built, steered by fields kept out of the plan.

    Each Ray worker that builds a model leaves a file `<process group of its raylet>-<pid>` in
    `where`: the process group names the node (each node is a `ray start` of its own group). A
    worker on the node whose group is `stall_in` then waits there until that node is killed.
    """

    where: str = field(default="", repr=False)
    stall_in: int = field(default=0, repr=False)
    driver: int = field(default_factory=os.getpid, repr=False)

    def __call__(self):
        from torch import nn

        if self.where and os.getpid() != self.driver:
            node = os.getpgid(os.getppid())  # a worker's parent is its node's raylet
            Path(self.where, f"{node}-{os.getpid()}").touch()
            while node == self.stall_in:
                time.sleep(0.05)
        return nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))


def one_unit_study(model=Placed()) -> Study:
    """One unit of 8 members: weight decay leaves the architecture alone, so both arms train together."""
    return Study("wine", model, [Arm("baseline"), Arm("l2", (WeightDecay(1e-3),))], seeds=4, epochs=3,
                 train=TrainConfig(epochs=3, batch_size=16))


def assert_same(a, b, where="results"):
    """Equal JSON, floats within `REL` or `ABS`."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), where
        same = a == b or math.isclose(a, b, rel_tol=REL, abs_tol=ABS) or (math.isnan(a) and math.isnan(b))
        assert same, f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_the_tolerance_tells_a_few_ulps_from_a_real_difference():
    assert_same({"x": [1.0, "a"]}, {"x": [1.0 + 1e-7, "a"]})
    with pytest.raises(AssertionError):
        assert_same({"x": [0.5]}, {"x": [0.5001]})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(args: list, log: Path, env: dict) -> subprocess.Popen:
    """`ray start ... --block` in a process group of its own; returns once its node is up."""
    proc = subprocess.Popen([str(RAY), "start", "--block", "--num-cpus", "1", "--disable-usage-stats", *args],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 90
    while "will now block" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    """Stop a `ray start --block` by its process id, then anything left in its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@dataclass
class Cluster:
    address: str  # ray://127.0.0.1:PORT
    gcs_port: int
    head: subprocess.Popen
    node: subprocess.Popen
    env: dict  # what a shell of the user's holds: the token, no RAY_AUTH_MODE, a HOME without ~/.ray
    workers: set = field(default_factory=set)  # pids of the workers that trained, stopped at the end too


@pytest.fixture(scope="module")
def cluster():
    import ray
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    base = Path(tempfile.mkdtemp(prefix="gf-ray-"))  # short: Ray's socket paths must fit in 107 characters
    token, port, client_port = secrets.token_hex(16), _free_port(), _free_port()
    env = {**os.environ, "HOME": str(base), "RAY_AUTH_TOKEN": token,
           "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
    env.pop("RAY_AUTH_MODE", None)
    common = ["--temp-dir", str(base / "r")]
    started, cluster = [], None
    try:  # the head turns token authentication on because a token is there; the second node is told to
        started.append(_ray_start(["--head", "--port", str(port), "--ray-client-server-port", str(client_port),
                                   "--include-dashboard", "false", *common], base / "head.log", env))
        started.append(_ray_start(["--address", f"127.0.0.1:{port}", *common], base / "node.log",
                                  {**env, "RAY_AUTH_MODE": "token"}))
        user = {k: v for k, v in env.items() if k != "PYTHONPATH"} | {"PYTHONPATH": SRC}
        cluster = Cluster(f"ray://127.0.0.1:{client_port}", port, *started, user)
        yield cluster
    finally:
        for proc in reversed(started):
            _stop(proc)
        for pid in cluster.workers if cluster else ():  # a worker outlives its raylet only briefly
            if not _gone(pid, wait=10):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The one-unit study through the local executor: the reference."""
    out = tmp_path_factory.mktemp("local")
    return results_json(one_unit_study().run(out, LocalExecutor()), out)


def _with_token(monkeypatch, cluster: Cluster) -> None:
    """This process as the user's shell: the token in the environment, RAY_AUTH_MODE unset."""
    for key in ("RAY_AUTH_TOKEN", "HOME"):
        monkeypatch.setenv(key, cluster.env[key])
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)


def _marks(where: Path, cluster: Cluster) -> dict[int, set[int]]:
    """Worker pids by node (raylet process group), from `Placed`'s files; the cluster notes them to stop them."""
    nodes: dict[int, set[int]] = {}
    for f in where.iterdir():
        node, pid = map(int, f.name.split("-"))
        nodes.setdefault(node, set()).add(pid)
        cluster.workers.add(pid)
    return nodes


def _gone(pid: int, wait: float) -> bool:
    """Whether process `pid` has exited (a zombie counts as exited), waiting up to `wait` seconds."""
    import psutil

    deadline = time.monotonic() + wait
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_a_one_unit_study_spreads_over_both_nodes_and_matches_the_local_executor(cluster, local, tmp_path,
                                                                                 monkeypatch):
    from goodfit.executors.ray import RayExecutor

    _with_token(monkeypatch, cluster)
    where = tmp_path / "marks"
    where.mkdir()
    study = one_unit_study(Placed(str(where)))
    assert len(study.tasks()) == 1 and len(study.tasks()[0].members) == 8
    result = study.run(tmp_path / "s", RayExecutor(address=cluster.address))
    assert result.units_trained == 1 and result.failed == {}
    assert set(_marks(where, cluster)) == {cluster.head.pid, cluster.node.pid}  # a sub-population on each node
    assert_same(results_json(result, tmp_path / "s"), local)
    assert os.environ.get("RAY_AUTH_MODE") is None  # token mode was on for the run only


def test_the_cli_joins_through_ray_client_with_the_users_token_and_matches_local(cluster, tmp_path, monkeypatch,
                                                                                 capsys):
    from goodfit import cli

    args = ["--data", "wine", "--seeds", "4", "--epochs", "3", "--arms", "baseline,dropout", "--json"]
    r = subprocess.run([sys.executable, "-m", "goodfit", "study", *args, "--executor", "ray", "--address",
                        cluster.address, "--out", str(tmp_path / "ray")], env=cluster.env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    monkeypatch.setattr(sys, "argv", ["goodfit", "study", *args, "--out", str(tmp_path / "local")])
    cli.main()
    capsys.readouterr()
    on_ray, here = read_results(tmp_path / "ray"), read_results(tmp_path / "local")
    assert len(on_ray["members"]) == 8
    assert_same(on_ray, here)


@pytest.mark.parametrize("port, token, says", [
    ("client", None, "requires an authentication token and none was found; run `ray get-auth-token` on the head"),
    ("client", "not-the-token", "refused the authentication token found here; run `ray get-auth-token`"),
    ("gcs", None, "answered, but not as a Ray client server (unimplemented); pass the head's --ray-client-server-port"),
    ("closed", None, "no Ray client server answered"),
])
def test_a_cluster_goodfit_cannot_join_is_named_in_one_line_at_once(cluster, tmp_path, monkeypatch, capsys,
                                                                     port, token, says):
    from goodfit import cli

    _with_token(monkeypatch, cluster)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token
    if token is None:
        monkeypatch.delenv("RAY_AUTH_TOKEN")
    else:
        monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    address = {"client": cluster.address, "gcs": f"ray://127.0.0.1:{cluster.gcs_port}",
               "closed": f"ray://127.0.0.1:{_free_port()}"}[port]
    monkeypatch.setattr(sys, "argv", ["goodfit", "study", "--data", "wine", "--seeds", "2", "--epochs", "2",
                                      "--executor", "ray", "--address", address, "--out", str(tmp_path)])
    start = time.monotonic()
    with pytest.raises(SystemExit) as failed:
        cli.main()
    err = capsys.readouterr().err
    assert failed.value.code == 2 and err.count("\n") == 1, err
    assert says in err, err
    assert time.monotonic() - start < 10  # not Ray's 30 s connection timeout


def test_the_token_is_found_where_ray_looks_and_an_unreadable_token_file_is_named(tmp_path, monkeypatch):
    from goodfit.executors.ray_token import user_token

    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_token() is None
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-the-default-file")
    assert user_token() == "from-the-default-file"
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-the-environment")
    assert user_token() == "from-the-environment"
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "missing"))
    with pytest.raises(GoodfitError, match="RAY_AUTH_TOKEN_PATH names .*missing, which cannot be read"):
        user_token()
    (tmp_path / "token").write_text("abc\n")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "token"))
    assert user_token() == "abc"


def test_a_node_killed_mid_study_loses_its_part_to_a_retry_and_the_study_completes_identically(
        cluster, local, tmp_path, monkeypatch):
    """Last in the module: it kills the second node."""
    from goodfit.executors.ray import RayExecutor

    _with_token(monkeypatch, cluster)
    where = tmp_path / "marks"
    where.mkdir()
    outcome = {}

    def run():
        try:
            outcome["result"] = one_unit_study(Placed(str(where), stall_in=cluster.node.pid)).run(
                tmp_path / "s", RayExecutor(address=cluster.address))
        except BaseException as err:  # handed to the test's thread below
            outcome["error"] = err

    driver = threading.Thread(target=run)
    driver.start()
    deadline = time.monotonic() + 120
    while cluster.node.pid not in _marks(where, cluster):  # its sub-population is training on the second node
        assert driver.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.1)
    stalled = _marks(where, cluster)[cluster.node.pid]
    os.killpg(cluster.node.pid, signal.SIGKILL)
    driver.join(180)
    assert not driver.is_alive() and "error" not in outcome, outcome
    result = outcome["result"]
    assert result.units_trained == 1 and result.failed == {}
    assert_same(results_json(result, tmp_path / "s"), local)
    assert all(_gone(pid, wait=10) for pid in stalled)  # the stalled worker went with its node


@dataclass(eq=False)
class Ref:
    value: object


class StubRay:
    """Just enough of ray for `RayExecutor._run`: `nodes` nodes of 1 CPU; a task runs when submitted, and
    tasks come back last submitted first."""

    exceptions = type("exceptions", (), {"RayError": RuntimeError, "WorkerCrashedError": RuntimeError,
                                         "NodeDiedError": RuntimeError, "OutOfMemoryError": RuntimeError})

    def __init__(self, nodes: int):
        self.count, self.asked = nodes, []

    def cluster_resources(self) -> dict:
        return {"CPU": float(self.count)}

    def nodes(self) -> list[dict]:
        return [{"Alive": True, "Resources": {"CPU": 1.0, "memory": 8e9}}] * self.count

    def remote(self, function):
        stub = self

        class Remote:
            def options(self, **options):
                stub.asked.append(options)
                return self

            def remote(self, *args):
                return Ref(function(*args))

        return Remote()

    def wait(self, refs: list, num_returns: int):
        return refs[-1:], refs[:-1]

    def get(self, ref):
        return ref.value


def test_a_unit_cut_over_two_workers_merges_back_to_the_whole_units_output_in_its_order():
    import torch

    from goodfit.executors.ray import RayExecutor
    from goodfit.study import run_unit

    [task] = one_unit_study().tasks()
    whole, got, threads, ray = run_unit(task), [], torch.get_num_threads(), StubRay(nodes=2)
    try:
        RayExecutor()._run(ray, [task], run_unit, None, lambda t, out: got.append((t, out)))
    finally:
        torch.set_num_threads(threads)  # the stub's workers ran here with the 1 thread each was given
    [(unit, merged)] = got
    assert unit is task and [o["num_cpus"] for o in ray.asked] == [1, 1]  # two sub-populations, one CPU each
    assert [r.member for r in merged.results] == [r.member for r in whole.results]
    for a, b in zip(merged.results, whole.results):
        assert_same(*(r.history.drop(columns="member").to_dict("list") for r in (a, b)), a.member.arm.name)
        assert_same([a.test_loss, a.test_accuracy], [b.test_loss, b.test_accuracy])


def test_a_failed_sub_population_fails_its_whole_unit_once():
    from goodfit.executors import Failure
    from goodfit.executors.ray import RayExecutor

    def work(task, on_epoch):
        if task.members[0][0]["name"] == "baseline":
            raise ValueError("the first part fails")
        return "trained"

    ray, got = StubRay(nodes=2), []
    [task] = one_unit_study().tasks()
    RayExecutor()._run(ray, [task], work, None, lambda t, out: got.append(out))
    [failure] = got
    assert isinstance(failure, Failure) and failure.error == "ValueError: the first part fails"
