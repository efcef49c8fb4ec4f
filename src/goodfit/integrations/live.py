"""The framework-free core of the callbacks: record one epoch at a time and diagnose as it goes.

Takes metric dicts as frameworks name them (`loss`, `val_loss`, `train_acc`, ...); knows no framework.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from goodfit.diagnose import CONFIDENCE, MIN_EPOCHS_TO_JUDGE, Context, Diagnosis, diagnose
from goodfit.history import History, history_from_frame

ALARMS = ("overfitting", "memorization", "diverged")


def say(diagnosis: Diagnosis) -> None:
    """Print the verdict in one line, as the callbacks do by default."""
    since = f" since epoch {diagnosis.onset_epoch}" if diagnosis.onset_epoch is not None else ""
    print(f"goodfit: {diagnosis.regime}{since} (best epoch {diagnosis.best_epoch}, confidence {diagnosis.confidence})")


class LiveDiagnosis:
    """Collect per-epoch metrics and report the onset as soon as the evidence holds.

    After each epoch, once `MIN_EPOCHS_TO_JUDGE` epochs are validated, the history so far is
    diagnosed; `improved_` says whether that epoch has the best validation loss (or accuracy) yet.
    The first time the regime is overfitting, memorization or diverged with at least
    `min_confidence`, `on_alarm` is called once, `alarm_` keeps that diagnosis, and with `stop`
    set `should_stop` turns True.

    Args:
        stop: ask the framework to stop training at the alarm. Default False.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: `low`, `medium` or `high`. Default `medium`.
        on_alarm: called with the diagnosis at the alarm. Default `say` (one printed line); None for silence.

    Example:
        >>> live = LiveDiagnosis(stop=True, on_alarm=None)
        >>> for epoch in range(1, 61):
        ...     _ = live.record(epoch, {"loss": 2 * np.exp(-epoch / 8),
        ...                             "val_loss": 0.3 + 2 * np.exp(-epoch / 5) + 0.01 * max(0, epoch - 20)})
        >>> live.should_stop, live.alarm_.onset_epoch, live.alarm_epoch_
        (True, 20, 24)
    """

    def __init__(self, *, stop: bool = False, num_classes: int | None = None, context: Context | Mapping | None = None,
                 min_confidence: str = "medium", on_alarm: Callable[[Diagnosis], None] | None = say):
        if min_confidence not in CONFIDENCE:
            from goodfit.errors import GoodfitError

            raise GoodfitError(f"min_confidence must be one of {', '.join(CONFIDENCE)}, got {min_confidence!r}")
        self.stop, self.num_classes, self.context = stop, num_classes, context
        self.min_confidence, self.on_alarm = min_confidence, on_alarm
        self.rows: list[dict] = []
        self.diagnosis_: Diagnosis | None = None
        self.alarm_: Diagnosis | None = None
        self.alarm_epoch_: int | None = None
        self.improved_ = False  # the last recorded epoch is the best so far: copy its weights

    @property
    def should_stop(self) -> bool:
        return self.stop and self.alarm_ is not None

    def history(self) -> History:
        """The epochs recorded so far, as a one-member `History`."""
        return history_from_frame(pd.DataFrame(self.rows), source="live training", num_classes=self.num_classes)

    def record(self, epoch: int, metrics: Mapping[str, float]) -> Diagnosis | None:
        """Add one epoch (1-based) of metrics; returns the diagnosis so far, or None while too early.

        Args:
            epoch: the epoch just finished, counting from 1.
            metrics: name to number, in the framework's names; non-numbers are skipped.

        Returns:
            The `Diagnosis` of all epochs so far, or None before `MIN_EPOCHS_TO_JUDGE` validated epochs.
        """
        row = {"epoch": int(epoch)}
        for name, value in metrics.items():
            try:
                row[str(name)] = float(value)
            except (TypeError, ValueError):
                continue
        self.rows.append(row)
        if not any(len(r) > 1 for r in self.rows):
            return None
        history = self.history()
        val = history.curve("val_loss") if history.has("val_loss") else -history.curve("val_accuracy")
        seen = val[np.isfinite(val)]
        self.improved_ = bool(np.isfinite(val[-1]) and val[-1] <= seen.min())
        if len(seen) < MIN_EPOCHS_TO_JUDGE:
            return None
        self.diagnosis_ = diagnose(history, context=self.context)
        d = self.diagnosis_
        if (self.alarm_ is None and d.regime in ALARMS
                and CONFIDENCE.index(d.confidence) >= CONFIDENCE.index(self.min_confidence)):
            self.alarm_, self.alarm_epoch_ = d, int(epoch)
            if self.on_alarm is not None:
                self.on_alarm(d)
        return d

