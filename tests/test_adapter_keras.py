"""`goodfit.keras.fit`: a study member trained by a real compiled Keras model (on torch), the arm's settings put in.

A small MLP on 300 digits (200 more to validate) for 3 epochs per member: each setting reaches the layers,
the optimizer, the targets or the callbacks and trains as Keras' own spelling of it does, the losses logged
stay the plain loss, the same seed gives the same history, and a remedy the adapter cannot apply is left unread.
"""
import functools
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import goodfit.keras
from goodfit.data import Conditions, load, split
from goodfit.fit import Settings
from goodfit.grammar import parse_arm
from test_integrations import one_thread  # noqa: F401 (autouse: one torch thread per test)

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported by any test
keras = pytest.importorskip("keras")
EPOCHS = 3
BUILT: list = []  # every model make_model built, to look at after training
DIGITS = split(load("digits"), Conditions(train_size=300), seed=0)  # sklearn's 8x8 digits
TRAIN, VAL, TEST = ((x.reshape(len(x), 64)[:n], y[:n]) for x, y, n in (
    (DIGITS.X_train, DIGITS.y_train, 300), (DIGITS.X_val, DIGITS.y_val, 200), (DIGITS.X_test, DIGITS.y_test, 200)))
HOT = {name: (x, np.eye(10, dtype=np.float32)[y]) for name, (x, y) in (("train", TRAIN), ("val", VAL), ("test", TEST))}


def make_model(settings, seed, *, lr=0.01, optimizer="adam", loss="sparse_categorical_crossentropy",
               regularizer=None, exclude_bias=False):
    """64 -> 64 -> 10 with dropout; the keywords spell a remedy Keras' own way, for the reference runs."""
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(64, activation="relu", kernel_regularizer=regularizer),
                              keras.layers.Dropout(settings.dropout or 0.0),
                              keras.layers.Dense(10, activation="softmax", kernel_regularizer=regularizer)])
    opt = {"adam": keras.optimizers.Adam(lr), "adamw": keras.optimizers.AdamW(lr, weight_decay=0.01),
           "sgd": keras.optimizers.SGD(lr)}[optimizer]
    if exclude_bias:
        opt.exclude_from_weight_decay(var_names=["bias"])
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"])
    BUILT.append(model)
    return model


def settings_for(arm: str, epochs: int = EPOCHS, seed: int = 0) -> Settings:
    return Settings(parse_arm(arm, "table"), seed=seed, epochs=epochs)


def train(member, arm: str, epochs: int = EPOCHS, seed: int = 0):
    """The member trained under `arm`: its settings, what it returned, and the model it built."""
    settings = settings_for(arm, epochs, seed)
    recorder = member(settings, seed)
    return settings, recorder, BUILT[-1]


def adapter(make=make_model, data=(TRAIN, VAL), **keywords):
    (x, y), val = data
    return goodfit.keras.fit(make, x, y, val, **keywords)


def frame(recorder) -> pd.DataFrame:
    return recorder.history_.frame


def assert_same_weights(model, reference, rtol=1e-5):
    for w, w_ref in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=1e-6)


def test_importing_the_adapters_imports_no_framework():
    code = ("import sys, goodfit, goodfit.keras, goodfit.lightning; "
            "print(sorted(m for m in ('keras', 'lightning', 'pytorch_lightning') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_baseline_and_dropout_record_val_loss_each_epoch_and_dropout_reaches_the_layer():
    settings, recorder, model = train(adapter(), "baseline")
    assert frame(recorder)["epoch"].tolist() == [1, 2, 3] and frame(recorder)["val_loss"].notna().all()
    assert model.layers[1].rate == 0.0 and recorder.restored_epoch_ is None and not settings.unapplied()
    settings, recorder, model = train(adapter(), "dropout=0.3")
    assert model.layers[1].rate == 0.3 and frame(recorder)["val_loss"].notna().sum() == 3 and not settings.unapplied()


def test_the_same_seed_gives_the_same_history_also_after_pickling():
    member = adapter()
    _, first, _ = train(member, "dropout=0.3", seed=4)
    _, again, _ = train(pickle.loads(pickle.dumps(member)), "dropout=0.3", seed=4)
    _, other, _ = train(member, "dropout=0.3", seed=5)
    pd.testing.assert_frame_equal(frame(first), frame(again))
    assert not np.allclose(frame(first)["val_loss"], frame(other)["val_loss"])


def test_l2_trains_as_keras_half_strength_l2_on_the_kernels_and_keeps_its_penalty_out_of_the_losses():
    settings, recorder, model = train(adapter(), "l2=0.001")
    _, reference, ref_model = train(adapter(functools.partial(make_model, regularizer=keras.regularizers.L2(5e-4))),
                                    "baseline")
    assert not settings.unapplied()
    assert [len(v.shape) for v in model.trainable_variables if v.regularizer is not None] == [2, 2]  # kernels only
    assert_same_weights(model, ref_model)
    penalty = float(sum(keras.ops.convert_to_numpy(loss) for loss in ref_model.losses))
    assert penalty > 0.01 and float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses)) == 0.0
    np.testing.assert_allclose(frame(recorder)["val_loss"].iloc[-1], frame(reference)["val_loss"].iloc[-1] - penalty,
                               rtol=1e-5)


