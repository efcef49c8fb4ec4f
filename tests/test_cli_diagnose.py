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


# ---- what was read, warnings, charts that survive any value, one-line errors for any model file ----
def test_first_line_names_the_format_and_every_series_read(keras_log, monkeypatch, capsys):
    code, out, _ = goodfit(["diagnose", keras_log], monkeypatch, capsys)
    first = " ".join(out.split("\nverdict:")[0].split())  # the first line, wrapped at words to the terminal
    assert code == 0 and first == (f"{keras_log}: Keras CSVLogger log, 60 epochs; read --train-loss 'loss', --val-loss "
                                   "'val_loss', --train-acc 'accuracy', --val-acc 'val_accuracy'")


def test_json_says_what_was_read_and_how_steps_became_epochs(tmp_path, monkeypatch, capsys):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as w:
        for step in range(600):
            w.add_scalar("train/loss", TRAIN[step // 10], step)
            if step % 10 == 9:
                w.add_scalar("val/loss", VAL[step // 10], step)
    code, out, _ = goodfit(["diagnose", tmp_path, "--json"], monkeypatch, capsys)
    d = json.loads(out)
    assert code == 0 and d["read"]["format"] == "tensorboard" and d["read"]["series"]["val_loss"] == "val/loss"
    assert "grouped into 60 epochs" in d["read"]["notes"][0] and "grouped into 60 epochs" in d["evidence"][0]
    assert d["regime"] == "overfitting" and abs(d["onset_epoch"] - 20) <= 2


def test_a_cell_that_is_not_a_number_is_warned_on_stderr(keras_log, monkeypatch, capsys):
    lines = keras_log.read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = "abc"
    lines[3] = ",".join(cells)
    keras_log.write_text("\n".join(lines) + "\n")
    code, out, err = goodfit(["diagnose", keras_log], monkeypatch, capsys)
    assert code == 0 and "verdict: OVERFITTING" in out
    assert "warning: column 'loss': line 4 ('abc') is not a number; read as not logged" in err


@pytest.mark.parametrize("values", [
    [2.6e13] + [18.0] * 20, [1e300, -1e300] * 10, [np.inf, 1.0, -np.inf, 0.5] * 5, [5e-324, 1e-300] * 10,
    [np.nan] * 19 + [1.0, 2.0], [3.0] * 21, [-1e308, 1e308, 0.0] * 7])
def test_the_terminal_chart_survives_any_value(tmp_path, monkeypatch, capsys, values):
    path = tmp_path / "log.csv"
    pd.DataFrame({"epoch": range(len(values)), "loss": values, "val_loss": np.roll(values, 1)}).to_csv(path, index=False)
    code, out, err = goodfit(["diagnose", path], monkeypatch, capsys)
    assert "Traceback" not in err
    assert code == 0 and "verdict:" in out or code == 2 and len(err.strip().splitlines()) == 1


def test_the_issue_exploded_log_draws_a_chart_with_a_note_and_says_diverged(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    train = 18 + rng.normal(0, 0.2, 21)
    train[0] = 2.6e13
    path = tmp_path / "plain.csv"
    pd.DataFrame({"epoch": range(1, 22), "train_loss": train, "train_acc": 0.1 + rng.normal(0, 0.004, 21),
                  "val_loss": 18.1 + rng.normal(0, 0.05, 21), "val_acc": 0.1 + rng.normal(0, 0.004, 21)}).to_csv(path, index=False)
    code, out, err = goodfit(["diagnose", path], monkeypatch, capsys)
    assert code == 0 and "verdict: DIVERGED since epoch 1" in out
    assert "note: train loss is above the chart at epoch 1 (2.6e+13); drawn as ↑ at the edge." in " ".join(out.split())
    assert "larger learning rate" not in out


def test_curves_text_keeps_its_height_whatever_the_values():
    from goodfit.history import History
    from goodfit.report.terminal import curves_text

    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(1, 60))
        y = rng.choice([1.0, -1.0], n) * 10.0 ** rng.uniform(-320, 308, n)
        y[rng.random(n) < 0.1] = rng.choice([np.inf, -np.inf, np.nan])
        h = History(pd.DataFrame({"member": 0, "epoch": np.arange(1, n + 1), "train_loss": y, "val_loss": y[::-1],
                                  "val_accuracy": rng.random(n)}))
        text = curves_text(h, width=70, height=20, marks={"best": 1})
        lines = text.splitlines()
        assert len([line for line in lines if not line.startswith("note:")]) == 20
        assert max(map(len, lines[:20])) <= 70


def test_every_damaged_model_file_is_one_line(tmp_path, monkeypatch, capsys):
    """Random bytes, truncations and flipped bytes: the loader's every exception becomes the one-line error."""
    from goodfit.errors import GoodfitError
    from goodfit.weights import read_weights

    good = tmp_path / "good.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Linear(32, 10)).state_dict(), good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.pt"
    for i in range(300):
        if i % 3 == 0:
            bad.write_bytes(rng.bytes(4096))
        elif i % 3 == 1:
            bad.write_bytes(data[:int(rng.integers(1, len(data)))])
        else:
            flipped = bytearray(data)
            for at in rng.integers(0, len(data), 8):
                flipped[at] = int(rng.integers(256))
            bad.write_bytes(bytes(flipped))
        try:
            read_weights(bad)
        except GoodfitError as err:
            assert "\n" not in str(err)
    bad.write_bytes(rng.bytes(4096))
    code, out, err = goodfit(["weights", bad], monkeypatch, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "cannot load" in err


def test_reading_a_log_imports_neither_torch_nor_the_engine_nor_scipy(keras_log):
    script = ("import sys; from goodfit.cli import main; sys.argv = ['goodfit', 'diagnose', sys.argv[1]]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "import goodfit\n"
              "heavy = [m for m in ('torch', 'scipy', 'goodfit.engine', 'sklearn', 'plotext') if m in sys.modules]\n"
              "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", script, str(keras_log)], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "COLUMNS": "100"})
    assert "verdict: OVERFITTING" in done.stdout and "HEAVY []" in done.stdout, done.stdout + done.stderr


@pytest.fixture
def keras_regression_log(tmp_path):
    """Keras' CSVLogger for MSE with an `mae` metric: lowest validation loss at epoch 1, then up 58% and staying."""
    e = np.arange(1, 121)
    path = tmp_path / "regression.csv"
    val = 0.493 + 0.29 * (1 - np.exp(-(e - 1) / 8)) + np.random.default_rng(0).normal(0, 0.01, 120)
    val[0] = 0.493
    pd.DataFrame({"epoch": e - 1, "loss": 0.9 * np.exp(-e / 10) + 0.0099, "mae": 0.7 * np.exp(-e / 12) + 0.07,
                  "val_loss": val, "val_mae": 0.56 + 0.14 * (1 - np.exp(-(e - 1) / 8))}).to_csv(path, index=False)
    return path


def test_a_regression_log_draws_its_error_metric_where_accuracy_would_be_and_never_says_accuracy(
        keras_regression_log, monkeypatch, capsys):
    code, out, _ = goodfit(["diagnose", keras_regression_log], monkeypatch, capsys)
    assert code == 0 and "verdict: OVERFITTING since epoch 1 · best epoch 1" in out
    assert "training MAE 'mae', validation MAE 'val_mae'" in " ".join(out.split("\nverdict:")[0].split())
    panels = [line.strip().split("   ")[0] for line in out.splitlines() if "▀▄ train" in line]
    assert panels == ["loss", "MAE"]
    assert "accuracy" not in out.replace("--train-acc", "").replace("--val-acc", "")
    code, out, _ = goodfit(["diagnose", keras_regression_log, "--json"], monkeypatch, capsys)
    d = json.loads(out)
    assert {"regime", "onset_epoch", "best_epoch", "gap", "evidence", "advice", "confidence", "judged_on", "read"} <= set(d)
    assert d["regime"] == "overfitting" and d["gap"]["final"]["mae"] < 0 and d["read"]["series"]["val_mae"] == "val_mae"
