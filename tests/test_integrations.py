"""Live diagnosis in the user's own training, against the real Keras, Lightning, Hugging Face Trainer and torch.

Each framework trains a small MLP on 200 digits, 30% of their labels wrong, until it overfits, and a
wide MLP on 120 rows of a regression (MSE loss, MAE or RMSE beside it); the tests check the alarm's
epoch, the final verdict and that the weights kept are the best validated epoch's, tensor by tensor.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits

import goodfit
from goodfit.diagnose import CONFIDENCE, Diagnosis, diagnose
from goodfit.errors import GoodfitError
from goodfit.history import History
from goodfit.integrations.live import ALARMS, LiveDiagnosis, slots, summary, timeline, turn_line
from goodfit.integrations.monitor import copy_state

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported by any test
HIDDEN, LR = 128, 0.01


@pytest.fixture(scope="module")
def digits():
    """200 training digits (30% of labels replaced by another class, so memorizing them hurts) and 300 for validation."""
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    x, y = (x[order] / 16).astype(np.float32), y[order].astype(np.int64)
    xt, yt, xv, yv = x[:200], y[:200].copy(), x[500:800], y[500:800]
    yt[:60] = (yt[:60] + rng.integers(1, 10, 60)) % 10
    return xt, yt, xv, yv


@pytest.fixture(scope="module")
def diabetes():
    """120 training rows of sklearn's diabetes regression (inputs and target standardized), 242 for validation:
    a wide MLP has its best validation MSE within the first 10 epochs and overfits from there."""
    x, y = load_diabetes(return_X_y=True)
    x, y = (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std()
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order].astype(np.float32), y[order, None].astype(np.float32)
    return x[:120], y[:120], x[200:], y[200:]


def wide_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(10, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 1))


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matmuls: one thread is faster and leaves the other core to the rest
    yield
    torch.set_num_threads(threads)


def first_alarm(history: History) -> int | None:
    """The first epoch whose history so far a confident enough diagnosis calls an alarm, replayed apart from the callback."""
    frame = history.frame
    for epoch in frame["epoch"]:
        prefix = History(frame[frame["epoch"] <= epoch], history.num_classes)
        if prefix.frame["val_loss"].notna().sum() < 5:
            continue
        d = diagnose(prefix)
        if d.regime in ALARMS and CONFIDENCE.index(d.confidence) >= CONFIDENCE.index("medium"):
            return int(epoch)
    return None


def best_validated(val_losses: dict[int, float]) -> int:
    """The epoch of the lowest validation loss, the first one on a tie, from the framework's own numbers."""
    return min(val_losses, key=lambda e: (val_losses[e], e))


def assert_same_tensors(got: dict, want: dict):
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(torch.as_tensor(np.asarray(got[k])), torch.as_tensor(np.asarray(want[k]))), k


def check_run(cb, val_losses: dict[int, float], snapshots: dict[int, dict], final: dict, *, stopped_at: int | None,
              alarm_within: tuple[int, int] = (10, 60)):
    """What every framework's run must show: fresh validation only, the alarm where replay puts it, the best weights."""
    history = cb.history_
    recorded = history.frame.dropna(subset=["val_loss"])
    assert recorded["epoch"].tolist() == sorted(val_losses)  # validated epochs only, none repeated
    np.testing.assert_allclose(recorded["val_loss"], [val_losses[e] for e in sorted(val_losses)], rtol=1e-6)
    alarm = first_alarm(history)
    assert alarm is not None and cb.live.alarm_epoch_ == alarm and alarm_within[0] <= alarm <= alarm_within[1]
    if stopped_at is not None:
        assert stopped_at == alarm
    assert cb.diagnosis_.regime == "overfitting"
    best = best_validated(val_losses)
    assert cb.best_epoch_ == cb.restored_epoch_ == cb.diagnosis_.best_epoch == best
    assert_same_tensors(final, snapshots[best])
    assert not all(torch.equal(torch.as_tensor(np.asarray(final[k])), torch.as_tensor(np.asarray(v)))
                   for k, v in snapshots[max(snapshots)].items())  # the last weights were not kept


