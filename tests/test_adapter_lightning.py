"""`goodfit.lightning.fit`: a study member trained by a real LightningModule, the arm's settings put into it.

A small MLP on 300 digits (200 more to validate) for 3 epochs per member: each setting reaches the module,
the trainer or the optimizer step, the weight decays match torch's own optimizers that decay the same way,
the same seed gives the same history, and a remedy the adapter does not apply is left unread.
"""
import functools
import logging
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import goodfit.lightning
from goodfit.data import Conditions, load, split
from goodfit.fit import Settings
from goodfit.grammar import parse_arm
from test_integrations import one_thread  # noqa: F401 (autouse: one torch thread per test)

pl = pytest.importorskip("lightning.pytorch")
EPOCHS = 3
BUILT: list = []  # every module make_module built, to look at after training
DIGITS = split(load("digits"), Conditions(train_size=300), seed=0)  # sklearn's 8x8 digits
TRAIN = torch.as_tensor(DIGITS.X_train).flatten(1), torch.as_tensor(DIGITS.y_train)
VAL = torch.as_tensor(DIGITS.X_val[:200]).flatten(1), torch.as_tensor(DIGITS.y_val[:200])


class Net(pl.LightningModule):
    """64 -> 64 -> 10 with dropout, logging train_loss, val_loss and val_acc per epoch; its own dataloaders."""

    def __init__(self, dropout: float = 0.0, optimizer=functools.partial(torch.optim.Adam, lr=0.01),
                 bias: bool = True):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 64, bias=bias), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                       torch.nn.Linear(64, 10, bias=bias))
        self.optimizer = optimizer

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return self.optimizer(self.parameters())

    def train_dataloader(self):
        return DataLoader(TensorDataset(*TRAIN), batch_size=50, shuffle=True)

    def val_dataloader(self):
        return DataLoader(TensorDataset(*VAL), batch_size=200)


def make_module(settings, seed, **keywords):
    module = Net(dropout=settings.dropout or 0.0, **keywords)
    BUILT.append(module)
    return module


def make_data(settings, seed):
    """The same digits as the module's own loaders, from outside it."""
    return DataLoader(TensorDataset(*TRAIN), batch_size=50, shuffle=True), DataLoader(TensorDataset(*VAL), 200)


def settings_for(arm: str, epochs: int = EPOCHS, seed: int = 0) -> Settings:
    return Settings(parse_arm(arm, "table"), seed=seed, epochs=epochs)


