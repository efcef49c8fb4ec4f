"""The learning rate read from other programs' logs into `lr`: the rate each epoch began with, never a metric.

Keras (CSVLogger and history.history, with LearningRateScheduler), Lightning (LearningRateMonitor into its
CSVLogger and TensorBoardLogger) and torch's SummaryWriter write their logs here, training a linear model
for a few epochs; the Hugging Face Trainer's come from tests/corpus/hf/ (a constant rate, and a copy whose
rates follow the Trainer's linear decay); MLflow's run folder is written by hand as its file store lays it out.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from goodfit.diagnose import diagnose
from goodfit.errors import GoodfitError
from goodfit.history import RATE, History, read_history, read_line
from goodfit.history.rate import rate_changes, rate_name

CORPUS = Path(__file__).resolve().parent / "corpus"
EPOCHS = 4
HALVING = [0.01 * 0.5 ** e for e in range(EPOCHS)]  # StepLR(step_size=1, gamma=0.5) from 0.01, epoch by epoch


def data():
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    return X, (X[:, 0] > 0).long()


@pytest.fixture(scope="module")
def keras_logs(tmp_path_factory):
    """Keras' CSVLogger file and history.history as JSON; LearningRateScheduler first, so CSVLogger sees its rate."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    folder = tmp_path_factory.mktemp("keras")
    X, y = (t.numpy() for t in data())
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    fit = model.fit(X, y, validation_data=(X, y), epochs=EPOCHS, batch_size=16, verbose=0,
                    callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: HALVING[epoch]),
                               keras.callbacks.CSVLogger(str(folder / "log.csv"))])
    (folder / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in fit.history.items()}))
    return folder


@pytest.fixture(scope="module")
def lightning_logs(tmp_path_factory):
    """Lightning's metrics.csv and TensorBoard events with LearningRateMonitor: `epoch` (one group, its rate
    logged as each epoch opens) and `step` (two parameter groups, `lr-AdamW/pg1` and `/pg2`, every 2 steps)."""
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch.utils.data import DataLoader, TensorDataset

    class Linear(L.LightningModule):
        def __init__(self, groups):
            super().__init__()
            self.net, self.groups = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)), groups

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            params = ([{"params": self.net[0].parameters()}, {"params": self.net[1].parameters(), "lr": 0.1}]
                      if self.groups == 2 else self.parameters())
            opt = torch.optim.AdamW(params, lr=0.01)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)}

    folder = tmp_path_factory.mktemp("lightning")
    loader = DataLoader(TensorDataset(*data()), batch_size=8)
    for interval, groups in (("epoch", 1), ("step", 2)):
        L.seed_everything(0, verbose=False)
        loggers = [CSVLogger(folder, name=f"{interval}_csv"),
                   TensorBoardLogger(folder, name=f"{interval}_tb", default_hp_metric=False)]
        trainer = L.Trainer(max_epochs=EPOCHS, logger=loggers, callbacks=[LearningRateMonitor(interval)],
                            log_every_n_steps=2, enable_progress_bar=False, enable_model_summary=False,
                            enable_checkpointing=False, accelerator="cpu", devices=1)
        trainer.fit(Linear(groups), loader, loader)
    return folder


