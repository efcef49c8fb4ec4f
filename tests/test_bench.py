"""The benchmark's quick path runs end to end on a tiny workload, and its roofline counts W35's work."""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_smoke_run_ends_with_the_two_ratio_lines(bench, capsys):
    record = bench.main(["--smoke"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"population vs plain sequential: \d+\.\d×", lines[-2])
    assert re.fullmatch(r"single model vs plain loop: \d+\.\d×", lines[-1])
    assert record["goodfit"]["members"] == record["plain"]["members"] == 4


def test_w35_roofline_counts_about_two_teraflops_of_training(bench):
    roof = bench.mlp_roofline(bench.w35(), peak_gflops=100.0, bandwidth_gbs=10.0)
    assert 2.2e12 < roof["flops"] < 2.5e12  # 1.8 TFLOP of training, 0.5 of evaluation
    assert roof["seconds"] == max(roof["compute_seconds"], roof["memory_seconds"])


def test_kernel_floor_sums_every_step_and_each_epochs_evaluation(bench, monkeypatch):
    work = bench.w35(epochs=3, count=2)
    N = len(work.splits().y_train)  # 1079: 33 full batches of 32 and one of 23
    timings = iter([1.0, 0.5, 7.0, 0.25])  # full step's matmuls, the short one's, evaluation, Adam
    monkeypatch.setattr(bench, "_kernel_seconds", lambda fn, device: next(timings))
    floor = bench.mlp_kernel_floor(work)
    assert N // 32 == 33 and N % 32 == 23
    assert floor["seconds"] == 3 * (33 * 1.0 + 0.5 + 34 * 0.25 + 7.0)
    assert floor["members"] == 2


def test_kernel_floor_times_real_kernels(bench):
    floor = bench.mlp_kernel_floor(bench.w35(epochs=1, count=2))
    assert 0 < floor["matmul_step_seconds"] < floor["eval_epoch_seconds"]  # 872 samples against 32
    assert 0 < floor["adam_step_seconds"] < 0.1


def test_the_gpu_sitting_runs_end_to_end_on_any_device_and_records_its_populations(bench, tmp_path, capsys):
    record = bench.gpu(tmp_path, device="cpu", counts=(1, 3), epochs=1, sample=1, w35_epochs=1)
    rows = record["mnist1d_populations"]
    assert [r["members"] for r in rows] == [1, 3]
    for r in rows:
        assert 0 < r["peak_fraction"] < 1 and 0 < r["roofline_fraction"] < 1
        assert r["plain_seconds_estimate"] == pytest.approx(record["mnist1d_plain"]["seconds_per_member"] * r["members"])
    assert [run["runner"] for run in record["w35"]["runs"]][:2] == ["goodfit", "plain PyTorch loop"]
    assert len(list(tmp_path.glob("*-gpu-bench.json"))) == 1
    assert "MNIST-1D, MLP 40-256-256-10, 1 epochs, on cpu" in capsys.readouterr().out


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU: --gpu would run")
def test_gpu_without_a_gpu_is_one_line_and_exit_code_2(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--gpu"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs a CUDA GPU" in err


def test_the_step_profile_counts_what_an_extra_epoch_costs(capsys):
    spec = importlib.util.spec_from_file_location("profile_w35", SCRIPT.parent / "profile_w35.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, wall = module.per_step(members=2, short=1, long=2)
    ops = {op for _, _, op, _ in rows}
    assert {"aten::bmm", "aten::baddbmm", "aten::_fused_adam_"} <= ops
    adam = next(calls for _, calls, op, _ in rows if op == "aten::_fused_adam_")
    assert adam == pytest.approx(1.0)  # one optimizer step per training step, setup subtracted
    assert wall > 0