def test_decay_is_the_optimizers_own_decoupled_decay_on_the_weights():
    settings, recorder, model = train(adapter(), "decay=0.01")
    _, _, ref_model = train(adapter(functools.partial(make_model, optimizer="adamw", exclude_bias=True)), "baseline")
    _, _, plain = train(adapter(), "baseline")
    assert not settings.unapplied() and model.optimizer.weight_decay == 0.01
    assert [model.optimizer._use_weight_decay(v) for v in model.trainable_variables] == [True, False, True, False]
    assert_same_weights(model, ref_model)
    assert not np.allclose(model.get_weights()[0], plain.get_weights()[0], rtol=1e-5)


def test_early_stopping_stops_after_its_patience_and_restores_the_best_epoch():
    frozen = functools.partial(make_model, lr=0.0)  # the validation loss never improves after epoch 1
    settings, recorder, _ = train(adapter(frozen), "early_stopping=2", epochs=6)
    assert frame(recorder)["epoch"].tolist() == [1, 2, 3] and recorder.restored_epoch_ == 1
    assert not settings.unapplied()


def test_label_smoothing_smooths_one_hot_training_targets_as_keras_loss_does_and_validates_on_hard_ones():
    categorical = functools.partial(make_model, loss="categorical_crossentropy")
    settings, recorder, model = train(adapter(categorical, (HOT["train"], HOT["val"])), "label_smoothing=0.1")
    smoothed = functools.partial(make_model, loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    train(adapter(smoothed, (HOT["train"], HOT["val"])), "baseline")
    assert not settings.unapplied()
    assert_same_weights(model, BUILT[-1])
    hard = model.evaluate(*HOT["val"], verbose=0, return_dict=True)["loss"]  # the plain loss, on the kept weights
    np.testing.assert_allclose(frame(recorder)["val_loss"].iloc[-1], hard, rtol=1e-5)


def test_label_smoothing_on_integer_labels_stays_unread():
    settings, recorder, _ = train(adapter(), "label_smoothing=0.1")
    assert [r.word for r in settings.unapplied()] == ["label_smoothing"] and recorder.history_.epochs == EPOCHS


def test_test_data_is_scored_once_on_the_last_epoch_after_the_best_weights_came_back():
    settings, recorder, model = train(adapter(test_data=TEST), "early_stopping=2")
    tested = frame(recorder).dropna(subset=["test_loss"])
    assert tested["epoch"].tolist() == [3] and recorder.restored_epoch_ is not None
    want = model.evaluate(*TEST, verbose=0, return_dict=True)
    np.testing.assert_allclose(tested[["test_loss", "test_accuracy"]].iloc[0], [want["loss"], want["accuracy"]],
                               rtol=1e-6)


def test_a_study_runs_the_keras_members():
    from goodfit.study import Study

    result = Study(fit=adapter(test_data=TEST), arms=["baseline", "dropout=0.3"], seeds=2, epochs=2).run()
    assert list(result.table()["arm"]) == ["baseline", "dropout=0.3"] and not result.failed
    assert sorted(set(result.members["seed"])) == [0, 1] and result.scored_on == "test"
    assert {a["fit"] for a in result.members["architecture"]} == {f"{__name__}.make_model"}  # named as make_model
