"""The benchmark's quick path runs end to end on tiny workloads, its plain study trains the default
study's arms, its roofline counts W35's work, and the own-module benchmark times a user's CNN and
ResNet on both sides."""
import math
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import torch

from goodfit.engine import TrainConfig
from goodfit.remedies import Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay
from goodfit.grammar import default_arms, parse_arms
from goodfit.study import DEFAULT_ARM_NAMES

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"
RATIO_LINES = ("population vs plain sequential", "single model vs plain loop", "study vs plain sequential",
               "single model vs plain loop (fused Adam)", "batchnorm population vs plain sequential",
               "augment population vs plain sequential", "own CNN study vs plain loop",
               "own ResNet study vs plain loop")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_smoke_run_ends_with_every_ratio_line_and_records_each_comparison(bench, capsys):
    record = bench.main(["--smoke"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) > len(RATIO_LINES)
    for name, line in zip(RATIO_LINES, lines[-len(RATIO_LINES):]):
        assert re.fullmatch(re.escape(name) + r": \d+\.\d×", line)
    assert record["goodfit"]["members"] == record["plain"]["members"] == 4
    for key, members in (("default_study_vs_plain", 16), ("batchnorm_population", 4), ("augment_population", 4)):
        row = record[key]
        assert row["goodfit"]["members"] == row["plain"]["members"] == members
        assert row["ratio"] == pytest.approx(row["plain"]["seconds"] / row["goodfit"]["seconds"])
        assert len(row["goodfit"]["seconds_all"]) == len(row["plain"]["seconds_all"]) == record["repeats"] == 1
    assert [row["members"] for row in record["own_module"].values()] == [2, 2]
    arms = record["default_study_vs_plain"]["arms"]
    assert list(arms) == list(DEFAULT_ARM_NAMES)
    assert all(0 < a["goodfit"] <= 1 and 0 < a["plain"] <= 1 for a in arms.values())
    assert record["ratios"]["single_fused"] == pytest.approx(
        record["single_plain_fused_seconds"] / record["single_goodfit_seconds"])


@pytest.fixture(scope="module")
def plain_study(bench):
    return sys.modules["plain_study"]  # bench_engine imports it from beside itself


@pytest.fixture(scope="module")
def own_module(bench):
    return sys.modules["own_module"]  # bench_engine imports it from beside itself


def test_own_module_smoke_run_prints_both_ratio_lines_with_the_ratios_it_returns(own_module, capsys):
    rows = own_module.main(["--smoke"])
    lines = capsys.readouterr().out.splitlines()
    for key, label in (("cnn", r"own CNN \(2 members, digits, 2 epochs\)"),
                       ("resnet", r"own ResNet \(2 members, tinted digits 32x32, 2 epochs\)")):
        pattern = label + r": goodfit (\d+\.\d) s, plain loop (\d+\.\d) s: (\d+\.\d)x( \*)?"
        found = [m for m in map(lambda line: re.fullmatch(pattern, line), lines) if m]
        assert len(found) == 1
        row = rows[key]
        assert row["ratio"] == pytest.approx(row["plain_s"] / row["goodfit_s"])
        assert found[0].group(1, 2, 3) == (f"{row['goodfit_s']:.1f}", f"{row['plain_s']:.1f}", f"{row['ratio']:.1f}")
        assert list(row["accuracies"]) == ["baseline", "dropout"]
        assert all(0 <= a["goodfit"] <= 1 and 0 <= a["plain"] <= 1 for a in row["accuracies"].values())


def test_own_module_plain_loop_gets_each_arms_remedy_at_the_studys_strength(own_module):
    arms = {a.name: a for a in parse_arms(",".join(own_module.CNN_ARMS), "image")}
    assert list(arms) == list(own_module.CNN_ARMS)
    settings = {name: own_module.plain_settings(arm) for name, arm in arms.items()}
    assert settings == {"baseline": ({}, {}), "dropout": ({"dropout": 0.3}, {}), "l2": ({}, {"l2": 1e-3}),
                        "early_stopping": ({}, {"patience": 10}), "augment": ({}, {"augment": (10.0, 0.1, 0.1, 0.05)}),
                        "batchnorm": ({"batchnorm": True}, {}), "shrink": ({"width": 0.25}, {})}
    with pytest.raises(ValueError, match="the plain loop cannot do"):
        own_module.plain_settings(parse_arms("decay", "image")[1])


def test_own_modules_map_their_inputs_to_ten_logits_and_the_cnn_is_about_the_built_in_size(own_module):
    cnn = own_module.own_cnn()
    assert cnn(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
    assert 10_000 < sum(p.numel() for p in cnn.parameters()) < 12_000  # the built-in cnn2d has 10,858
    assert own_module.own_cnn(batchnorm=True, width=0.25)(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
    assert own_module.own_resnet(dropout=0.3)(torch.zeros(4, 3, 32, 32)).shape == (4, 10)


def test_tinted_digits_are_2000_rgb_images_of_32_pixels_goodfit_reads_as_images(own_module, tmp_path):
    from goodfit.data import load

    data = load(str(own_module.tinted_digits(tmp_path / "tinted.npz")))
    assert data.kind == "image" and data.X.shape == (2000, 3, 32, 32) and data.num_classes == 10
    assert 0 <= data.X.min() and data.X.max() <= 1
    assert (data.X[:, 0] != data.X[:, 1]).any()  # each image has its own tint, not grey


def test_the_plain_study_trains_the_default_studys_arms_at_their_strengths(plain_study):
    assert list(plain_study.ARMS) == list(DEFAULT_ARM_NAMES)
    arms = default_arms("image")
    for name in DEFAULT_ARM_NAMES:
        arm, plain = arms[name], plain_study.ARMS[name]
        dropout, decay, stop, augment, shrink = (arm.get(c) for c in (Dropout, WeightDecay, EarlyStopping, Augment,
                                                                       Shrink))
        assert plain.dropout == (dropout.rate if dropout else 0.0)
        assert plain.l2 == (decay.strength if decay else 0.0) and not (decay and decay.decoupled)
        assert plain.patience == (stop.patience if stop else 0) and (not stop or stop.monitor == "val_loss")
        assert plain.augment == ((augment.rotate, augment.zoom, augment.shift, augment.noise) if augment else ())
        assert not augment or augment.flip == augment.mixup == 0
        assert plain.batchnorm == (arm.get(BatchNorm) is not None)
        assert plain.width == 256 * (shrink.width if shrink else 1)
    assert plain_study.TRAIN_EVAL == TrainConfig().train_eval_size


def test_plain_augmentation_moves_each_image_by_its_own_draw(plain_study):
    torch.manual_seed(0)
    x = torch.rand(1, 1, 8, 8).expand(16, 1, 8, 8).contiguous()  # one image, 16 times
    assert torch.allclose(plain_study.augment_images(x, 0.0, 0.0, 0.0, 0.0), x, atol=1e-6)
    moved = plain_study.augment_images(x, 10.0, 0.1, 0.1, 0.0)
    assert moved.shape == x.shape
    assert len({tuple(m.flatten().tolist()) for m in moved}) == 16
    noisy = plain_study.augment_images(torch.zeros(64, 1, 8, 8), 0.0, 0.0, 0.0, 0.05)
    assert noisy.std().item() == pytest.approx(0.05, rel=0.1)


def test_the_plain_loop_gives_each_member_its_arms_batch_norm_and_augmentation(bench, plain_study, monkeypatch):
    calls = []
    monkeypatch.setattr(plain_study, "fit", lambda model, data, epochs, **kw: calls.append((model, kw)) or (1.0, []))
    for name in ("batchnorm", "augment"):
        work = bench.w35_arm(name, epochs=1, count=2)
        assert [m.seed for m in work.members] == [0, 1]
        assert bench.train_plain(work, work.members[0]) == 1.0
    (bn_model, bn_kw), (aug_model, aug_kw) = calls
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in bn_model) and bn_kw["augment"] == ()
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in aug_model)
    assert aug_kw["augment"] == (10.0, 0.1, 0.1, 0.05)
    stopping = bench.Workload("W35 early stopping", "digits", "mlp", 256, 2, 1,
                              (bench.Member(default_arms("image")["early_stopping"], 0),))
    with pytest.raises(ValueError, match="plain loop does dropout, batch norm and augmentation only"):
        bench.train_plain(stopping, stopping.members[0])


def test_median_run_keeps_the_middle_time_and_every_time(bench):
    runs = [bench.Run("r", "w", 1, t, 0.5, load) for t, load in zip((3.0, 1.0, 2.0), (0.0, 0.3, 0.0))]
    median = bench.median_run(iter(runs).__next__, 3)
    assert median.seconds == 2.0 and median.extra["seconds_all"] == [3.0, 1.0, 2.0]
    assert median.other_load == 0.3  # the busiest run marks the figure


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
    assert math.isfinite(wall)  # a difference of two timings: its sign is noise on a busy machine