def train(member, arm: str, epochs: int = EPOCHS, seed: int = 0):
    """The member trained under `arm`: its settings, what it returned, and the module it built."""
    settings = settings_for(arm, epochs, seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        recorder = member(settings, seed)
    return settings, recorder, BUILT[-1]


def frame(recorder) -> pd.DataFrame:
    return recorder.history_.frame


def test_baseline_and_dropout_record_val_loss_each_epoch_and_dropout_reaches_the_module(caplog):
    member = goodfit.lightning.fit(make_module)
    with caplog.at_level(logging.INFO):
        settings, recorder, module = train(member, "baseline")
    assert not [r for r in caplog.records if r.name.startswith(pl.__name__)]  # Lightning's info lines held back ...
    assert not torch.are_deterministic_algorithms_enabled()  # ... and its deterministic switch put back
    assert frame(recorder)["epoch"].tolist() == [1, 2, 3] and frame(recorder)["val_loss"].notna().all()
    assert module.net[2].p == 0.0 and recorder.restored_epoch_ is None  # the baseline keeps its last weights
    assert not settings.unapplied()
    settings, recorder, module = train(member, "dropout=0.3")
    assert module.net[2].p == 0.3 and frame(recorder)["val_loss"].notna().sum() == 3 and not settings.unapplied()


def test_the_same_seed_gives_the_same_history_also_after_pickling_and_with_make_data():
    member = goodfit.lightning.fit(make_module, make_data=make_data)
    _, first, _ = train(member, "dropout=0.3", seed=4)
    _, again, _ = train(pickle.loads(pickle.dumps(member)), "dropout=0.3", seed=4)
    _, other, _ = train(member, "dropout=0.3", seed=5)
    pd.testing.assert_frame_equal(frame(first), frame(again))
    assert not np.allclose(frame(first)["val_loss"], frame(other)["val_loss"])


@pytest.mark.parametrize("arm, optimizer, reference", [
    # the arm's L2 on a bias-free model is SGD's own weight_decay (added to the gradient) ...
    ("l2=0.001", functools.partial(torch.optim.SGD, lr=0.1),
     functools.partial(torch.optim.SGD, lr=0.1, weight_decay=1e-3)),
    # ... and the arm's decoupled decay on Adam is AdamW's
    ("decay=0.01", functools.partial(torch.optim.Adam, lr=0.01),
     functools.partial(torch.optim.AdamW, lr=0.01, weight_decay=0.01)),
])
def test_weight_decay_arms_train_as_torch_optimizers_with_that_decay(arm, optimizer, reference):
    settings, decayed, module = train(goodfit.lightning.fit(functools.partial(make_module, optimizer=optimizer,
                                                                              bias=False)), arm)
    _, plain, _ = train(goodfit.lightning.fit(functools.partial(make_module, optimizer=optimizer, bias=False)),
                        "baseline")
    _, by_torch, torch_module = train(goodfit.lightning.fit(functools.partial(make_module, optimizer=reference,
                                                                              bias=False)), "baseline")
    assert not settings.unapplied() and type(module.optimizers().optimizer) is optimizer.func  # left as written
    np.testing.assert_allclose(frame(decayed)["val_loss"], frame(by_torch)["val_loss"], rtol=1e-5)
    assert not np.allclose(frame(decayed)["val_loss"], frame(plain)["val_loss"], rtol=1e-5)
    for w, w_torch in zip(module.parameters(), torch_module.parameters()):
        torch.testing.assert_close(w, w_torch, rtol=1e-5, atol=1e-6)


def test_early_stopping_stops_after_its_patience_and_restores_the_best_epoch():
    trainers = []

    def make_trainer(settings, seed):
        trainers.append(pl.Trainer(max_epochs=100, deterministic=True, enable_progress_bar=False, logger=False,
                                   enable_checkpointing=False, enable_model_summary=False))
        return trainers[-1]

    frozen = functools.partial(make_module, optimizer=functools.partial(torch.optim.SGD, lr=0.0))  # never improves
    settings, recorder, _ = train(goodfit.lightning.fit(frozen, make_trainer), "early_stopping=2", epochs=6)
    (stopper,) = [c for c in trainers[0].callbacks if isinstance(c, pl.callbacks.EarlyStopping)]
    assert stopper.patience == 2 and stopper.monitor == "val_loss" and trainers[0].max_epochs == 6
    assert frame(recorder)["epoch"].tolist() == [1, 2, 3] and recorder.restored_epoch_ == 1
    assert not settings.unapplied()


def test_a_remedy_the_adapter_does_not_apply_stays_unread():
    settings, recorder, _ = train(goodfit.lightning.fit(make_module), "label_smoothing=0.1")
    assert [r.word for r in settings.unapplied()] == ["label_smoothing"] and recorder.history_.epochs == EPOCHS


def test_make_data_must_return_a_datamodule_or_two_loaders():
    member = goodfit.lightning.fit(make_module, make_data=lambda settings, seed: DataLoader(TensorDataset(*TRAIN)))
    with pytest.raises(goodfit.GoodfitError, match=r"make_data returned a DataLoader; return a LightningDataModule"):
        member(settings_for("baseline"), 0)


def test_a_study_runs_the_lightning_members():
    from goodfit.study import Study

    result = Study(fit=goodfit.lightning.fit(make_module), arms=["baseline", "dropout=0.3"], seeds=2, epochs=2).run()
    table = result.table()
    assert list(table["arm"]) == ["baseline", "dropout=0.3"] and not result.failed
    assert sorted(set(result.members["seed"])) == [0, 1]
    assert {a["fit"] for a in result.members["architecture"]} == {f"{__name__}.make_module"}  # named as make_module
