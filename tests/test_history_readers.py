"""History readers on files written the way Keras, Lightning and goodfit write them, and on plain CSVs."""
import csv
import json

import numpy as np
import pandas as pd
import pytest

from goodfit.errors import GoodfitError
from goodfit.history import METRICS, History, read_history, read_keras_csv, read_lightning_csv, read_run_config

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


# ---- the curves written come back (tests/test_history_formats.py is the battery every format passes) ----
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
def test_every_importer_gives_back_the_epochs_and_the_validation_curve_written(tmp_path, reader):
    h = reader(tmp_path)
    assert h.frame["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)


# ---- each format's own traits --------------------------------------------------------------------
def test_keras_bare_names_are_training_metrics(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv"))
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS)
    assert h.curve("train_accuracy").tolist() == pytest.approx(ACC)


def test_keras_validation_every_second_epoch_leaves_na_rows_as_missing(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv", validation_freq=2))
    assert np.isnan(h.curve("val_loss")[::2]).all() and h.curve("val_loss")[1::2].tolist() == pytest.approx(VAL_LOSS[1::2])


def test_keras_nan_loss_stays_missing_so_diagnosis_can_see_the_divergence(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv", nan_from=4))
    assert np.isnan(h.curve("train_loss")[4:]).all() and h.curve("train_accuracy")[4:].tolist() == pytest.approx(ACC[4:])


def test_lightning_rows_of_one_epoch_merge_and_step_losses_average(tmp_path):
    h = read_history(write_lightning(tmp_path / "metrics.csv"))
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
    with pytest.raises(GoodfitError, match=r"no loss, accuracy or error metric \(mae, rmse, r2\) columns among x, y"):
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


def test_naming_the_loss_columns_does_not_change_the_guess_for_a_bare_accuracy(tmp_path):
    """`Acc` beside `Train Loss` is validation accuracy, whether or not the losses are named by flag."""
    pd.DataFrame({"Epoch": range(1, EPOCHS + 1), "Train Loss": LOSS, "Valid Loss": VAL_LOSS, "Acc": VAL_ACC}).to_csv(
        tmp_path / "log.csv", index=False)
    guessed = read_history(tmp_path / "log.csv")
    named = read_history(tmp_path / "log.csv", train_loss="Train Loss", val_loss="Valid Loss")
    assert guessed.read["val_accuracy"] == named.read["val_accuracy"] == "Acc"
    assert not named.has("train_accuracy")


def test_a_zero_based_epoch_column_is_shifted_with_a_note_saying_so(tmp_path):
    h = read_history(write_keras(tmp_path / "log.csv"))
    assert h.frame["epoch"].min() == 1 and any("counts from 0" in note for note in h.notes)
    pd.DataFrame({"epoch": range(1, EPOCHS + 1), "train_loss": LOSS, "val_loss": VAL_LOSS}).to_csv(
        tmp_path / "one.csv", index=False)
    assert not read_history(tmp_path / "one.csv").notes


def test_top5_accuracy_is_not_taken_for_accuracy(tmp_path):
    pd.DataFrame({"loss": LOSS, "val_loss": VAL_LOSS, "val_top5_acc": np.full(EPOCHS, 0.99)}).to_csv(
        tmp_path / "a.csv", index=False)
    assert not read_history(tmp_path / "a.csv").has("val_accuracy")


# ---- TensorBoard, Hugging Face, Keras JSON, MLflow, W&B, fastai -----------------------------------
def write_summarywriter(folder, val_at_epoch=True, steps_per_epoch=10):
    """The usual plain loop: training loss every step at the global step, validation once per epoch."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder)) as w:
        step = 0
        for e in range(EPOCHS):
            for _ in range(steps_per_epoch):
                w.add_scalar("Loss/train", LOSS[e], step)
                step += 1
            w.add_scalar("Loss/val", VAL_LOSS[e], e if val_at_epoch else step - 1)
            w.add_scalar("Accuracy/val", VAL_ACC[e], e if val_at_epoch else step - 1)
    return folder


@pytest.mark.parametrize("val_at_epoch", [True, False])
def test_tensorboard_steps_are_grouped_into_epochs_by_the_validation_points(tmp_path, val_at_epoch):
    h = read_history(write_summarywriter(tmp_path, val_at_epoch))
    assert h.format == "tensorboard" and h.frame["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS) and h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)
    assert h.read == {"train_loss": "Loss/train", "val_loss": "Loss/val", "val_accuracy": "Accuracy/val"}
    assert any("grouped into 6 epochs" in note for note in h.notes)


def test_a_single_events_file_reads_like_its_folder(tmp_path):
    write_summarywriter(tmp_path)
    events = next(tmp_path.glob("events.out.tfevents.*"))
    assert read_history(events).curve("val_loss").tolist() == pytest.approx(VAL_LOSS)


def test_tensorboard_split_subfolders_name_the_series(tmp_path):
    """Keras' TensorBoard callback writes train/ and validation/ folders with the same tag; add_scalars writes Loss_train/."""
    from torch.utils.tensorboard import SummaryWriter

    for split, values in (("train", LOSS), ("validation", VAL_LOSS)):
        with SummaryWriter(str(tmp_path / split)) as w:
            for e, v in enumerate(values):
                w.add_scalar("epoch_loss", v, e)
    h = read_history(tmp_path)
    assert h.read == {"train_loss": "train/epoch_loss", "val_loss": "validation/epoch_loss"}
    assert h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)


def test_two_tensorboard_runs_side_by_side_are_an_error_listing_them(tmp_path):
    for run in ("version_0", "version_1"):
        write_summarywriter(tmp_path / run)
    with pytest.raises(GoodfitError, match="holds 2 runs \\(version_0, version_1\\); pass the folder of one"):
        read_history(tmp_path)


def test_unknown_series_layout_is_one_line_listing_what_was_found(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as w:
        for e in range(4):
            w.add_scalar("lr", 0.1, e)
            w.add_scalar("grad_norm", 1.0, e)
    with pytest.raises(GoodfitError, match=r"found no loss, accuracy or error metric \(mae, rmse, r2\) series among grad_norm, lr; name them with --train-loss"):
        read_history(tmp_path)


def test_series_named_on_the_command_line_override_the_guess(tmp_path):
    write_summarywriter(tmp_path)
    h = read_history(tmp_path, val_loss="Accuracy/val")
    assert h.curve("val_loss").tolist() == pytest.approx(VAL_ACC) and h.read["val_loss"] == "Accuracy/val"
    with pytest.raises(GoodfitError, match="series 'Loss/valid' \\(given for --val-loss\\) not found; series: Accuracy/val"):
        read_history(tmp_path, val_loss="Loss/valid")


def test_a_folder_without_event_files_is_an_error_saying_so(tmp_path):
    from goodfit.history import read_tensorboard

    with pytest.raises(GoodfitError, match="no TensorBoard event files"):
        read_tensorboard(tmp_path)


def test_without_the_tensorboard_package_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    write_summarywriter(tmp_path)
    real = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(GoodfitError, match='pip install "goodfit\\[tensorboard\\]"'):
        read_history(tmp_path)


def trainer_state(path, rows):
    path.write_text(json.dumps({"global_step": rows[-1]["step"], "log_history": rows}))
    return path


HF_ROWS = [{"loss": 2.0, "epoch": 0.5, "step": 5}, {"loss": 1.0, "epoch": 1.0, "step": 10},
           {"eval_loss": 1.2, "eval_accuracy": 0.6, "epoch": 1.0, "step": 10},
           {"loss": 0.8, "epoch": 1.5, "step": 15}, {"loss": 0.6, "epoch": 2.0, "step": 20},
           {"eval_loss": 1.0, "eval_accuracy": 0.7, "epoch": 2.0, "step": 20},
           {"train_runtime": 3.2, "train_loss": 1.1, "epoch": 2.0, "step": 20}]


def test_trainer_state_groups_logging_steps_by_their_fractional_epoch(tmp_path):
    h = read_history(trainer_state(tmp_path / "trainer_state.json", HF_ROWS))
    assert h.format == "hf-trainer" and h.read == {"train_loss": "loss", "val_loss": "eval_loss", "val_accuracy": "eval_accuracy"}
    assert h.frame[["epoch", "train_loss", "val_loss", "val_accuracy"]].values.tolist() == [[1, 1.5, 1.2, 0.6], [2, 0.7, 1.0, 0.7]]
    assert any("'epoch' series" in note for note in h.notes)


def test_trainer_output_folder_reads_its_latest_checkpoint(tmp_path):
    for step in (10, 20):
        (tmp_path / f"checkpoint-{step}").mkdir()
        trainer_state(tmp_path / f"checkpoint-{step}" / "trainer_state.json", HF_ROWS[:3] if step == 10 else HF_ROWS)
    assert read_history(tmp_path).epochs == 2


def test_keras_history_json_and_per_epoch_records(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"loss": LOSS, "accuracy": ACC, "val_loss": VAL_LOSS, "val_accuracy": VAL_ACC}))
    h = read_history(tmp_path / "h.json")
    assert h.format == "keras-json" and h.curve("train_accuracy").tolist() == pytest.approx(ACC)
    records = [{"epoch": e + 1, "train_loss": LOSS[e], "valid_loss": VAL_LOSS[e], "batches": [1, 2]} for e in range(EPOCHS)]
    (tmp_path / "skorch.json").write_text(json.dumps(records))
    assert read_history(tmp_path / "skorch.json").curve("val_loss").tolist() == pytest.approx(VAL_LOSS)


@pytest.mark.parametrize("content, message", [("{not json", "cannot read .* as JSON"), ('{"a": 1}', "not a history"),
                                              ('{"loss": [1, 2], "val_loss": [1]}', "different lengths"),
                                              ('{"log_history": []}', "no log_history rows")])
def test_json_that_is_no_history_is_a_one_line_error(tmp_path, content, message):
    (tmp_path / "h.json").write_text(content)
    with pytest.raises(GoodfitError, match=message):
        read_history(tmp_path / "h.json")


def write_mlflow_run(run):
    (run / "metrics").mkdir(parents=True)
    (run / "meta.yaml").write_text("run_id: abc\n")
    for name, values in (("train_loss", LOSS), ("val_loss", VAL_LOSS), ("val_accuracy", VAL_ACC)):
        (run / "metrics" / name).write_text("".join(f"{1700000000000 + 1000 * e} {v} {e}\n" for e, v in enumerate(values)))
    return run


def test_mlflow_run_folder_and_experiment_folder(tmp_path):
    h = read_history(write_mlflow_run(tmp_path / "exp" / "run1"))
    assert h.format == "mlflow" and h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)
    write_mlflow_run(tmp_path / "exp" / "run2")
    with pytest.raises(GoodfitError, match="MLflow experiment with 2 run\\(s\\) \\(run1, run2\\); pass the folder of one"):
        read_history(tmp_path / "exp")
    (tmp_path / "exp" / "run1" / "metrics" / "val_loss").write_text("1700000000000 oops 0\n")
    with pytest.raises(GoodfitError, match="line 1: expected 'timestamp value step'"):
        read_history(tmp_path / "exp" / "run1")


