"""A Keras callback that diagnoses `fit` as it runs, says when the verdict turns and keeps the best weights.

Keras is imported inside `keras_callback`, so this module imports without it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping

from goodfit.diagnose import Context
from goodfit.errors import GoodfitError
from goodfit.integrations.live import LiveCallback, LiveDiagnosis


def _keras():
    if "keras" not in sys.modules and importlib.util.find_spec("tensorflow") is None:
        os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 defaults to TensorFlow; goodfit's users have torch
    try:
        import keras
    except ImportError:
        raise GoodfitError("the Keras callback needs keras; pip install 'goodfit[keras]'") from None
    return keras


def keras_callback(*, stop: bool = False, restore_best_weights: bool = True, num_classes: int | None = None,
                   context: Context | Mapping | None = None, min_confidence: str = "medium", verbose: bool = True):
    """A `keras.callbacks.Callback` that diagnoses the run after every epoch of `fit`.

    It reads each epoch's logs (`loss`, `accuracy`, `val_loss`, `val_accuracy`, ...); epochs that
    `validation_freq` skips carry no validation and are not judged. One line is printed when the
    verdict turns to overfitting, memorization or divergence (and one if it turns back), and a
    paragraph at the end of `fit`. With `stop`, `fit` ends at the first alarm. With
    `restore_best_weights`, the model gets back the weights of its best validated epoch at the end,
    whether or not training was stopped. Without validation data a warning says so. If the
    `KERAS_BACKEND` variable is unset and TensorFlow is not installed, Keras runs on torch.

    Args:
        stop: stop training at the alarm. Default False.
        restore_best_weights: at the end, restore the weights of the epoch with the best validation
            loss (or accuracy, when no loss is logged). Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm: `low`, `medium` or `high`. Default `medium`.
        verbose: print the live lines and the closing paragraph. Default True.

    Returns:
        The callback, to pass in `model.fit(..., callbacks=[...])`; after `fit` it holds
        `diagnosis_`, `best_epoch_`, `restored_epoch_` and `history_` (see `LiveCallback`).

    Raises:
        GoodfitError: Keras is not installed, or an argument is out of range.

    Example:
        >>> cb = keras_callback(stop=True)  # doctest: +SKIP
        >>> model.fit(x, y, validation_split=0.2, epochs=200, callbacks=[cb])  # doctest: +SKIP
        >>> cb.diagnosis_.regime  # doctest: +SKIP
        'overfitting'
    """
    live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context, min_confidence=min_confidence,
                         verbose=verbose)
    keras = _keras()

    class GoodfitCallback(LiveCallback, keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.live = live

        def on_train_begin(self, logs=None):
            self._begin()
            self.live.defer = True  # Keras' progress bar ends an epoch's line after the callbacks: say it next epoch

        def on_epoch_begin(self, epoch, logs=None):
            self.live.flush()

        def on_epoch_end(self, epoch, logs=None):
            self.live.record(epoch + 1, logs or {})  # Keras counts epochs from 0
            if restore_best_weights and self.live.improved_:
                self._best_state = self.model.get_weights()
            if self.live.should_stop:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self._end(self.model.set_weights if restore_best_weights else None)

    return GoodfitCallback()
