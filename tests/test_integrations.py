"""Live diagnosis: the framework-free recorder, and the Keras and Lightning callbacks where installed."""
import importlib.util
import os
import sys

import numpy as np
import pytest

from goodfit.errors import GoodfitError
from goodfit.integrations.live import LiveDiagnosis


def feed(live, epochs=60, names=("loss", "val_loss")):
    for epoch in range(1, epochs + 1):
        live.record(epoch, {names[0]: 2 * np.exp(-epoch / 8),
                            names[1]: 0.3 + 2 * np.exp(-epoch / 5) + 0.01 * max(0, epoch - 20)})


def test_alarm_comes_a_few_epochs_after_the_onset_and_only_once():
    heard = []
    live = LiveDiagnosis(on_alarm=heard.append)
    feed(live)
    assert len(heard) == 1 and heard[0].onset_epoch == 20 and 20 < live.alarm_epoch_ <= 30
    assert not live.should_stop  # stop was not asked for


def test_lightning_metric_names_are_understood_and_stop_is_requested():
    live = LiveDiagnosis(stop=True, on_alarm=None)
    feed(live, names=("train_loss_epoch", "val_loss"))
    assert live.should_stop and live.history().has("train_loss")


def test_best_epoch_is_flagged_while_recording():
    live = LiveDiagnosis(on_alarm=None)
    flags = []
    for epoch, v in enumerate([1.0, 0.8, 0.9, 0.7, 0.75], 1):
        live.record(epoch, {"val_loss": v})
        flags.append(live.improved_)
    assert flags == [True, True, False, True, False]


def test_unknown_confidence_is_an_error():
    with pytest.raises(GoodfitError, match="min_confidence"):
        LiveDiagnosis(min_confidence="sure")


@pytest.mark.skipif(importlib.util.find_spec("keras") is not None, reason="keras is installed")
def test_keras_callback_without_keras_says_how_to_install():
    from goodfit.integrations.keras_callback import keras_callback

    with pytest.raises(GoodfitError, match="pip install keras"):
        keras_callback()


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_keras_callback_stops_an_overfitting_fit(monkeypatch):
    if "keras" not in sys.modules:  # Keras 3 needs a backend; goodfit's users have torch, maybe not tensorflow
        monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    import keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 20)), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    from goodfit.integrations.keras_callback import keras_callback

    cb = keras_callback(stop=True, on_alarm=None)
    history = model.fit(x, y, validation_split=0.5, epochs=300, verbose=0, callbacks=[cb])
    assert len(history.epoch) < 300 and cb.live.alarm_ is not None


@pytest.mark.skipif(importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None,
                    reason="lightning is not installed")
def test_lightning_callback_builds():
    from goodfit.integrations.lightning_callback import lightning_callback

    assert lightning_callback().live.rows == []
