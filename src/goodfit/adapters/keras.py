"""A study member trained by the user's own compiled Keras model: the arm's settings put in, its history recorded.

Keras is imported when a member trains, so this module imports without it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.fit import Settings
from goodfit.integrations.keras import _keras, keras_callback
from goodfit.integrations.live import slots


def gradient_l2(keras, strength: float, own=None):
    """A Keras regularizer whose gradient is `strength * w` and whose value is 0 (plus `own`'s, a regularizer kept).

    The gradient is `keras.regularizers.L2(strength / 2)`'s, goodfit's L2 penalty (the engine's
    `L2Penalty`: the gradient of `strength / 2 * ||w||^2`). Its value is taken back out with a
    `stop_gradient`, because Keras adds every regularizer's value to the losses it logs, validation's
    included: an `l2` arm's `val_loss` would carry its penalty and never compare with the baseline's.
    """

    class GradientL2(keras.regularizers.Regularizer):
        def __call__(self, w):
            penalty = strength / 2 * keras.ops.sum(keras.ops.square(w))
            return penalty - keras.ops.stop_gradient(penalty) + (0.0 if own is None else own(w))

        def get_config(self) -> dict:
            return {"strength": strength}

    return GradientL2()


def add_l2(keras, model, strength: float) -> None:
    """The arm's L2 penalty on the model's weights (variables of two dimensions and more: Dense and Conv kernels,
    embeddings, recurrent kernels), on top of a regularizer a weight already has."""
    for variable in model.trainable_variables:
        if len(variable.shape) >= 2:
            variable.regularizer = gradient_l2(keras, strength, variable.regularizer)


def add_decay(model, decay: float) -> None:
    """The arm's decoupled decay through the optimizer's own `weight_decay` (Keras applies it as AdamW does,
    `w -= lr * decay * w` before each update, for every optimizer). With no decay of its own the optimizer
    decays the weights only (two dimensions and more); with one, the arm's adds to it, where it acts."""
    optimizer = model.optimizer
    if optimizer is None:
        raise GoodfitError("make_model returned a model that was not compiled; compile it with its optimizer and loss")
    if not optimizer.weight_decay:
        optimizer.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if len(v.shape) < 2])
    optimizer.weight_decay = (optimizer.weight_decay or 0.0) + decay


def one_hot(y) -> np.ndarray | None:
    """`y` as a float array when it holds one-hot rows (0s and a single 1, two classes or more), else None."""
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] < 2 or not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
        return None
    return y.astype(np.float32)


def as_test_scores(logs: dict[str, float]) -> dict[str, float]:
    """`evaluate`'s logs (`loss`, `accuracy`, `mae`, ...) in goodfit's test names (`test_loss`, `test_accuracy`, ...).

    Example:
        >>> as_test_scores({"loss": 0.4, "accuracy": 0.875})
        {'test_loss': 0.4, 'test_accuracy': 0.875}
    """
    return {"test_" + name.removeprefix("train_"): v for name, v in slots(logs).items() if name.startswith("train_")}


@dataclass(eq=False)  # its data are arrays
class KerasMember:
    """`fit(settings, seed)` for a study: one member trained by Keras. Build it with `fit`.

    Named as `make_model` is, which is how a study's results name the model.
    """

    make_model: Callable
    x: Any
    y: Any
    validation_data: tuple
    batch_size: int = 32
    test_data: tuple | None = None

    def __post_init__(self):
        functools.update_wrapper(self, self.make_model)

    def targets(self, settings: Settings):
        """The training targets, smoothed when the arm smooths labels and they are one-hot (else left unread)."""
        if settings.to_dict().get("label_smoothing") is None:
            return self.y
        hot = one_hot(self.y)
        if hot is None:
            return self.y  # integer labels: settings.label_smoothing stays unread and goodfit says so
        amount = settings.label_smoothing
        return hot * (1 - amount) + amount / hot.shape[1]

    def __call__(self, settings: Settings, seed: int):
        keras = _keras()
        keras.utils.set_random_seed(seed)
        model = self.make_model(settings, seed)
        if not model.built:  # a Sequential without an Input, a subclassed model: its weights come on the first call
            model(keras.tree.map_structure(lambda a: a[:1], self.x))
        if settings.l2:
            add_l2(keras, model, settings.l2)
        if settings.weight_decay:
            add_decay(model, settings.weight_decay)
        patience = settings.early_stopping
        recorder = keras_callback(verbose=False, restore_best_weights=patience is not None)
        stop = [] if patience is None else [keras.callbacks.EarlyStopping(monitor="val_loss", mode="min",
                                                                           patience=patience)]
        model.fit(self.x, self.targets(settings), batch_size=self.batch_size, epochs=settings.epochs,
                  validation_data=self.validation_data, callbacks=[*stop, recorder], verbose=0)
        if self.test_data is not None:
            logs = model.evaluate(*self.test_data, batch_size=self.batch_size, verbose=0, return_dict=True)
            recorder.live.rows[-1] |= as_test_scores(logs)  # on the last epoch's row, after the best weights came back
        return recorder


