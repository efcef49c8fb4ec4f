"""History readers on files written the way Keras, Lightning and goodfit write them, and on plain CSVs."""
import csv
import json

import numpy as np
import pandas as pd
import pytest

from goodfit.errors import GoodfitError
from goodfit.history import (METRICS, History, detect_format, read_history, read_keras_csv, read_lightning_csv,
                             read_run_config)

EPOCHS = 6
LOSS = [1.2, 0.9, 0.7, 0.6, 0.55, 0.5]
VAL_LOSS = [1.3, 1.0, 0.85, 0.8, 0.82, 0.86]
ACC = [0.5, 0.65, 0.75, 0.8, 0.83, 0.85]
VAL_ACC = [0.45, 0.6, 0.7, 0.72, 0.71, 0.7]


def write_keras(path, validation_freq=1, nan_from=None):
    """As keras.callbacks.CSVLogger writes: 'epoch' then sorted keys, 0-based epochs, 'NA' for missing keys."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
        writer.writeheader()
        for e in range(EPOCHS):
            logs = {"accuracy": ACC[e], "loss": LOSS[e]}
            if (e + 1) % validation_freq == 0:
                logs.update(val_accuracy=VAL_ACC[e], val_loss=VAL_LOSS[e])
            if nan_from is not None and e >= nan_from:
                logs.update(loss=float("nan"), val_loss=float("nan"))
            writer.writerow({"epoch": e, **{k: logs.get(k, "NA") for k in ("accuracy", "loss", "val_accuracy", "val_loss")}})
    return path


def write_lightning(path, step_and_epoch=False):
    """As Lightning's CSVLogger writes metrics.csv: keys in first-logged order, one row per log call, blanks between."""
    rows, step = [], 0
    for e in range(EPOCHS):
        for _ in range(2):  # training_step logs every log_every_n_steps
            step += 5
            row = {"train_loss_step" if step_and_epoch else "train_loss": LOSS[e] + 0.02, "epoch": e, "step": step - 1}
            rows.append(row)
        rows.append({"val_loss": VAL_LOSS[e], "val_acc": VAL_ACC[e], "epoch": e, "step": step - 1})
        if step_and_epoch:
            rows.append({"train_loss_epoch": LOSS[e], "epoch": e, "step": step - 1})
    keys = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(keys))
        writer.writeheader()
        writer.writerows(rows)
    return path


# ---- one battery every importer must pass --------------------------------------------------------
def keras_file(tmp_path):
    return read_keras_csv(write_keras(tmp_path / "log.csv"))


def lightning_file(tmp_path):
    return read_lightning_csv(write_lightning(tmp_path / "metrics.csv"))


def plain_file(tmp_path):
    pd.DataFrame({"Epoch": range(1, EPOCHS + 1), "Train Loss": LOSS, "Valid Loss": VAL_LOSS,
                  "Train Acc (%)": np.array(ACC) * 100, "valid_acc": np.array(VAL_ACC) * 100}).to_csv(tmp_path / "a.csv", index=False)
    return read_history(tmp_path / "a.csv")


def goodfit_file(tmp_path):
    frame = pd.DataFrame({"member": 0, "epoch": range(1, EPOCHS + 1), "train_loss": LOSS, "val_loss": VAL_LOSS,
                          "train_accuracy": ACC, "val_accuracy": VAL_ACC})
    History(frame).to_csv(tmp_path / "history.csv")
    return read_history(tmp_path / "history.csv")


@pytest.mark.parametrize("reader", [keras_file, lightning_file, plain_file, goodfit_file])
def test_every_importer_gives_one_based_epochs_fractions_and_the_validation_curve(tmp_path, reader):
    h = reader(tmp_path)
    assert h.frame["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert set(h.frame.columns) <= {"member", "epoch", *METRICS}
    assert h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)
    assert 0 <= np.nanmin(h.curve("val_accuracy")) and np.nanmax(h.curve("val_accuracy")) <= 1


# ---- each format's own traits --------------------------------------------------------------------
def test_keras_log_is_detected_and_its_bare_names_are_training_metrics(tmp_path):
    path = write_keras(tmp_path / "log.csv")
    assert detect_format(pd.read_csv(path)) == "keras"
    h = read_history(path)
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS)
    assert h.curve("train_accuracy").tolist() == pytest.approx(ACC)


