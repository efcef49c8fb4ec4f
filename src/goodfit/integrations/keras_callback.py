"""A Keras callback that records a goodfit history while `fit` runs and reports the onset live.

Keras is imported inside `keras_callback`, so this module imports without it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from goodfit.diagnose import Context, Diagnosis
from goodfit.errors import GoodfitError
from goodfit.integrations.live import LiveDiagnosis, say


def _keras():
    try:
        import keras
    except ImportError:
        try:
            from tensorflow import keras
        except ImportError:
            raise GoodfitError("the Keras callback needs keras; pip install keras") from None
    return keras


def keras_callback(*, stop: bool = False, restore_best_weights: bool = True, num_classes: int | None = None,
                   context: Context | Mapping | None = None, min_confidence: str = "medium",
                   on_alarm: Callable[[Diagnosis], None] | None = say):
    """A `keras.callbacks.Callback` that diagnoses the run after every epoch.

    It reads the epoch's logs (`loss`, `val_loss`, `accuracy`, ...), reports overfitting,
    memorization or divergence as soon as the evidence holds (see `LiveDiagnosis`), and with
    `stop` ends `fit` there. With `restore_best_weights`, a stopped run gets back the weights of
    its best validation epoch. The callback's `live` attribute holds the recorder: `live.history()`
    and `live.diagnosis_` after `fit`.

    Args:
        stop: stop training at the alarm. Default False.
        restore_best_weights: after a stop, restore the best epoch's weights. Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm. Default `medium`.
        on_alarm: called with the diagnosis at the alarm. Default: print one line.

    Returns:
        The callback, to pass in `model.fit(..., callbacks=[...])`.

    Raises:
        GoodfitError: Keras is not installed.

    Example:
        >>> cb = keras_callback(stop=True)  # doctest: +SKIP
        >>> model.fit(x, y, validation_split=0.2, epochs=200, callbacks=[cb])  # doctest: +SKIP
        >>> cb.live.diagnosis_.regime  # doctest: +SKIP
        'overfitting'
    """
    keras = _keras()

    class GoodfitCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context,
                                      min_confidence=min_confidence, on_alarm=on_alarm)
            self.best_weights = None

        def on_epoch_end(self, epoch, logs=None):
            self.live.record(epoch + 1, logs or {})  # Keras counts epochs from 0
            if restore_best_weights and self.live.improved_:
                self.best_weights = self.model.get_weights()
            if self.live.should_stop:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.live.should_stop and restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return GoodfitCallback()
