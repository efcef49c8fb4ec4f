"""`goodfit diagnose` and `goodfit weights`: answers, JSON, and one-line errors with exit code 2."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from goodfit.cli import main

E = np.arange(1, 61)
TRAIN = 0.05 + 2.0 * np.exp(-E / 8)
VAL = 0.4 + 1.5 * np.exp(-E / 5) + 0.01 * np.maximum(0, E - 20)


def goodfit(args, monkeypatch, capsys):
    """Run the console entry point in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["goodfit", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "100")
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def keras_log(tmp_path):
    path = tmp_path / "keras_log.csv"
    pd.DataFrame({"epoch": E - 1, "accuracy": np.minimum(1, 0.5 + E / 80), "loss": TRAIN,
                  "val_accuracy": np.full(60, 0.8), "val_loss": VAL}).to_csv(path, index=False)
    return path


@pytest.fixture
def goodfit_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({"member": 0, "epoch": E, "train_loss": TRAIN, "train_accuracy": np.minimum(1, 0.5 + E / 80),
                  "val_loss": VAL, "val_accuracy": np.full(60, 0.8)}).to_csv(run / "history.csv", index=False)
    (run / "config.json").write_text(json.dumps({"num_classes": 10, "num_params": 100_000, "splits": {"train": 300},
                                                 "arm": {"name": "baseline", "remedies": []}, "dataset": {"kind": "image"}}))
    torch.manual_seed(0)
    torch.save(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).state_dict(),
               run / "model.pt")
    return run


def test_diagnose_shows_verdict_curves_evidence_and_advice(keras_log, monkeypatch, capsys):
    code, out, _ = goodfit(["diagnose", keras_log], monkeypatch, capsys)
    assert code == 0
    assert "verdict: OVERFITTING since epoch 20 · best epoch 20" in out
    assert "│ best 20" in out and "┊ onset 20" in out
    assert "evidence" in out and "1. early_stopping" in out


def test_diagnose_json_prints_only_the_diagnosis(keras_log, monkeypatch, capsys):
    code, out, _ = goodfit(["diagnose", keras_log, "--json"], monkeypatch, capsys)
    d = json.loads(out)
    assert code == 0 and d["regime"] == "overfitting" and d["onset_epoch"] == 20 and d["best_epoch"] == 20


def test_diagnose_of_a_goodfit_run_reads_its_context_and_weights(goodfit_run, monkeypatch, capsys):
    code, out, _ = goodfit(["diagnose", goodfit_run / "history.csv", "--json"], monkeypatch, capsys)
    d = json.loads(out)
    assert code == 0 and d["weights"]["layers"][0]["eigenvalues"] == 32
    assert d["weights"]["vs_curves"].startswith("weights ")
    assert [a["remedy"] for a in d["advice"]][:2] == ["early_stopping", "shrink"]  # 333 parameters per sample


def test_named_columns_are_used(tmp_path, monkeypatch, capsys):
    path = tmp_path / "any.csv"
    pd.DataFrame({"Train Loss": TRAIN, "Valid Loss": VAL, "other": VAL}).to_csv(path, index=False)
    code, out, _ = goodfit(["diagnose", path, "--train-loss", "Train Loss", "--val-loss", "Valid Loss", "--json"],
                           monkeypatch, capsys)
    assert code == 0 and json.loads(out)["onset_epoch"] == 20


def test_weights_command_lists_layers(goodfit_run, monkeypatch, capsys):
    code, out, _ = goodfit(["weights", goodfit_run / "model.pt", "--json"], monkeypatch, capsys)
    assert code == 0 and [layer["name"] for layer in json.loads(out)["layers"]] == ["0.weight", "2.weight"]


def one_epoch(tmp_path):
    path = tmp_path / "h.csv"
    pd.DataFrame({"epoch": [0], "loss": [1.0], "val_loss": [1.1]}).to_csv(path, index=False)
    return ["diagnose", path]


def no_validation(tmp_path):
    path = tmp_path / "keras_log.csv"
    pd.DataFrame({"epoch": [0, 1, 2], "accuracy": [0.5, 0.6, 0.7], "loss": [1.0, 0.8, 0.7]}).to_csv(path, index=False)
    return ["diagnose", path]


def unknown_column(tmp_path):
    path = tmp_path / "h.csv"
    pd.DataFrame({"loss": TRAIN, "val_loss": VAL}).to_csv(path, index=False)
    return ["diagnose", path, "--val-loss", "valid_loss"]


def corrupted_model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    return ["weights", path]


@pytest.mark.parametrize("case, message", [
    (lambda tmp: ["diagnose", tmp / "missing.csv"], "no file at"),
    (unknown_column, "column 'valid_loss' (given for --val-loss) not found; columns: loss, val_loss"),
    (no_validation, "no validation loss or accuracy"),
    (one_epoch, "1 validated epoch(s); need at least 2"),
    (corrupted_model, "cannot load"),
])
def test_user_mistakes_exit_2_with_one_line(tmp_path, monkeypatch, capsys, case, message):
    code, out, err = goodfit(case(tmp_path), monkeypatch, capsys)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_console_script_runs_end_to_end(keras_log):
    exe = Path(sys.executable).with_name("goodfit")
    done = subprocess.run([str(exe), "diagnose", str(keras_log), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["regime"] == "overfitting"
