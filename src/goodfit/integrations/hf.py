"""A Hugging Face `TrainerCallback` that diagnoses training at every evaluation and keeps the best weights.

transformers is imported inside `hf_callback`, so this module imports without it.
"""
from __future__ import annotations

from collections.abc import Mapping

from goodfit.diagnose import Context
from goodfit.errors import GoodfitError
from goodfit.integrations.live import TRAINING, VALIDATION, LiveCallback, LiveDiagnosis, slots
from goodfit.integrations.monitor import copy_state


def _transformers():
    try:
        import transformers
    except ImportError:
        raise GoodfitError("the Hugging Face callback needs transformers; pip install 'goodfit[hf]'") from None
    return transformers


def hf_callback(*, stop: bool = False, restore_best_weights: bool = True, num_classes: int | None = None,
                context: Context | Mapping | None = None, min_confidence: str = "medium", verbose: bool = True):
    """A `transformers.TrainerCallback` that diagnoses the run at every evaluation of the `Trainer`.

    Each evaluation is one epoch of the history: with `eval_strategy="epoch"` they are the
    Trainer's epochs; with `eval_strategy="steps"` the n-th evaluation is epoch n. Validation comes
    from the evaluation's metrics (`eval_loss`, `eval_accuracy` from your `compute_metrics`), the
    training loss from what the Trainer logged since the last evaluation (`logging_strategy="epoch"`
    logs it once an epoch). One line is printed when the verdict turns to overfitting,
    memorization or divergence (and one if it turns back), and a paragraph when training ends.
    With `stop`, training stops at the first alarm. With `restore_best_weights`, the model gets back
    the weights of its best evaluation at the end, whether or not training was stopped. Without
    evaluations a warning says so.

    Args:
        stop: stop training at the alarm. Default False.
        restore_best_weights: at the end, restore the weights of the evaluation with the best loss
            (or accuracy, when no loss is reported). Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm: `low`, `medium` or `high`. Default `medium`.
        verbose: print the live lines and the closing paragraph. Default True.

    Returns:
        The callback, to pass in `Trainer(..., callbacks=[...])`; after `train()` it holds
        `diagnosis_`, `best_epoch_`, `restored_epoch_` and `history_` (see `LiveCallback`).

    Raises:
        GoodfitError: transformers is not installed, or an argument is out of range.

    Example:
        >>> cb = hf_callback(stop=True)  # doctest: +SKIP
        >>> Trainer(model, args, train_dataset=train, eval_dataset=val, callbacks=[cb]).train()  # doctest: +SKIP
        >>> cb.diagnosis_.regime  # doctest: +SKIP
        'overfitting'
    """
    live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context, min_confidence=min_confidence,
                         verbose=verbose)
    transformers = _transformers()

    class GoodfitCallback(LiveCallback, transformers.TrainerCallback):
        def __init__(self):
            super().__init__()
            self.live = live
            self._trained: list[dict[str, float]] = []  # training logs since the last evaluation
            self._training = False

        def on_train_begin(self, args, state, control, **kwargs):
            from tqdm.auto import tqdm  # the Trainer's progress bar

            self._begin()
            self.live.echo = tqdm.write  # a line that leaves the progress bar whole
            self._trained, self._training = [], True

        def on_log(self, args, state, control, logs=None, **kwargs):
            trained = {k: v for k, v in slots(logs or {}).items() if k in TRAINING}
            if trained and not any(str(k).startswith("eval") for k in logs):
                self._trained.append(trained)

        def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
            if not self._training:  # trainer.evaluate() after training is no epoch of it
                return
            validated = {k: v for k, v in slots(metrics or {}).items() if k in VALIDATION}
            names = {k for logged in self._trained for k in logged}
            trained = {k: sum(t[k] for t in self._trained if k in t) / sum(k in t for t in self._trained)
                       for k in names}
            self.live.record(len(self.live.rows) + 1, {**trained, **validated})
            self._trained = []
            if restore_best_weights and self.live.improved_ and model is not None:
                self._best_state = copy_state(model)
            if self.live.should_stop:
                control.should_training_stop = True

        def on_train_end(self, args, state, control, model=None, **kwargs):
            self._training = False
            self._end(model.load_state_dict if restore_best_weights and model is not None else None)

    return GoodfitCallback()