# ---- the framework-free core ---------------------------------------------------------------------
def feed(live, epochs=60, names=("loss", "val_loss")):
    for epoch in range(1, epochs + 1):
        live.record(epoch, {names[0]: 2 * np.exp(-epoch / 8),
                            names[1]: 0.3 + 2 * np.exp(-epoch / 5) + 0.01 * max(0, epoch - 20)})


def test_alarm_line_comes_once_a_few_epochs_after_the_onset(capsys):
    live = LiveDiagnosis()
    feed(live)
    lines = capsys.readouterr().out.splitlines()
    assert live.turns_ == [(24, "overfitting")] and live.alarm_.onset_epoch == 20 and not live.should_stop
    assert len(lines) == 1 and lines[0] == ("goodfit, epoch 24: overfitting since epoch 20, where the validation loss "
                                            f"was lowest (the weights to keep) [{live.alarm_.confidence} confidence]")


def test_a_repeated_validation_value_is_not_a_new_best():
    live = LiveDiagnosis(verbose=False)
    flags = []
    for epoch, v in enumerate([1.0, 0.8, 0.8, 0.7, 0.75, 0.7], 1):
        live.record(epoch, {"val_loss": v})
        flags.append(live.improved_)
    assert flags == [True, True, False, True, False, False] and live.best_epoch_ == 4


def test_epochs_without_validation_keep_the_best_where_it_was():
    live = LiveDiagnosis(verbose=False)
    live.record(1, {"train_loss": 1.0, "val_loss": 0.9})
    live.record(2, {"train_loss": 0.8})
    assert not live.improved_ and live.best_epoch_ == 1 and live.validated == 1


def test_verdict_turning_back_gets_its_own_line_and_the_paragraph_names_the_earlier_alarm(capsys):
    live = LiveDiagnosis()
    val = [2.0, 1.5, 1.2, 1.0, 0.9, 0.85, 0.86, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3,
           0.8, 0.7, 0.6, 0.55, 0.5, 0.48, 0.47, 0.46, 0.455, 0.45]  # rises, then falls to new bests
    for epoch, v in enumerate(val, 1):
        live.record(epoch, {"train_loss": 1.0 / epoch, "val_loss": v})
    live.finish()
    out = capsys.readouterr().out.splitlines()
    assert [state for _, state in live.turns_] == ["overfitting", None]
    assert out[1].startswith(f"goodfit, epoch {live.turns_[1][0]}: no longer overfitting; now ")
    assert f"At epoch {live.turns_[0][0]} it read overfitting." in out[-1]
    assert out[-1].startswith(f"goodfit: after 26 epochs, {live.diagnosis_.regime.replace('_', ' ')}")


def test_closing_paragraph_has_verdict_onset_best_epoch_restored_weights_and_first_advice(capsys):
    live = LiveDiagnosis()
    feed(live)
    d = live.finish(restored=20)
    text = capsys.readouterr().out.splitlines()[-1]
    assert text.startswith("goodfit: after 60 epochs, overfitting (high confidence) since epoch 20, where the "
                           "validation loss was lowest")
    assert "The weights of epoch 20 were restored." in text
    assert text.endswith(f"First advice: {d.advice[0].remedy.replace('_', ' ')}: {d.advice[0].reason}")


@pytest.mark.parametrize("onset, best, want", [
    (12, 12, " since epoch 12, where the validation loss was lowest (the weights to keep)"),
    (8, 15, ": the validation loss trend turned upward around epoch 8; its single lowest value came at epoch 15 "
            "(the weights to keep)"),
    (14, 12, " since epoch 14; the validation loss was lowest at epoch 12 (the weights to keep)"),
])
def test_onset_and_best_epoch_are_worded_so_they_do_not_contradict(onset, best, want):
    d = Diagnosis("overfitting", onset, best, {}, (), (), "high", "val_loss", 30)
    assert timeline(d) == want and "since epoch 8 (best epoch 15)" not in turn_line(d, 30, None)