def test_wandb_history_export_groups_steps_by_the_epoch_column(tmp_path):
    rows = []
    for e in range(EPOCHS):
        rows += [{"_step": len(rows), "train/loss": LOSS[e] + d} for d in (0.1, -0.1)]
        rows.append({"_step": len(rows), "epoch": e, "val/loss": VAL_LOSS[e], "val/acc": VAL_ACC[e]})
    pd.DataFrame(rows).assign(_runtime=1.0, _timestamp=1.7e9).to_csv(tmp_path / "wandb.csv", index=False)
    h = read_history(tmp_path / "wandb.csv")
    assert h.format == "wandb" and h.curve("val_loss").tolist() == pytest.approx(VAL_LOSS)
    assert h.curve("train_loss").tolist() == pytest.approx(LOSS)


def test_wandb_panel_export_drops_min_max_and_names_one_run(tmp_path):
    cols = {"Step": range(EPOCHS), "run-7 - val_loss": VAL_LOSS, "run-7 - val_loss__MIN": VAL_LOSS,
            "run-7 - val_loss__MAX": VAL_LOSS, "run-7 - train_loss": LOSS}
    pd.DataFrame(cols).to_csv(tmp_path / "panel.csv", index=False)
    assert read_history(tmp_path / "panel.csv").read == {"train_loss": "train_loss", "val_loss": "val_loss"}
    pd.DataFrame({**cols, "run-8 - val_loss": VAL_LOSS}).to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(GoodfitError, match="holds 2 runs \\(run-7, run-8\\)"):
        read_history(tmp_path / "two.csv")