def summarywriter_log(folder: Path) -> Path:
    """A plain loop: the loss every step at the global step; validation and the scheduler's rate once an epoch."""
    from torch.utils.tensorboard import SummaryWriter

    X, y = data()
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    with SummaryWriter(folder) as writer:
        for epoch in range(EPOCHS):
            writer.add_scalar("lr", schedule.get_last_lr()[0], epoch)
            for i in range(0, 64, 16):
                loss = torch.nn.functional.cross_entropy(model(X[i:i + 16]), y[i:i + 16])
                opt.zero_grad()
                loss.backward()
                opt.step()
                writer.add_scalar("Loss/train", loss.item(), epoch * 4 + i // 16)
            schedule.step()
            writer.add_scalar("Loss/val", torch.nn.functional.cross_entropy(model(X), y).item(), epoch)
    return folder


def mlflow_run(folder: Path) -> Path:
    """MLflow's file store as Lightning's MLFlowLogger fills it: `metrics/<name>`, a line `timestamp value step`."""
    (folder / "metrics").mkdir()
    points = {"train_loss": [(4 * e + 3, 1.0 - 0.1 * e) for e in range(EPOCHS)],
              "val_loss": [(4 * e + 3, 1.1 - 0.1 * e) for e in range(EPOCHS)],
              "lr-Adam": [(4 * e, HALVING[e]) for e in range(EPOCHS)]}
    for name, rows in points.items():
        (folder / "metrics" / name).write_text("".join(f"{1700000000000 + s} {v} {s}\n" for s, v in rows))
    return folder


def hf_decaying(folder: Path) -> Path:
    """The corpus's trainer_state.json with the rate of `lr_scheduler_type="linear"`: 0.02 falling to 0 over the steps."""
    state = json.loads((CORPUS / "hf/good_fit/trainer_state.json").read_text())
    total = state["max_steps"]
    for row in state["log_history"]:
        if "learning_rate" in row:
            row["learning_rate"] = 0.02 * (1 - row["step"] / total)
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder / "trainer_state.json"


def first_rates_by_epoch(path: Path) -> list[float]:
    """From a trainer_state.json: the rate of each epoch's first training row (epoch 0.25 is in epoch 1)."""
    rows = [r for r in json.loads(path.read_text())["log_history"] if "learning_rate" in r]
    first: dict[int, float] = {}
    for r in rows:
        first.setdefault(int(np.ceil(r["epoch"] - 1e-6)), r["learning_rate"])
    return [first[e] for e in sorted(first)]


# ---- each format with a rate comes back with it, epoch by epoch --------------------------------------
@pytest.mark.parametrize("name, fmt, read_as", [("log.csv", "keras", "learning_rate"),
                                                ("history.json", "keras-json", "learning_rate")])
def test_keras_logs_carry_the_schedulers_rate(keras_logs, name, fmt, read_as):
    h = read_history(keras_logs / name)
    assert h.format == fmt and h.read[RATE] == read_as
    np.testing.assert_allclose(h.curve(RATE), HALVING, rtol=1e-6)
    assert read_line(h).endswith(f", learning rate {read_as!r}")


@pytest.mark.parametrize("log", ["epoch_csv/version_0/metrics.csv", "epoch_tb/version_0"])
def test_lightning_rate_logged_as_each_epoch_opens_is_that_epochs(lightning_logs, log):
    """LearningRateMonitor('epoch') logs the rate on a row of its own, without an epoch, before the epoch's
    first step; it opens that epoch, not the one before."""
    h = read_history(lightning_logs / log)
    assert h.read[RATE] == "lr-AdamW" and h.format in ("lightning", "tensorboard")
    np.testing.assert_allclose(h.curve(RATE), HALVING, rtol=1e-6)


@pytest.mark.parametrize("log", ["step_csv/version_0/metrics.csv", "step_tb/version_0"])
def test_lightning_rate_logged_every_few_steps_takes_the_first_groups_rate_at_each_epochs_first_step(lightning_logs, log):
    h = read_history(lightning_logs / log)
    assert h.read[RATE] == "lr-AdamW/pg1"  # not pg2, whose rate starts at 0.1
    np.testing.assert_allclose(h.curve(RATE), HALVING, rtol=1e-6)
    assert h.has("train_loss") and h.has("val_loss") and h.epochs == EPOCHS


def test_summarywriter_rate_logged_once_an_epoch_beside_a_per_step_loss(tmp_path):
    h = read_history(summarywriter_log(tmp_path))
    assert h.read[RATE] == "lr" and h.epochs == EPOCHS
    np.testing.assert_allclose(h.curve(RATE), HALVING, rtol=1e-6)


def test_mlflow_rate_logged_at_each_epochs_first_step(tmp_path):
    h = read_history(mlflow_run(tmp_path))
    assert h.format == "mlflow" and h.read[RATE] == "lr-Adam"
    np.testing.assert_allclose(h.curve(RATE), HALVING)


def test_hf_trainer_rate_is_each_epochs_first_logged_rate(tmp_path):
    path = hf_decaying(tmp_path)
    h = read_history(path)
    assert h.format == "hf-trainer" and h.read[RATE] == "learning_rate"
    np.testing.assert_allclose(h.curve(RATE), first_rates_by_epoch(path))
    assert rate_changes(h.frame)


@pytest.mark.parametrize("log", ["hf/good_fit/trainer_state.json", "hf/good_fit/runs"])
def test_hf_trainer_constant_rate_comes_back_constant(log):
    h = read_history(CORPUS / log)
    assert h.read[RATE] in ("learning_rate", "train/learning_rate")
    assert (h.curve(RATE) == 0.02).all() and not rate_changes(h.frame)


# ---- without a rate, or beside it, the metrics read as before ----------------------------------------
@pytest.mark.parametrize("log", ["keras/good_fit.csv", "lightning_csv/good_fit/metrics.csv", "summarywriter/good_fit",
                                 "mlflow/good_fit", "wandb/good_fit_history.csv"])
def test_a_log_without_a_rate_reads_without_one(log):
    h = read_history(CORPUS / log)
    assert RATE not in h.frame and RATE not in h.read and "learning rate" not in read_line(h)


def test_a_rate_column_is_never_a_metric_slot(tmp_path):
    """`lr`, `LR` and `learning_rate` beside a person's own names: the loss and accuracy guess is the same as without."""
    table = pd.DataFrame({"Epoch": [1, 2, 3], "LR": [0.1, 0.01, 0.001], "Train Loss": [0.9, 0.6, 0.5],
                          "Valid Loss": [1.0, 0.8, 0.85], "Valid Acc": [0.5, 0.6, 0.62]})
    table.to_csv(tmp_path / "with.csv", index=False)
    table.drop(columns="LR").to_csv(tmp_path / "without.csv", index=False)
    with_rate, without = read_history(tmp_path / "with.csv"), read_history(tmp_path / "without.csv")
    assert {k: v for k, v in with_rate.read.items() if k != RATE} == without.read and with_rate.read[RATE] == "LR"
    pd.testing.assert_frame_equal(with_rate.frame.drop(columns=RATE), without.frame)


def test_only_a_rate_is_still_no_metric(tmp_path):
    pd.DataFrame({"epoch": [1, 2], "lr": [0.1, 0.01], "learning_rate": [0.1, 0.01]}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(GoodfitError, match="found no loss, accuracy or error metric"):
        read_history(tmp_path / "a.csv")


def test_the_diagnosis_reads_the_same_with_or_without_the_rate():
    h = read_history(CORPUS / "keras/overfitting.csv")
    rates = np.geomspace(1e-2, 1e-4, h.epochs)  # a schedule that would move any metric it were mistaken for
    with_rate = History(h.frame.assign(**{RATE: rates}), h.num_classes, h.source, h.format, h.read, h.notes)
    assert diagnose(with_rate) == diagnose(h)


# ---- which of several rates is the first parameter group's ------------------------------------------
@pytest.mark.parametrize("names, chosen", [
    (["lr-Adam", "lr-Adam-1"], "lr-Adam"),  # two Adams: the first is plain
    (["lr-SGD/pg2", "lr-SGD/pg1", "lr-SGD/pg1-momentum", "lr-SGD/pg2-momentum"], "lr-SGD/pg1"),
    (["lr-AdamW-weight_decay", "lr-AdamW"], "lr-AdamW"),
    (["train/learning_rate", "train/grad_norm", "train/loss"], "train/learning_rate"),
    (["event_lr", "train_loss", "valid_loss"], "event_lr"),  # skorch's LRScheduler
    (["train/epoch_learning_rate", "train/epoch_loss"], "train/epoch_learning_rate"),  # Keras' TensorBoard
])
def test_the_first_parameter_groups_rate_is_chosen(names, chosen):
    assert rate_name(names) == (chosen, ())


@pytest.mark.parametrize("names", [["lr-Adam", "lr-SGD"], ["lr-AdamW/backbone", "lr-AdamW/head"]])
def test_rates_that_cannot_be_ordered_are_left_out_with_a_note(tmp_path, names):
    frame = pd.DataFrame({"epoch": [0, 1, 2], "loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.7],
                          **{n: [0.1, 0.05, 0.01] for n in names}})
    frame.to_csv(tmp_path / "log.csv", index=False)
    h = read_history(tmp_path / "log.csv")
    assert RATE not in h.frame and any("learning rates" in note and names[0] in note for note in h.notes)