def test_divergence_and_calm_regimes_read_in_a_sentence():
    diverged = Diagnosis("diverged", 9, 6, {}, (), (), "high", "val_loss", 12)
    assert summary(diverged, epochs=12, validated=12) == "goodfit: after 12 epochs, diverged (high confidence) at epoch 9, after its best epoch 6."
    calm = Diagnosis("good_fit", None, 7, {}, (), (), "medium", "val_accuracy", 10)
    assert turn_line(calm, 10, "overfitting") == ("goodfit, epoch 10: no longer overfitting; now good fit: the validation "
                                                  "error was lowest at epoch 7")


def test_no_validation_metric_warns_and_leaves_no_diagnosis():
    live = LiveDiagnosis(verbose=False)
    for epoch in range(1, 6):
        live.record(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5})
    with pytest.warns(UserWarning, match=r"no validation metric arrived in 5 epoch\(s\) \(logged: accuracy, loss\)"):
        assert live.finish() is None
    assert live.diagnosis_ is None


def test_framework_metric_names_become_goodfit_names():
    assert slots({"train_loss_epoch": 0.4, "train_loss_step": 0.5, "val_acc": 91.0}) == {"train_loss": 0.4,
                                                                                         "val_accuracy": 0.91}
    assert slots({"eval_loss": 0.3, "eval_runtime": 1.2, "epoch": 2.0}) == {"val_loss": 0.3}
    assert slots({"learning_rate": 1e-3, "note": "x"}) == {}


def test_regression_metric_names_become_goodfit_names():
    assert slots({"loss": 0.5, "mae": 0.4, "val_loss": 0.7, "val_mae": 0.6}) == {
        "train_loss": 0.5, "val_loss": 0.7, "train_mae": 0.4, "val_mae": 0.6}
    assert slots({"train_mae_epoch": 0.3, "train_mae_step": 0.2, "val_MeanSquaredError": 0.9, "val_R2Score": 0.4}) == {
        "val_loss": 0.9, "train_mae": 0.3, "val_r2": 0.4}
    assert slots({"eval_loss": 0.8, "eval_rmse": 0.9, "eval_runtime": 0.1}) == {"val_loss": 0.8, "val_rmse": 0.9}


@pytest.mark.parametrize("name, values, best", [("val_mae", [0.9, 0.7, 0.75, 0.6, 0.65], 4),  # lower is better
                                                ("val_r2", [0.1, 0.3, 0.25, 0.5, 0.45], 4),  # higher is better
                                                ("val_rmse", [0.9, 0.9, 0.95, 1.0, 1.1], 1)])
def test_without_a_validation_loss_the_best_epoch_follows_the_error_metrics_direction(name, values, best):
    live = LiveDiagnosis(verbose=False)
    for epoch, v in enumerate(values, 1):
        live.record(epoch, {name: v})
    assert live.best_epoch_ == best and live.diagnosis_.judged_on == name


def test_the_alarm_line_names_the_error_metric_it_judged_when_no_loss_is_logged(capsys):
    live = LiveDiagnosis()
    feed(live, names=("train_mae", "val_mae"))
    assert capsys.readouterr().out.startswith("goodfit, epoch 24: overfitting since epoch 20, where the validation MAE "
                                              "was lowest")


@pytest.mark.parametrize("kwargs, match", [({"min_confidence": "sure"}, "min_confidence"),
                                           ({"num_classes": 1}, "num_classes")])
def test_bad_settings_are_errors_before_training(kwargs, match):
    with pytest.raises(GoodfitError, match=match):
        LiveDiagnosis(**kwargs)
    with pytest.raises(GoodfitError, match=match):
        goodfit.Monitor(**kwargs)


def test_monitor_rejects_what_it_cannot_read():
    monitor = goodfit.Monitor(verbose=False)
    with pytest.raises(GoodfitError, match="epoch must be an integer counting from 1"):
        monitor.log(0, val_loss=1.0)
    with pytest.raises(GoodfitError, match="val_loss must be a number, got 'low'"):
        monitor.log(1, val_loss="low")
    monitor.log(1, val_loss=1.0)
    with pytest.raises(GoodfitError, match="epoch 1 comes after epoch 1"):
        monitor.log(1, val_loss=0.9)
    with pytest.raises(GoodfitError, match="watches no model"):
        monitor.best_state()
    with pytest.raises(GoodfitError, match="torch.nn.Module"):
        goodfit.Monitor("model")
    with pytest.raises(GoodfitError, match="Monitor.log takes no metric 'val_mse'; it takes train_loss, .* val_mae, val_r2"):
        monitor.log(2, val_mse=1.0)


