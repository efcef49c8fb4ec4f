"""`goodfit train` and `goodfit datasets` as a user runs them: files written, bad input answered in one line."""
import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
from conftest import goodfit_here


def goodfit(*args, cwd=None):
    """`goodfit ARGS` in a process of its own, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "goodfit", *args], capture_output=True, text=True, cwd=cwd)


def in_process(*args) -> subprocess.CompletedProcess:
    """`goodfit ARGS` as the console script runs it, in this process (no second start of torch): for the tests of
    what a command answers, where a process of its own adds seconds and checks nothing more."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, stdout, stderr = goodfit_here(args, monkeypatch)
    return subprocess.CompletedProcess(["goodfit", *args], code, stdout, stderr)


def test_train_writes_history_model_and_config(tmp_path):
    out = tmp_path / "one"
    r = goodfit("train", "--data", "digits", "--train-size", "200", "--epochs", "4", "--dropout", "0.3", "--l2", "1e-4",
                "--early-stopping", "10", "--augment", "shift,noise", "--batchnorm", "--width", "0.5",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "test acc" in r.stdout and "wrote" in r.stdout
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_accuracy"} <= set(history.columns)
    assert history["test_accuracy"].notna().tolist() == [False, False, False, True]
    config = json.loads((out / "config.json").read_text())
    assert config["num_classes"] == 10 and config["splits"]["train"] == 200
    assert [r["remedy"] for r in config["arm"]["remedies"]] == [
        "dropout", "weight_decay", "augment", "batchnorm", "shrink", "early_stopping"]
    state = torch.load(out / "model.pt", weights_only=True)  # the trained network: its parameters and batch norm's buffers
    weights = {k: t for k, t in state.items() if t.is_floating_point() and "running" not in k}
    assert sum(t.numel() for t in weights.values()) == config["num_params"] > 0
    assert all(torch.isfinite(t).all() for t in state.values())
    *hidden, last = [t for t in weights.values() if t.dim() >= 2]
    assert last.shape[0] == 10 and all(t.shape[0] == config["architecture"]["width"] // 2 for t in hidden)  # --width 0.5
    steps = [t.item() for k, t in state.items() if k.endswith("num_batches_tracked")]
    assert len(steps) == config["architecture"]["depth"] and min(steps) > 0


def test_train_json_reports_each_seed(tmp_path):
    r = goodfit("train", "--data", "wine", "--epochs", "2", "--seeds", "3", "--json", "--out", str(tmp_path / "w"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [m["seed"] for m in summary["results"]] == [0, 1, 2]
    assert len(list((tmp_path / "w" / "models").glob("*.pt"))) == 3


def test_datasets_lists_every_builtin():
    r = goodfit("datasets", "--json")
    listed = json.loads(r.stdout)
    assert set(listed) == {"digits", "mnist1d", "moons", "breast_cancer", "wine", "diabetes", "friedman", "signal"}
    assert all("(regression)" in listed[name] for name in ("diabetes", "friedman", "signal"))


@pytest.mark.parametrize("args,words", [
    (["--data", "nosuch"], "neither a built-in"),
    (["--data", "missing.csv", "--target", "y"], "neither a built-in"),
    (["--train-size", "100000"], "larger than"),
    (["--train-size", "0"], "train size"),
    (["--dropout", "1.0"], "dropout rate"),
    (["--epochs", "-3"], "epochs"),
    (["--augment", "mixup"], "does not apply to image"),
    (["--model", "resnet"], "unknown"),
    (["--model", "cnn1d"], "cnn1d needs sequences"),
    (["--device", "cuda"], "cuda"),
    (["--l2", "1e-4", "--decay", "1e-4"], "either --l2"),
    (["--lr", "abc"], "--lr"),
    (["--width", "0"], "shrink width"),
])
def test_bad_train_input_exits_2_with_one_line(tmp_path, args, words):
    if args[:2] == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = in_process("train", "--epochs", "1", "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr and words in lines[0], r.stderr


def test_output_path_that_is_a_file_is_refused_and_left_alone(tmp_path):
    f = tmp_path / "taken"
    f.write_text("keep me")
    r = in_process("train", "--epochs", "1", "--out", str(f))
    assert r.returncode == 2 and "is a file" in r.stderr and f.read_text() == "keep me"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    import numpy as np
    from PIL import Image

    d = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=90), "colour": ["red", "green", "blue"] * 30,
                          "label": ["cat", "dog", "cow"] * 30})
    frame.to_csv(d / "t.csv", index=False)
    frame.to_parquet(d / "t.parquet")
    np.savez(d / "seq.npz", X=rng.normal(size=(60, 1, 16)).astype("float32"), y=np.arange(60) % 2)
    for c in ("a", "b"):
        (d / "img" / c).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (8, 8), dtype="uint8")).save(d / "img" / c / f"{i}.png")
    return d


