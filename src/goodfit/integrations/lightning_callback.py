"""A PyTorch Lightning callback that records a goodfit history while training and reports the onset live.

Lightning is imported inside `lightning_callback`, so this module imports without it.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from goodfit.diagnose import Context, Diagnosis
from goodfit.errors import GoodfitError
from goodfit.integrations.live import LiveDiagnosis, say


def _lightning():
    try:
        import lightning.pytorch as pl
    except ImportError:
        try:
            import pytorch_lightning as pl
        except ImportError:
            raise GoodfitError("the Lightning callback needs lightning; pip install lightning") from None
    return pl


def lightning_callback(*, stop: bool = False, restore_best_weights: bool = True, num_classes: int | None = None,
                       context: Context | Mapping | None = None, min_confidence: str = "medium",
                       on_alarm: Callable[[Diagnosis], None] | None = say):
    """A Lightning `Callback` that diagnoses the run at the end of every training epoch.

    It reads `trainer.callback_metrics` (what the module logged: `train_loss`, `val_loss`,
    `val_acc`, ... with `_epoch` aggregates preferred), reports overfitting, memorization or
    divergence as soon as the evidence holds (see `LiveDiagnosis`), and with `stop` sets
    `trainer.should_stop`. With `restore_best_weights`, a stopped run gets back the module's state
    from its best validation epoch. The callback's `live` attribute holds the recorder.

    Args:
        stop: stop training at the alarm. Default False.
        restore_best_weights: after a stop, restore the best epoch's weights. Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm. Default `medium`.
        on_alarm: called with the diagnosis at the alarm. Default: print one line.

    Returns:
        The callback, to pass in `Trainer(callbacks=[...])`.

    Raises:
        GoodfitError: Lightning is not installed.

    Example:
        >>> cb = lightning_callback(stop=True)  # doctest: +SKIP
        >>> Trainer(max_epochs=200, callbacks=[cb]).fit(module, train_loader, val_loader)  # doctest: +SKIP
        >>> cb.live.diagnosis_.onset_epoch  # doctest: +SKIP
        14
    """
    pl = _lightning()

    class GoodfitCallback(pl.Callback):
        def __init__(self):
            super().__init__()
            self.live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context,
                                      min_confidence=min_confidence, on_alarm=on_alarm)
            self.best_state = None

        def on_train_epoch_end(self, trainer, pl_module):
            if trainer.sanity_checking:
                return
            metrics = {k: v for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}
            self.live.record(trainer.current_epoch + 1, metrics)  # Lightning counts epochs from 0
            if restore_best_weights and self.live.improved_:
                self.best_state = copy.deepcopy(pl_module.state_dict())
            if self.live.should_stop:
                trainer.should_stop = True

        def on_fit_end(self, trainer, pl_module):
            if self.live.should_stop and restore_best_weights and self.best_state is not None:
                pl_module.load_state_dict(self.best_state)

    return GoodfitCallback()