def test_import_goodfit_imports_no_training_framework():
    code = ("import sys, goodfit; assert callable(goodfit.keras_callback) and callable(goodfit.hf_callback); "
            "print(sorted(m for m in ('keras', 'lightning', 'pytorch_lightning', 'transformers', 'accelerate') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- a plain PyTorch loop ------------------------------------------------------------------------
def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10))


def test_monitor_in_a_plain_loop_stops_at_the_alarm_and_restores_the_best_epoch(digits, capsys):
    xt, yt, xv, yv = map(torch.as_tensor, digits)
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), LR)
    val_losses, snapshots = {}, {}
    with goodfit.Monitor(model, stop=True, num_classes=10) as monitor:
        for epoch in range(1, 61):
            model.train()
            for batch in torch.randperm(len(yt)).split(32):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                out_t, out_v = model(xt), model(xv)
            val_losses[epoch] = torch.nn.functional.cross_entropy(out_v, yv).item()
            snapshots[epoch] = copy_state(model)
            verdict = monitor.log(epoch, train_loss=torch.nn.functional.cross_entropy(out_t, yt), val_loss=val_losses[epoch],
                                  train_acc=(out_t.argmax(1) == yt).float().mean(), val_acc=(out_v.argmax(1) == yv).float().mean())
            if monitor.should_stop:
                break
    assert verdict is monitor.live.alarm_ and verdict.regime == "overfitting"
    check_run(monitor, val_losses, snapshots, model.state_dict(), stopped_at=epoch)
    assert_same_tensors(monitor.best_state(), snapshots[monitor.best_epoch_])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"goodfit, epoch {epoch}: overfitting") and out[-1].startswith(f"goodfit: after {epoch} epochs")


def regression_epoch(model, xt, yt, xv, yv, opt) -> dict:
    """One epoch of minibatch MSE training on the regression; the epoch's metrics in goodfit's names."""
    model.train()
    for batch in torch.randperm(len(yt)).split(16):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xt[batch]), yt[batch]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pt, pv = model(xt), model(xv)
    return {"train_loss": torch.nn.functional.mse_loss(pt, yt).item(), "val_loss": torch.nn.functional.mse_loss(pv, yv).item(),
            "train_mae": (pt - yt).abs().mean().item(), "val_mae": (pv - yv).abs().mean().item()}


def test_monitor_on_a_regression_stops_at_the_alarm_and_restores_the_best_epoch(diabetes):
    xt, yt, xv, yv = map(torch.as_tensor, diabetes)
    torch.manual_seed(0)
    model = wide_mlp()
    opt = torch.optim.Adam(model.parameters(), LR)
    val_losses, snapshots = {}, {}
    with goodfit.Monitor(model, stop=True, verbose=False) as monitor:
        for epoch in range(1, 61):
            metrics = regression_epoch(model, xt, yt, xv, yv, opt)
            val_losses[epoch], snapshots[epoch] = metrics["val_loss"], copy_state(model)
            monitor.log(epoch, **metrics)
            if monitor.should_stop:
                break
    assert monitor.history_.score == "mae" and "accuracy" not in " ".join(monitor.diagnosis_.evidence)
    check_run(monitor, val_losses, snapshots, model.state_dict(), stopped_at=epoch, alarm_within=(5, 30))


# ---- Keras ---------------------------------------------------------------------------------------
def test_keras_callback_stops_at_the_alarm_and_restores_the_best_validated_epoch(digits):
    import keras
    xt, yt, xv, yv = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    snapshots = {}
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.update({e + 1: model.get_weights()}))
    cb = goodfit.keras_callback(stop=True, num_classes=10, verbose=False)
    fit = model.fit(xt, yt, validation_data=(xv, yv), batch_size=32, epochs=60, verbose=0, callbacks=[record, cb])
    val_losses = dict(enumerate(fit.history["val_loss"], 1))
    as_dict = dict(enumerate(model.get_weights()))
    check_run(cb, val_losses, {e: dict(enumerate(w)) for e, w in snapshots.items()}, as_dict, stopped_at=len(fit.epoch))


