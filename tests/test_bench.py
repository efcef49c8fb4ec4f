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