def test_fastai_csvlogger_is_named_in_the_read_line(tmp_path):
    from goodfit.history import read_line

    pd.DataFrame({"epoch": range(EPOCHS), "train_loss": LOSS, "valid_loss": VAL_LOSS, "accuracy": VAL_ACC,
                  "time": ["00:01"] * EPOCHS}).to_csv(tmp_path / "history.csv", index=False)
    line = read_line(read_history(tmp_path / "history.csv"))
    assert line == ("fastai CSVLogger log, 6 epochs; read --train-loss 'train_loss', --val-loss 'valid_loss', "
                    "--train-acc (none), --val-acc 'accuracy'")


# ---- cells that are not numbers --------------------------------------------------------------------
def test_a_cell_that_is_not_a_number_is_a_warning_naming_its_line_and_column(tmp_path):
    path = write_keras(tmp_path / "log.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(str(LOSS[2]), "abc")
    lines[5] = ",".join(lines[5].split(",")[:3])  # a row with fields missing
    path.write_text("\n".join(lines) + "\n")
    h = read_history(path)
    assert any("line 4 ('abc') is not a number" in w and "'loss'" in w for w in h.warnings)
    assert any(w.startswith("line 6 has 3 of 5 fields; val_accuracy, val_loss read as not logged") for w in h.warnings)
    assert np.isnan(h.curve("train_loss")[2]) and np.isnan(h.curve("val_loss")[4])


def test_a_column_that_is_mostly_not_numbers_is_an_error(tmp_path):
    pd.DataFrame({"loss": ["a", "b", "c", 0.5], "val_loss": VAL_LOSS[:4]}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(GoodfitError, match="column 'loss' is mostly not numbers \\(3 of 4 cells, e.g. line 2 \\('a'\\)"):
        read_history(tmp_path / "a.csv")


# ---- regression logs: error metrics under every framework's names ---------------------------------
MAE = [0.9, 0.7, 0.6, 0.55, 0.5, 0.48]
VAL_MAE = [1.0, 0.8, 0.7, 0.68, 0.7, 0.72]


@pytest.mark.parametrize("names, slots", [
    (["epoch", "loss", "mae", "val_loss", "val_mae"], ["train_loss", "train_mae", "val_loss", "val_mae"]),  # Keras
    (["epoch", "loss", "mean_absolute_error", "root_mean_squared_error", "val_loss", "val_mean_absolute_error",
      "val_root_mean_squared_error"], ["train_loss", "train_mae", "train_rmse", "val_loss", "val_mae", "val_rmse"]),
    (["epoch", "loss", "r2_score", "val_loss", "val_r2_score"], ["train_loss", "train_r2", "val_loss", "val_r2"]),
    (["epoch", "train_loss_epoch", "train_mae_epoch", "val_loss", "val_MeanAbsoluteError", "val_R2Score"],  # Lightning
     ["train_loss", "train_mae", "val_loss", "val_mae", "val_r2"]),
    (["epoch", "eval_loss", "eval_rmse", "eval_r2", "loss"], ["val_loss", "val_rmse", "val_r2", "train_loss"]),  # HF
    (["epoch", "train/loss", "val/mae", "val/rmse", "test/mae"], ["train_loss", "val_mae", "val_rmse", "test_mae"]),
    (["epoch", "Train MAE", "Valid MAE", "Train R squared"], ["train_mae", "val_mae", "train_r2"]),
])
def test_error_metrics_are_read_under_the_names_frameworks_give_them(tmp_path, names, slots):
    values = {n: np.linspace(1.0, 0.5, EPOCHS) + i for i, n in enumerate(names) if n != "epoch"}
    pd.DataFrame({"epoch": range(EPOCHS), **values}).to_csv(tmp_path / "a.csv", index=False)
    h = read_history(tmp_path / "a.csv")
    assert [c for c in h.frame.columns if c not in ("member", "epoch")] == [m for m in METRICS if m in slots]
    for name, slot in zip([n for n in names if n != "epoch"], slots):
        assert h.curve(slot).tolist() == pytest.approx(values[name].tolist()), (name, slot)


def test_a_mean_squared_error_is_the_loss_only_where_no_loss_is_logged(tmp_path):
    both = pd.DataFrame({"epoch": range(EPOCHS), "loss": LOSS, "mse": MAE, "val_loss": VAL_LOSS, "val_mse": VAL_MAE})
    both.to_csv(tmp_path / "keras.csv", index=False)
    assert read_history(tmp_path / "keras.csv").curve("val_loss").tolist() == pytest.approx(VAL_LOSS)
    alone = pd.DataFrame({"step": range(EPOCHS), "train_mse": LOSS, "val_mean_squared_error": VAL_LOSS})
    alone.to_csv(tmp_path / "plain.csv", index=False)
    h = read_history(tmp_path / "plain.csv")
    assert h.read == {"train_loss": "train_mse", "val_loss": "val_mean_squared_error"} and h.score is None


def test_the_secondary_score_is_accuracy_else_the_first_error_metric_logged_on_validation(tmp_path):
    frame = {"member": 0, "epoch": range(1, EPOCHS + 1), "val_loss": VAL_LOSS}
    assert History(pd.DataFrame({**frame, "val_mae": VAL_MAE, "val_r2": ACC})).score == "r2"
    assert History(pd.DataFrame({**frame, "val_mae": VAL_MAE, "train_rmse": MAE})).score == "mae"
    assert History(pd.DataFrame({**frame, "val_mae": VAL_MAE, "val_accuracy": ACC})).score == "accuracy"
    assert History(pd.DataFrame(frame)).score is None


def test_a_regression_log_names_its_error_metric_where_accuracy_would_be_in_the_read_line(tmp_path):
    from goodfit.history import read_line

    pd.DataFrame({"epoch": range(EPOCHS), "loss": LOSS, "mae": MAE, "val_loss": VAL_LOSS, "val_mae": VAL_MAE}).to_csv(
        tmp_path / "log.csv", index=False)
    assert read_line(read_history(tmp_path / "log.csv")) == (
        "Keras CSVLogger log, 6 epochs; read --train-loss 'loss', --val-loss 'val_loss', training MAE 'mae', "
        "validation MAE 'val_mae'")


def test_trainer_state_and_tensorboard_read_regression_metrics(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    rows = [row for e in range(EPOCHS) for row in (
        {"loss": LOSS[e], "epoch": e + 1.0, "step": 10 * (e + 1)},
        {"eval_loss": VAL_LOSS[e], "eval_mae": VAL_MAE[e], "epoch": e + 1.0, "step": 10 * (e + 1)})]
    h = read_history(trainer_state(tmp_path / "trainer_state.json", rows))
    assert h.score == "mae" and h.curve("val_mae").tolist() == pytest.approx(VAL_MAE)
    for split, values in (("train", MAE), ("validation", VAL_MAE)):  # Keras' TensorBoard callback
        with SummaryWriter(str(tmp_path / "tb" / split)) as w:
            for e, v in enumerate(values):
                w.add_scalar("epoch_mae", v, e)
                w.add_scalar("epoch_loss", v * 2, e)
    h = read_history(tmp_path / "tb")
    assert h.curve("train_mae").tolist() == pytest.approx(MAE) and h.curve("val_mae").tolist() == pytest.approx(VAL_MAE)