def test_keras_callback_on_a_regression_reads_mae_and_restores_the_best_validated_epoch(diabetes):
    import keras
    xt, yt, xv, yv = diabetes
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(256, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(LR), "mse", metrics=["mae"])
    snapshots = {}
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.update({e + 1: model.get_weights()}))
    cb = goodfit.keras_callback(stop=True, verbose=False)
    fit = model.fit(xt, yt, validation_data=(xv, yv), batch_size=16, epochs=60, verbose=0, callbacks=[record, cb])
    assert cb.history_.score == "mae" and cb.history_.curve("val_mae").tolist() == pytest.approx(fit.history["val_mae"])
    check_run(cb, dict(enumerate(fit.history["val_loss"], 1)), {e: dict(enumerate(w)) for e, w in snapshots.items()},
              dict(enumerate(model.get_weights())), stopped_at=len(fit.epoch), alarm_within=(5, 30))


def test_keras_fit_without_validation_warns_that_nothing_was_diagnosed(digits):
    import keras
    xt, yt, _, _ = digits
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cb = goodfit.keras_callback()
    with pytest.warns(UserWarning, match="no validation metric arrived in 2 epoch.*validation_data="):
        model.fit(xt, yt, epochs=2, verbose=0, callbacks=[cb])
    assert cb.diagnosis_ is None and cb.restored_epoch_ is None


# ---- Lightning -----------------------------------------------------------------------------------
def lightning_module(pl, accuracy: bool = False):
    """`mlp()` as a LightningModule logging train_loss each epoch, val_loss and, with `accuracy`, val_acc."""

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            out = self.net(batch[0])
            self.log("val_loss", torch.nn.functional.cross_entropy(out, batch[1]))
            if accuracy:
                self.log("val_acc", (out.argmax(1) == batch[1]).float().mean())

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), LR)

    return Module()


def lightning_fit(pl, module, cb, data, *, batch: int, epochs: int, every: int = 1):
    """Fit `module` with `cb` and a recorder of each validation's val_loss and weights, as Lightning reports them."""
    from torch.utils.data import DataLoader, TensorDataset

    xt, yt, xv, yv = map(torch.as_tensor, data)

    class Record(pl.Callback):
        def __init__(self):
            self.val_losses, self.snapshots = {}, {}

        def on_validation_end(self, trainer, module):
            if not trainer.sanity_checking:
                self.val_losses[trainer.current_epoch + 1] = float(trainer.callback_metrics["val_loss"])
                self.snapshots[trainer.current_epoch + 1] = copy_state(module)

    record = Record()
    trainer = pl.Trainer(max_epochs=epochs, check_val_every_n_epoch=every, callbacks=[record, cb], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, accelerator="cpu")
    trainer.fit(module, DataLoader(TensorDataset(xt, yt), batch_size=batch, shuffle=True),
                DataLoader(TensorDataset(xv, yv), batch_size=len(yv)))
    return record, trainer


def lightning_run(digits, every: int, stop: bool, epochs: int):
    import lightning.pytorch as pl

    pl.seed_everything(0, verbose=False)
    module = lightning_module(pl, accuracy=True)
    cb = goodfit.lightning_callback(stop=stop, num_classes=10, verbose=False)
    record, trainer = lightning_fit(pl, module, cb, digits, batch=32, epochs=epochs, every=every)
    return cb, record, module, trainer


def test_lightning_callback_restores_the_best_epoch_without_stopping(digits):
    cb, record, module, trainer = lightning_run(digits, every=1, stop=False, epochs=40)
    assert trainer.current_epoch == 40 and not cb.should_stop  # ran to the end
    check_run(cb, record.val_losses, record.snapshots, module.state_dict(), stopped_at=None)


