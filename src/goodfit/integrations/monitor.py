"""`Monitor`: live diagnosis for a plain PyTorch training loop, with the best weights kept.

The loop calls `monitor.log(...)` once an epoch; the monitor knows nothing of how the loop trains.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

from goodfit.diagnose import Context, Diagnosis
from goodfit.errors import GoodfitError
from goodfit.integrations.live import TRAINING, VALIDATION, LiveCallback, LiveDiagnosis, as_number
from goodfit.metrics import TASK_METRICS

ERRORS = tuple(s for s in TRAINING + VALIDATION  # a regression's metrics beside its losses: train_rmse, ..., val_r2
               if s.partition("_")[2] in set(TASK_METRICS["regression"]) - {"loss"})


def copy_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of a module's state dict that later training does not change."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class Monitor(LiveCallback):
    """Live diagnosis for your own training loop: log each epoch, read the verdict, stop, get the best weights.

    `log` records one epoch and returns the diagnosis so far (None until enough epochs are
    validated). One line is printed when the verdict turns to overfitting, memorization or
    divergence (and one if it turns back); `finish()`, or leaving a `with` block, prints the
    closing paragraph and, with `restore_best_weights`, loads the best validated epoch's weights
    back into `model`. Leave `val_loss` and `val_acc` out (None) in epochs you did not validate:
    only fresh validation counts. A regression logs its errors by name beside the losses
    (`val_mae=...`, `val_rmse=...`, `val_r2=...`), the secondary score where accuracy would be.

    Args:
        model: the module whose weights to keep at each new best validation; None to only
            diagnose. Default None.
        stop: set `should_stop` at the first alarm (your loop breaks on it). Default False.
        restore_best_weights: at `finish()`, load the best validated epoch's weights into `model`.
            Default True.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: least confidence that raises the alarm: `low`, `medium` or `high`. Default `medium`.
        verbose: print the live lines and the closing paragraph. Default True.

    Example:
        >>> import math
        >>> model = torch.nn.Linear(4, 2)
        >>> with Monitor(model, stop=True, verbose=False) as monitor:
        ...     for epoch in range(1, 101):
        ...         with torch.no_grad():
        ...             _ = model.weight.fill_(epoch)  # stands for a training step
        ...         verdict = monitor.log(epoch, train_loss=2 * math.exp(-epoch / 8),
        ...                               val_loss=0.3 + 2 * math.exp(-epoch / 5) + 0.01 * max(0, epoch - 20))
        ...         if monitor.should_stop:
        ...             break
        >>> verdict.regime, epoch, monitor.best_epoch_, model.weight[0, 0].item()
        ('overfitting', 24, 20, 20.0)
    """

    def __init__(self, model: torch.nn.Module | None = None, *, stop: bool = False, restore_best_weights: bool = True,
                 num_classes: int | None = None, context: Context | Mapping | None = None,
                 min_confidence: str = "medium", verbose: bool = True):
        if model is not None and not isinstance(model, torch.nn.Module):
            raise GoodfitError(f"Monitor watches a torch.nn.Module, got {type(model).__name__}; "
                               "pass your model, or None to only diagnose")
        self.model, self.restore_best_weights = model, restore_best_weights
        self.live = LiveDiagnosis(stop=stop, num_classes=num_classes, context=context, min_confidence=min_confidence,
                                  verbose=verbose)

    def log(self, epoch: int, *, train_loss=None, val_loss=None, train_acc=None, val_acc=None,
            **errors) -> Diagnosis | None:
        """Record one finished epoch; returns the diagnosis so far, or None while too early to judge.

        Args:
            epoch: the epoch just finished, counting from 1.
            train_loss: mean training loss of the epoch (a number or a one-element tensor). Default None.
            val_loss: validation loss; None in epochs that were not validated. Default None.
            train_acc: training accuracy, a fraction or a percentage. Default None.
            val_acc: validation accuracy, a fraction or a percentage. Default None.
            **errors: a regression's metrics, any of `train_mae`, `val_mae`, `train_rmse`, `val_rmse`,
                `train_r2`, `val_r2` (R² as a fraction of the variance explained). Default none.

        Returns:
            The `Diagnosis` of the epochs so far, or None before 5 validated epochs.

        Raises:
            GoodfitError: the epoch is not a whole number after the last one, a metric is not a number,
                or a name is not one `log` takes.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
            raise GoodfitError(f"epoch must be an integer counting from 1, got {epoch!r}")
        unknown = sorted(set(errors) - set(ERRORS))
        if unknown:
            raise GoodfitError(f"Monitor.log takes no metric {unknown[0]!r}; it takes train_loss, val_loss, train_acc, "
                               f"val_acc and {', '.join(ERRORS)}")
        given = {"train_loss": train_loss, "val_loss": val_loss, "train_accuracy": train_acc, "val_accuracy": val_acc,
                 **errors}
        metrics = {}
        for name, value in given.items():
            if value is None:
                continue
            number = as_number(value)
            if number is None:
                raise GoodfitError(f"{name.replace('accuracy', 'acc')} must be a number, got {value!r}")
            metrics[name] = number
        diagnosis = self.live.record(epoch, metrics)
        if self.model is not None and self.live.improved_:
            self._best_state = copy_state(self.model)
        return diagnosis

    def best_state(self) -> dict[str, torch.Tensor] | None:
        """A copy of `model`'s state dict at the best validated epoch so far (None before any)."""
        if self.model is None:
            raise GoodfitError("this Monitor watches no model; pass it, Monitor(model), to keep the best weights")
        return None if self._best_state is None else {k: v.clone() for k, v in self._best_state.items()}

    def finish(self) -> Diagnosis | None:
        """End of training: restore the best weights (with `restore_best_weights`), print the paragraph.

        Returns:
            The final `Diagnosis` (also in `diagnosis_`), or None when fewer than 2 epochs were validated.
        """
        return self._end(self.model.load_state_dict if self.restore_best_weights and self.model is not None else None)

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.finish()
