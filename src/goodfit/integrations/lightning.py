"""A PyTorch Lightning callback that diagnoses training as it runs, says when the verdict turns and keeps the best weights.

Lightning is imported inside `lightning_callback`, so this module imports without it.
"""
from __future__ import annotations

from collections.abc import Mapping

from goodfit.diagnose import Context
from goodfit.errors import GoodfitError
from goodfit.integrations.live import TRAINING, VALIDATION, LiveCallback, LiveDiagnosis, slots
from goodfit.integrations.monitor import copy_state


def _lightning():
    try:
        import lightning.pytorch as pl
    except ImportError:
        try:
            import pytorch_lightning as pl
        except ImportError:
            raise GoodfitError("the Lightning callback needs lightning; pip install 'goodfit[lightning]'") from None
    return pl


def lightning_callback(*, stop: bool = False, restore_best_weights: bool = True, num_classes: int | None = None,
                       context: Context | Mapping | None = None, min_confidence: str = "medium",
                       verbose: bool = True):
    """A Lightning `Callback` that diagnoses the run at the end of every training epoch.

    Validation metrics are taken when validation ends (not in the sanity check), training metrics
    when the training epoch ends, both from what the module logged (`train_loss`, `val_loss`,
    `val_acc`, ... with `_epoch` aggregates preferred). An epoch without validation
    (`check_val_every_n_epoch=2`) carries none: the last validation's values, which Lightning keeps
    in `callback_metrics`, are never counted again. With validation several times an epoch
    (`val_check_interval`), the epoch's last validation counts. One line is printed when the
    verdict turns to overfitting, memorization or divergence (and one if it turns back), and a
    paragraph when fitting ends. With `stop`, the trainer stops at the first alarm. With
    `restore_best_weights`, the module gets back its state from the best validation at the end,
    whether or not training was stopped. Without validation a warning says so.

    Args:
        stop: stop training at the alarm. Default False.
        restore_best_weights: at the end, restore the module's state at its best validation loss
            (or accuracy, when no loss is logged). Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm: `low`, `medium` or `high`. Default `medium`.
        verbose: print the live lines and the closing paragraph. Default True.

    Returns:
        The callback, to pass in `Trainer(callbacks=[...])`; after `fit` it holds `diagnosis_`,
        `best_epoch_`, `restored_epoch_` and `history_` (see `LiveCallback`).

    Raises:
        GoodfitError: Lightning is not installed, or an argument is out of range.

    Example:
        >>> cb = lightning_callback(stop=True)  # doctest: +SKIP
        >>> Trainer(max_epochs=200, callbacks=[cb]).fit(module, train_loader, val_loader)  # doctest: +SKIP
        >>> cb.diagnosis_.onset_epoch  # doctest: +SKIP
        14
    """
    live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context, min_confidence=min_confidence,
                         verbose=verbose)
    pl = _lightning()

    class GoodfitCallback(LiveCallback, pl.Callback):
        def __init__(self):
            super().__init__()
            self.live = live
            self._validated: dict[str, float] = {}  # this epoch's validation, until the epoch is recorded
            self._candidate = None  # the weights at that validation, when it beats every recorded epoch

        def on_fit_start(self, trainer, pl_module):
            self._begin()
            bar = trainer.progress_bar_callback
            self.live.echo = bar.print if bar is not None else print  # a line that leaves the progress bar whole
            self._validated, self._candidate = {}, None

        def on_validation_end(self, trainer, pl_module):
            if trainer.sanity_checking:
                return
            self._validated = {k: v for k, v in slots(trainer.callback_metrics).items() if k in VALIDATION}
            self._candidate = (copy_state(pl_module) if restore_best_weights and self.live.is_new_best(self._validated)
                               else None)

        def on_train_epoch_end(self, trainer, pl_module):
            trained = {k: v for k, v in slots(trainer.callback_metrics).items() if k in TRAINING}
            self.live.record(trainer.current_epoch + 1, {**trained, **self._validated})  # Lightning counts from 0
            if self.live.improved_ and self._candidate is not None:
                self._best_state = self._candidate
            self._validated, self._candidate = {}, None
            if self.live.should_stop:
                trainer.should_stop = True

        def on_fit_end(self, trainer, pl_module):
            self._end(pl_module.load_state_dict if restore_best_weights else None)

    return GoodfitCallback()