def test_lightning_validating_every_second_epoch_restores_the_best_validated_weights(digits):
    cb, record, module, trainer = lightning_run(digits, every=2, stop=True, epochs=60)
    assert sorted(record.val_losses) == list(range(2, trainer.current_epoch + 1, 2))
    frame = cb.history_.frame
    assert frame[frame["epoch"] % 2 == 1]["val_loss"].isna().all()  # odd epochs hold no stale copy of the last one
    check_run(cb, record.val_losses, record.snapshots, module.state_dict(), stopped_at=trainer.current_epoch)


def test_lightning_callback_on_a_regression_reads_the_logged_mae_and_restores_the_best_validation(diabetes):
    import lightning.pytorch as pl

    class Regressor(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = wide_mlp()

        def training_step(self, batch, _):
            out = self.net(batch[0])
            loss = torch.nn.functional.mse_loss(out, batch[1])
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            self.log("train_mae", (out - batch[1]).abs().mean(), on_step=True, on_epoch=True)  # train_mae_step, _epoch
            return loss

        def validation_step(self, batch, _):
            out = self.net(batch[0])
            self.log("val_loss", torch.nn.functional.mse_loss(out, batch[1]))
            self.log("val_mae", (out - batch[1]).abs().mean())

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), LR)

    pl.seed_everything(0, verbose=False)
    module, cb = Regressor(), goodfit.lightning_callback(stop=True, verbose=False)
    record, trainer = lightning_fit(pl, module, cb, diabetes, batch=16, epochs=60)
    assert cb.history_.has("train_mae") and cb.history_.has("val_mae") and cb.diagnosis_.gap["best"]["mae"] is not None
    check_run(cb, record.val_losses, record.snapshots, module.state_dict(), stopped_at=trainer.current_epoch,
              alarm_within=(5, 30))


# ---- Hugging Face Trainer ------------------------------------------------------------------------
class TrainerModel(torch.nn.Module):
    """A net and its loss as the Trainer calls a model: forward(x, labels) -> {"loss", "logits"}."""

    def __init__(self, net: torch.nn.Module, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, x, labels=None):
        out = self.net(x)
        return {"loss": self.loss(out, labels), "logits": out}


def rows(x, y):
    return [{"x": a, "labels": b} for a, b in zip(x, y)]


def hf_fit(tmp_path, model, cb, data, *, batch: int, compute_metrics):
    """Train with `cb` for up to 60 epochs, evaluating each, with a recorder of each evaluation's loss and weights."""
    import transformers
    import accelerate  # noqa: F401  (the Trainer needs it)

    xt, yt, xv, yv = map(torch.as_tensor, data)

    class Record(transformers.TrainerCallback):
        def __init__(self):
            self.val_losses, self.snapshots = {}, {}

        def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
            self.val_losses[round(state.epoch)] = metrics["eval_loss"]
            self.snapshots[round(state.epoch)] = copy_state(model)

    record = Record()
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=60, per_device_train_batch_size=batch, per_device_eval_batch_size=len(yv),
        learning_rate=LR, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, eval_strategy="epoch",
        logging_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True, seed=0,
        dataloader_num_workers=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=rows(xt, yt), eval_dataset=rows(xv, yv),
                                   callbacks=[record, cb], compute_metrics=compute_metrics)
    trainer.train()
    return record, trainer