@pytest.mark.parametrize("data,extra,kind", [
    ("t.csv", ["--target", "label"], "table"), ("t.parquet", ["--target", "label"], "table"),
    ("seq.npz", [], "sequence"), ("img", [], "image")])
def test_every_data_source_trains_through_the_cli(sources, tmp_path, data, extra, kind):
    r = in_process("train", "--data", str(sources / data), *extra, "--epochs", "2", "--json",
                   "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    config = json.loads((tmp_path / "o" / "config.json").read_text())
    assert config["dataset"]["kind"] == kind


def test_conditions_reach_the_split_through_the_cli(tmp_path):
    r = in_process("train", "--data", "digits", "--train-size", "400", "--label-noise", "0.25", "--imbalance", "0.2",
                   "--epochs", "1", "--json", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    splits = json.loads((tmp_path / "o" / "config.json").read_text())["splits"]
    assert splits["train"] == 400 and splits["noisy_labels"] == 100
    assert splits["train_class_counts"][-1] < splits["train_class_counts"][0] / 2  # noise flattens the 0.2 ratio


def test_train_reads_the_study_spelling_of_remedies_with_arm_and_augment(tmp_path):
    """`--arm` takes a study arm (remedies joined by +) and `--augment` the study's augment settings."""
    r = in_process("train", "--data", "wine", "--epochs", "2", "--arm",
                   "dropout=0.3+l2=1e-4+augment=noise:0.2+batchnorm", "--out", str(tmp_path / "a"), "--json")
    assert r.returncode == 0, r.stderr
    remedies = json.loads((tmp_path / "a" / "config.json").read_text())["arm"]["remedies"]
    assert [m["remedy"] for m in remedies] == ["dropout", "weight_decay", "augment", "batchnorm"]
    assert remedies[2]["noise"] == 0.2
    r = in_process("train", "--data", "digits", "--train-size", "100", "--epochs", "1",
                   "--augment", "shift:0.1+noise:0.05", "--out", str(tmp_path / "b"), "--json")
    assert r.returncode == 0, r.stderr
    augment = json.loads((tmp_path / "b" / "config.json").read_text())["arm"]["remedies"][0]
    assert (augment["shift"], augment["noise"], augment["rotate"]) == (0.1, 0.05, 0.0)
    r = in_process("train", "--data", "wine", "--arm", "dropout=0.3", "--l2", "1e-4", "--out", str(tmp_path / "c"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "put them all in --arm" in r.stderr
    assert not (tmp_path / "c").exists()  # refused before the folder was made
    r = in_process("train", "--data", "wine", "--arm", "dropuot=0.3", "--out", str(tmp_path / "d"))
    assert r.returncode == 2 and "did you mean dropout?" in r.stderr


def test_a_failed_run_leaves_no_empty_output_folder(tmp_path):
    out = tmp_path / "runs" / "one"
    done = in_process("train", "--data", "wine", "--train-size", "100000", "--out", str(out))
    assert done.returncode == 2 and "--train-size" in done.stderr
    assert not (tmp_path / "runs").exists()
