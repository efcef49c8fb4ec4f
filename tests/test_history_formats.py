"""One battery every log format must pass, as scikit-learn's check_estimator runs every estimator.

Each entry of FORMATS has samples written the way its framework writes them: the real logs in
tests/corpus/ (tests/corpus/make_corpus.py says which library wrote each), and, for the formats
the corpus lacks, files written here as goodfit, skorch and a person's own loop write them. A
format added to FORMATS without a sample fails the first test.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from goodfit.errors import GoodfitError
from goodfit.history import (COLUMNS, FORMAT_NAMES, FORMATS, History, detect_format, read_goodfit_csv,
                             read_history, read_json_history, read_keras_csv, read_lightning_csv, read_line,
                             read_mlflow, read_tensorboard, read_trainer_state)

CORPUS = Path(__file__).resolve().parent / "corpus"
LOSS = [0.69, 0.52, 0.43, 0.38, 0.36]
VAL_LOSS = [0.70, 0.55, 0.47, 0.44, 0.43]
VAL_ACC = [0.52, 0.71, 0.80, 0.83, 0.84]


def goodfit_history(folder: Path) -> Path:
    """As `goodfit train` writes a run's history.csv: `History.to_csv`."""
    frame = pd.DataFrame({"member": 0, "epoch": range(1, 6), "train_loss": LOSS, "val_loss": VAL_LOSS,
                          "val_accuracy": VAL_ACC})
    History(frame).to_csv(folder / "history.csv")
    return folder / "history.csv"


def skorch_history(folder: Path) -> Path:
    """As skorch's `net.history.to_file` writes: per-epoch records, each with its batches and `_best` flags."""
    batches = [{"train_loss": LOSS[0], "train_batch_size": 64}, {"valid_loss": VAL_LOSS[0], "valid_batch_size": 64}]
    records = [{"batches": batches, "epoch": e + 1, "train_batch_count": 1, "valid_batch_count": 1, "dur": 0.05,
                "train_loss": t, "train_loss_best": True, "valid_loss": v, "valid_loss_best": v == min(VAL_LOSS[:e + 1]),
                "valid_acc": a, "valid_acc_best": a == max(VAL_ACC[:e + 1])}
               for e, (t, v, a) in enumerate(zip(LOSS, VAL_LOSS, VAL_ACC))]
    (folder / "history.json").write_text(json.dumps(records))
    return folder / "history.json"


def spreadsheet(folder: Path) -> Path:
    """A table a person keeps of their own loop: their own column names, accuracy in percent."""
    pd.DataFrame({"Epoch": range(1, 6), "Train Loss": LOSS, "Valid Loss": VAL_LOSS,
                  "Valid Acc (%)": np.array(VAL_ACC) * 100}).to_csv(folder / "log.csv", index=False)
    return folder / "log.csv"


SAMPLES = {  # format: logs in tests/corpus/, or a writer here for a format the corpus lacks
    "goodfit": [goodfit_history],
    "keras": ["keras/good_fit.csv", "keras/regression_good_fit.csv"],
    "lightning": ["lightning_csv/good_fit/metrics.csv", "lightning_csv/regression_good_fit/metrics.csv"],
    "fastai": ["fastai/good_fit.csv"],
    "wandb": ["wandb/good_fit_history.csv", "wandb/good_fit_panel.csv"],
    "csv": ["plain/exploded_first_epoch.csv", spreadsheet],
    "tensorboard": ["summarywriter/good_fit", "lightning_tb/good_fit", "hf/good_fit/runs"],
    "hf-trainer": ["hf/good_fit/trainer_state.json"],
    "keras-json": ["keras/good_fit.json", "keras/regression_good_fit.json"],
    "mlflow": ["mlflow/good_fit"],
    "json": [skorch_history],
}
READERS = {"goodfit": read_goodfit_csv, "keras": read_keras_csv, "lightning": read_lightning_csv,
           "tensorboard": read_tensorboard, "hf-trainer": read_trainer_state, "keras-json": read_json_history,
           "json": read_json_history, "mlflow": read_mlflow}
DETECTED_ONLY = ("fastai", "wandb", "csv")  # read by read_history alone, told apart by their columns
CASES = [pytest.param(fmt, sample, id=f"{fmt}:{getattr(sample, '__name__', sample)}")
         for fmt, samples in SAMPLES.items() for sample in samples]


def sample_path(sample, folder: Path) -> Path:
    return CORPUS / sample if isinstance(sample, str) else sample(folder)


def test_every_format_has_a_sample_a_name_and_a_way_to_be_read():
    assert set(SAMPLES) == set(FORMATS) and all(SAMPLES.values())
    assert set(FORMAT_NAMES) == set(FORMATS)
    assert set(READERS) | set(DETECTED_ONLY) == set(FORMATS) and not set(READERS) & set(DETECTED_ONLY)
    assert all((CORPUS / s).exists() for samples in SAMPLES.values() for s in samples if isinstance(s, str))


@pytest.mark.parametrize("fmt, sample", CASES)
def test_read_history_detects_the_format_that_wrote_the_log(tmp_path, fmt, sample):
    path = sample_path(sample, tmp_path)
    h = read_history(path)
    assert h.format == fmt
    assert read_line(h).startswith(f"{FORMAT_NAMES[fmt]}, {h.epochs} epochs; read ")
    if path.suffix == ".csv":
        assert detect_format(pd.read_csv(path)) == fmt


@pytest.mark.parametrize("fmt, sample", CASES)
def test_every_log_reads_as_members_over_one_based_increasing_epochs_with_both_losses(tmp_path, fmt, sample):
    h = read_history(sample_path(sample, tmp_path))
    assert list(h.frame.columns[:2]) == ["member", "epoch"] and set(h.frame.columns) <= set(COLUMNS)
    assert h.members == [0] and h.frame["epoch"].dtype.kind == "i"
    epochs = h.frame["epoch"].to_numpy()
    assert epochs[0] == 1 and (np.diff(epochs) > 0).all() and h.epochs == epochs[-1] > 1
    assert h.has("train_loss") and h.has("val_loss") and {"train_loss", "val_loss"} <= set(h.read)
    for slot in ("train_accuracy", "val_accuracy"):
        values = h.curve(slot)[np.isfinite(h.curve(slot))]
        assert ((0 <= values) & (values <= 1)).all(), slot


@pytest.mark.parametrize("fmt, sample", [case for case in CASES if case.values[0] in READERS])
def test_the_formats_own_reader_gives_the_history_read_history_gives(tmp_path, fmt, sample):
    path = sample_path(sample, tmp_path)
    detected, own = read_history(path), READERS[fmt](path)
    pd.testing.assert_frame_equal(own.frame, detected.frame)
    assert (own.format, own.notes, read_line(own)) == (detected.format, detected.notes, read_line(detected))


@pytest.mark.parametrize("fmt, sample", CASES)
def test_a_log_cut_short_and_garbled_is_a_one_line_error_naming_it(tmp_path, fmt, sample):
    """What a crash mid-write or a bad copy leaves: the first 60 bytes of each file, then bytes that are no text."""
    original = sample_path(sample, tmp_path)
    damaged = tmp_path / "damaged" / original.name
    damaged.parent.mkdir()
    (shutil.copytree if original.is_dir() else shutil.copy)(original, damaged)
    for f in [f for f in damaged.rglob("*") if f.is_file()] if damaged.is_dir() else [damaged]:
        f.write_bytes(f.read_bytes()[:60] + bytes(range(256)) * 4)
    with pytest.raises(GoodfitError) as err:
        read_history(damaged)
    assert "\n" not in str(err.value) and str(damaged) in str(err.value)