def test_hf_callback_stops_at_the_alarm_and_restores_the_best_evaluation(digits, tmp_path):
    import transformers

    transformers.set_seed(0)
    model, cb = TrainerModel(mlp(), torch.nn.functional.cross_entropy), goodfit.hf_callback(stop=True, num_classes=10,
                                                                                            verbose=False)
    record, trainer = hf_fit(tmp_path, model, cb, digits, batch=32, compute_metrics=lambda p: {
        "accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())})
    assert cb.history_.has("train_loss") and cb.history_.has("val_accuracy")
    check_run(cb, record.val_losses, record.snapshots, model.state_dict(), stopped_at=round(trainer.state.epoch))


def test_hf_callback_on_a_regression_reads_the_metrics_compute_metrics_returns(diabetes, tmp_path):
    import transformers

    def errors(p):
        diff = p.predictions - p.label_ids
        return {"rmse": float(np.sqrt((diff ** 2).mean())), "mae": float(np.abs(diff).mean())}

    transformers.set_seed(0)
    model, cb = TrainerModel(wide_mlp(), torch.nn.functional.mse_loss), goodfit.hf_callback(stop=True, verbose=False)
    record, trainer = hf_fit(tmp_path, model, cb, diabetes, batch=16, compute_metrics=errors)
    assert cb.history_.score == "rmse" and cb.history_.has("val_mae")  # R², RMSE, MAE: the first logged leads
    check_run(cb, record.val_losses, record.snapshots, model.state_dict(), stopped_at=round(trainer.state.epoch),
              alarm_within=(5, 30))


# ---- the README's examples, run as written -------------------------------------------------------
def readme_example(name: str) -> str:
    """The README's Python block that calls `name`, from its section on the integrations."""
    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Integrations", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if name in b]
    assert len(blocks) == 1, f"one README example calls {name}"
    return blocks[0]


def run_readme(name: str, given: dict, capsys) -> dict:
    namespace = dict(given)
    exec(compile(readme_example(name), f"README:{name}", "exec"), namespace)
    out = capsys.readouterr().out
    print(out)  # shown when a test fails
    assert "goodfit: after" in out and "overfitting" in out.splitlines()[-1]
    return namespace


def test_readme_keras_example_runs(digits, capsys):
    import keras
    xt, yt, xv, yv = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ns = run_readme("keras_callback", {"model": model, "x": xt, "y": yt, "x_val": xv, "y_val": yv}, capsys)
    assert ns["cb"].diagnosis_.regime == "overfitting" and ns["cb"].restored_epoch_ == ns["cb"].best_epoch_


def test_readme_lightning_example_runs(digits, capsys, tmp_path, monkeypatch):
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    monkeypatch.chdir(tmp_path)  # the default Trainer writes lightning_logs/ here
    xt, yt, xv, yv = map(torch.as_tensor, digits)


    pl.seed_everything(0, verbose=False)
    ns = run_readme("lightning_callback", {"module": lightning_module(pl), "train_loader": DataLoader(TensorDataset(xt, yt), 32, True),
                                            "val_loader": DataLoader(TensorDataset(xv, yv), 300)}, capsys)
    assert ns["cb"].diagnosis_.regime == "overfitting" and ns["cb"].restored_epoch_ % 2 == 0


def test_readme_hf_example_runs(digits, capsys, tmp_path):
    import transformers
    xt, yt, xv, yv = map(torch.as_tensor, digits)
    transformers.set_seed(0)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), eval_strategy="epoch", logging_strategy="epoch", save_strategy="no", num_train_epochs=100,
        learning_rate=LR, lr_scheduler_type="constant", per_device_train_batch_size=32, report_to="none", use_cpu=True,
        disable_tqdm=True)
    given = {"model": TrainerModel(mlp(), torch.nn.functional.cross_entropy), "args": args, "train_set": rows(xt, yt),
             "val_set": rows(xv, yv),
             "compute_metrics": lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())}}
    ns = run_readme("hf_callback", given, capsys)
    assert ns["cb"].diagnosis_.regime == "overfitting" and ns["trainer"].state.epoch < 100


def test_readme_plain_loop_example_runs(digits, capsys):
    xt, yt, xv, yv = map(torch.as_tensor, digits)
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), LR)

    def train_one_epoch(model):
        model.train()
        losses = []
        for batch in torch.randperm(len(yt)).split(32):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch])
            loss.backward()
            opt.step()
            losses.append(loss.item() * len(batch))
        return sum(losses) / len(yt)  # the epoch's mean, not its last minibatch's

    def evaluate(model):
        model.eval()
        with torch.no_grad():
            out = model(xv)
        return torch.nn.functional.cross_entropy(out, yv).item(), (out.argmax(1) == yv).float().mean().item()

    ns = run_readme("Monitor(", {"model": model, "train_one_epoch": train_one_epoch, "evaluate": evaluate}, capsys)
    assert ns["verdict"].regime == "overfitting" and ns["monitor"].restored_epoch_ == ns["monitor"].best_epoch_