def test_keras_validation_every_second_epoch_leaves_na_rows_as_missing(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv", validation_freq=2))
    assert np.isnan(h.curve("val_loss")[::2]).all() and h.curve("val_loss")[1::2].tolist() == pytest.approx(VAL_LOSS[1::2])


def test_keras_nan_loss_stays_missing_so_diagnosis_can_see_the_divergence(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv", nan_from=4))
    assert np.isnan(h.curve("train_loss")[4:]).all() and h.curve("train_accuracy")[4:].tolist() == pytest.approx(ACC[4:])


def test_lightning_rows_of_one_epoch_merge_and_step_losses_average(tmp_path):
    path = write_lightning(tmp_path / "metrics.csv")
    assert detect_format(pd.read_csv(path)) == "lightning"
    h = read_history(path)
    assert len(h.frame) == EPOCHS
    assert h.curve("train_loss").tolist() == pytest.approx(np.array(LOSS) + 0.02)
    assert h.curve("val_accuracy").tolist() == pytest.approx(VAL_ACC)


def test_lightning_epoch_aggregate_wins_over_step_values(tmp_path):
    h = read_history(write_lightning(tmp_path / "metrics.csv", step_and_epoch=True))
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS)


@pytest.mark.parametrize("columns", [
    ("train/loss", "val/loss"), ("loss/train", "loss/val"), ("Training Loss", "Validation Loss"),
    ("trainLoss", "valLoss"), ("train_loss_epoch", "val_loss_epoch"), ("trn_nll", "dev_nll")])
def test_plain_csv_column_names_a_person_would_understand_are_guessed(tmp_path, columns):
    pd.DataFrame({"epoch": range(EPOCHS), columns[0]: LOSS, columns[1]: VAL_LOSS}).to_csv(tmp_path / "a.csv", index=False)
    h = read_history(tmp_path / "a.csv")
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS) and h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)


def test_plain_csv_without_epoch_column_counts_rows(tmp_path):
    pd.DataFrame({"loss": LOSS, "val_loss": VAL_LOSS}).to_csv(tmp_path / "a.csv", index=False)
    assert read_history(tmp_path / "a.csv").frame["epoch"].tolist() == list(range(1, EPOCHS + 1))


def test_named_columns_override_the_guess(tmp_path):
    pd.DataFrame({"it": range(1, EPOCHS + 1), "a": LOSS, "b": VAL_LOSS, "val_loss": np.ones(EPOCHS)}).to_csv(
        tmp_path / "a.csv", index=False)
    h = read_history(tmp_path / "a.csv", train_loss="a", val_loss="b", epoch="it")
    assert h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS) and h.curve("train_loss").tolist() == pytest.approx(LOSS)


def test_ambiguous_columns_are_an_error_naming_both_and_the_flag(tmp_path):
    pd.DataFrame({"train_loss": LOSS, "training_loss": LOSS, "val_loss": VAL_LOSS}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(GoodfitError, match="'train_loss' and 'training_loss'.*--train-loss"):
        read_history(tmp_path / "a.csv")


def test_unknown_column_name_is_an_error_listing_the_columns(tmp_path):
    path = write_keras(tmp_path / "log.csv")
    with pytest.raises(GoodfitError, match="column 'Valid Loss'.*--val-loss.*columns: epoch, accuracy, loss"):
        read_history(path, val_loss="Valid Loss")


def test_file_without_metrics_is_an_error_naming_what_was_found(tmp_path):
    pd.DataFrame({"x": [1, 2], "y": [3, 4]}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(GoodfitError, match="no loss or accuracy columns among x, y"):
        read_history(tmp_path / "a.csv")


@pytest.mark.parametrize("content, message", [(None, "no file at"), ("", "is empty"), ("epoch,loss\n", "no rows"),
                                              (b"\x80\x81\x00\xff" * 50, "cannot read")])
def test_unreadable_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "log.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(GoodfitError, match=message):
        read_history(path)


def test_accuracy_above_one_hundred_is_an_error(tmp_path):
    pd.DataFrame({"loss": LOSS, "acc": np.full(EPOCHS, 250.0)}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(GoodfitError, match="reaches 250"):
        read_history(tmp_path / "a.csv")


def test_goodfit_run_reads_num_classes_from_config_json(tmp_path):
    h = goodfit_file(tmp_path)
    assert h.num_classes is None
    (tmp_path / "config.json").write_text(json.dumps({"num_classes": 10, "num_params": 500}))
    assert read_history(tmp_path / "history.csv").num_classes == 10
    assert read_run_config(tmp_path / "history.csv")["num_params"] == 500


def test_goodfit_history_with_several_members_keeps_them(tmp_path):
    frame = pd.DataFrame({"member": [0, 0, 1, 1], "epoch": [1, 2, 1, 2], "val_loss": [1.0, 0.8, 1.1, 0.9]})
    History(frame).to_csv(tmp_path / "history.csv")
    assert read_history(tmp_path / "history.csv").members == [0, 1]


def test_fastai_bare_metric_beside_named_losses_is_validation(tmp_path):
    """fastai's CSVLogger: epoch,train_loss,valid_loss,accuracy,time, metrics computed on the validation set."""
    pd.DataFrame({"epoch": range(EPOCHS), "train_loss": LOSS, "valid_loss": VAL_LOSS, "accuracy": VAL_ACC,
                  "time": ["00:01"] * EPOCHS}).to_csv(tmp_path / "history.csv", index=False)
    h = read_history(tmp_path / "history.csv")
    assert h.curve("val_accuracy").tolist() == pytest.approx(VAL_ACC) and not h.has("train_accuracy")


def test_top5_accuracy_is_not_taken_for_accuracy(tmp_path):
    pd.DataFrame({"loss": LOSS, "val_loss": VAL_LOSS, "val_top5_acc": np.full(EPOCHS, 0.99)}).to_csv(
        tmp_path / "a.csv", index=False)
    assert not read_history(tmp_path / "a.csv").has("val_accuracy")