def fit(make_model: Callable, x, y, validation_data: tuple, *, batch_size: int = 32,
        test_data: tuple | None = None) -> KerasMember:
    """A study member's training function for your Keras model: `Study(fit=fit(make_model, x, y, (xv, yv)))`.

    Each member seeds Keras (`keras.utils.set_random_seed(seed)`), builds your compiled model with
    `make_model(settings, seed)`, where you read the settings your layers apply
    (`layers.Dropout(settings.dropout or 0.0)`, `layers.RandomTranslation` from `settings.augment`; None
    where the arm does not use a remedy), and trains it with `model.fit` for `settings.epochs` epochs.
    What the adapter applies itself:

    - `settings.l2`: a regularizer on every weight (Dense and Conv kernels and other variables of two
      dimensions and more) whose gradient is `l2 * w`, as `keras.regularizers.L2(l2 / 2)`'s: goodfit's
      L2 penalty, the gradient of `l2 / 2 * ||w||^2`. Unlike Keras' own, its value stays out of the
      logged losses, so the arm's `val_loss` compares with the baseline's (see `gradient_l2`).
    - `settings.weight_decay`: the optimizer's own decoupled `weight_decay`, on the weights (see `add_decay`).
    - `settings.early_stopping`: `keras.callbacks.EarlyStopping(monitor="val_loss", patience=...)`, and the
      weights of the best validation epoch restored at the end, whether or not training stopped
      (goodfit's early stopping; Keras' own restores only when it stopped). Without it the member
      keeps its last weights.
    - `settings.label_smoothing`, when `y` is one-hot: the training targets become `y * (1 - a) + a / K`,
      what `CategoricalCrossentropy(label_smoothing=a)` computes, while validation and test keep their
      hard targets, so `val_loss` is the plain loss. Integer labels leave it to you.

    A remedy nobody read makes the member an error. `keras_callback` records each epoch's logs.

    Args:
        make_model: `make_model(settings, seed)` returns the model, compiled and untrained.
        x: the training inputs, as `model.fit` takes them with `batch_size` (arrays, tensors).
        y: the training targets: integer labels, one-hot rows, or a regression's values.
        validation_data: `(x_val, y_val)`, evaluated after every epoch.
        batch_size: samples per step. Default 32.
        test_data: `(x_test, y_test)`, evaluated once after training into `test_loss`, `test_accuracy`,
            ... on the last epoch's row. None scores the member on validation. Default None.

    Returns:
        A picklable callable `member(settings, seed)` (picklable when `make_model` is: define it at a
        module's top level; the data travel with it), which returns the `keras_callback` it trained with
        (`history_`, `restored_epoch_`).

    Raises:
        GoodfitError: a member's model was not compiled (when the arm decays weights), or Keras is not installed.

    Example:
        >>> from goodfit.grammar import parse_arm
        >>> member = fit(make_model, x, y, (xv, yv), test_data=(xt, yt))  # doctest: +SKIP
        >>> recorder = member(Settings(parse_arm("l2=1e-3", "table"), seed=0, epochs=3), 0)  # doctest: +SKIP
        >>> recorder.history_.frame["test_accuracy"].notna().sum()  # doctest: +SKIP
        1
    """
    return KerasMember(make_model, x, y, validation_data, batch_size, test_data)
