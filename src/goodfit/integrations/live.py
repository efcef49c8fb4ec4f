"""The framework-free core of the integrations: record one epoch at a time, diagnose as it goes, say when it turns.

Takes metric dicts as frameworks name them (`loss`, `val_loss`, `train_acc`, `eval_loss`, ...); knows no framework.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import pandas as pd

from goodfit.diagnose import CONFIDENCE, MIN_EPOCHS_TO_JUDGE, MIN_VALIDATED, Context, Diagnosis, curve_name, diagnose
from goodfit.errors import GoodfitError
from goodfit.history import JUDGED, SCORES, VALIDATION, History, history_from_frame

ALARMS = ("overfitting", "memorization", "diverged")
TRAINING = tuple(s for s in JUDGED if s.startswith("train_")) + ("running_loss",)
SOURCE = "live training"
CALM_EPOCHS = 3  # an alarm turns back after this many quiet verdicts in a row, or at once on a new best


def as_number(value) -> float | None:
    """A metric as a float (a one-element tensor or array, a numpy scalar), or None when it is not one number."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):  # a string, None, a tensor of several elements
        return None


def slots(metrics: Mapping[str, object]) -> dict[str, float]:
    """Metrics as a framework names them, renamed to goodfit's `train_loss`, `val_loss`, `train_accuracy`, ...

    Names are read as `history_from_frame` reads a logged table: Keras' bare `loss` beside
    `val_loss`, Lightning's `train_loss_epoch`, the Hugging Face Trainer's `eval_loss`, a regression's
    `mae`, `val_root_mean_squared_error` or `eval_r2`; accuracies in percent become fractions.
    A learning rate (`lr`, `learning_rate`, Lightning's `lr-Adam`) becomes `lr`, kept beside the metrics and
    never judged; anything else (runtime) is left out.

    Example:
        >>> slots({"loss": 0.5, "accuracy": 0.9, "val_loss": 0.7, "lr": 1e-3, "runtime": 3.2})
        {'train_loss': 0.5, 'train_accuracy': 0.9, 'val_loss': 0.7, 'lr': 0.001}
        >>> slots({"loss": 0.5, "mae": 0.4, "val_loss": 0.7, "val_mae": 0.6})
        {'train_loss': 0.5, 'val_loss': 0.7, 'train_mae': 0.4, 'val_mae': 0.6}
    """
    numbers = {str(k): v for k, v in ((k, as_number(v)) for k, v in metrics.items()) if v is not None}
    if not numbers:
        return {}
    try:
        frame = history_from_frame(pd.DataFrame([numbers]), source=SOURCE).frame
    except GoodfitError as err:
        if "found no loss, accuracy or error metric" in str(err) or "holds no number" in str(err):
            return {}
        raise GoodfitError(f"goodfit cannot tell the logged metrics {', '.join(numbers)} apart ({err}); "
                           "log one validation loss named val_loss and one training loss named train_loss") from None
    row = frame.iloc[0]
    return {k: float(row[k]) for k in frame.columns if k not in ("member", "epoch") and math.isfinite(row[k])}


def _words(regime: str) -> str:
    return regime.replace("_", " ")


def timeline(d: Diagnosis) -> str:
    """When it began and which epoch to keep, to follow the regime's name, worded so the two never contradict.

    The onset is where the smoothed curve turned; the best epoch is its single lowest value, which
    noise may put a little later.

    Example:
        >>> d = Diagnosis("overfitting", 8, 15, {}, (), (), "high", "val_loss", 30)
        >>> "overfitting" + timeline(d)
        'overfitting: the validation loss trend turned upward around epoch 8; its single lowest value came at epoch 15 (the weights to keep)'
    """
    curve = curve_name(d.judged_on)
    onset, best = d.onset_epoch, d.best_epoch
    if d.regime == "diverged":
        return f" at epoch {onset}" + (f", after its best epoch {best}" if best is not None and best < onset else "")
    if onset is None:
        return f": the {curve} was lowest at epoch {best}"
    if onset == best:
        return f" since epoch {onset}, where the {curve} was lowest (the weights to keep)"
    if onset < best:
        return (f": the {curve} trend turned upward around epoch {onset}; its single lowest value came at epoch "
                f"{best} (the weights to keep)")
    return f" since epoch {onset}; the {curve} was lowest at epoch {best} (the weights to keep)"


def turn_line(d: Diagnosis, epoch: int, previous: str | None) -> str:
    """The one line printed when the verdict turns to an alarm, or turns back from one.

    Example:
        >>> d = Diagnosis("overfitting", 12, 12, {}, (), (), "medium", "val_loss", 18)
        >>> turn_line(d, 18, None)
        'goodfit, epoch 18: overfitting since epoch 12, where the validation loss was lowest (the weights to keep) [medium confidence]'
    """
    if d.regime in ALARMS:
        return f"goodfit, epoch {epoch}: {_words(d.regime)}{timeline(d)} [{d.confidence} confidence]"
    return f"goodfit, epoch {epoch}: no longer {_words(previous or 'alarmed')}; now {_words(d.regime)}{timeline(d)}"


def summary(d: Diagnosis, *, epochs: int, validated: int, restored: int | None = None,
            alarm: tuple[int, str] | None = None) -> str:
    """The paragraph printed at the end of training: verdict, onset and best epoch, weights kept, first advice.

    Example:
        >>> from goodfit.diagnose import Advice
        >>> d = Diagnosis("overfitting", 12, 12, {}, (), (Advice("dropout", "it helps."),), "high", "val_loss", 30)
        >>> print(summary(d, epochs=30, validated=30, restored=12))
        goodfit: after 30 epochs, overfitting (high confidence) since epoch 12, where the validation loss was lowest (the weights to keep). The weights of epoch 12 were restored. First advice: dropout: it helps.
    """
    head = f"goodfit: after {epochs} epochs" + (f" ({validated} validated)" if validated != epochs else "")
    text = f"{head}, {_words(d.regime)} ({d.confidence} confidence){timeline(d)}."
    if alarm is not None and alarm[1] != d.regime:
        text += f" At epoch {alarm[0]} it read {_words(alarm[1])}."
    if restored is not None:
        text += (f" The weights of epoch {restored} were restored." if restored != epochs
                 else f" The last epoch, {restored}, was the best; its weights are kept.")
    if d.advice:
        text += f" First advice: {_words(d.advice[0].remedy)}: {d.advice[0].reason}"
    return text


class LiveDiagnosis:
    """Collect per-epoch metrics, diagnose as training goes, and say when the verdict turns.

    After each epoch with at least `MIN_EPOCHS_TO_JUDGE` validated epochs, the history so far is
    diagnosed. When the verdict becomes overfitting, memorization or divergence with at least
    `min_confidence`, one line says so (the first time, `alarm_` keeps that diagnosis and, with
    `stop`, `should_stop` turns True); when it turns back (a confident verdict without alarm for
    `CALM_EPOCHS` diagnosed epochs in a row, or at once on a new best validation), another line says so.
    `finish()` diagnoses the whole run, prints one paragraph, and warns when no validation metric
    ever arrived. Only fresh validation counts: pass the validation metrics only for the epochs
    that were validated. `improved_` says whether the last epoch's validation is strictly better
    than every earlier one, so a repeated value is never a new best.

    Args:
        stop: ask the framework to stop training at the alarm. Default False.
        num_classes: number of classes, for chance level. Default None.
        context: a `Context` (or dict) for the advice. Default None.
        min_confidence: `low`, `medium` or `high`. Default `medium`.
        verbose: print the live lines and the closing paragraph. Default True.

    Example:
        >>> import numpy as np
        >>> live = LiveDiagnosis(stop=True, verbose=False)
        >>> for epoch in range(1, 61):
        ...     _ = live.record(epoch, {"loss": 2 * np.exp(-epoch / 8),
        ...                             "val_loss": 0.3 + 2 * np.exp(-epoch / 5) + 0.01 * max(0, epoch - 20)})
        >>> live.should_stop, live.alarm_.onset_epoch, live.alarm_epoch_, live.best_epoch_
        (True, 20, 24, 20)
    """

    def __init__(self, *, stop: bool = False, num_classes: int | None = None, context: Context | Mapping | None = None,
                 min_confidence: str = "medium", verbose: bool = True):
        if min_confidence not in CONFIDENCE:
            raise GoodfitError(f"min_confidence must be one of {', '.join(CONFIDENCE)}, got {min_confidence!r}")
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
            raise GoodfitError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
        self.stop, self.num_classes, self.context = bool(stop), num_classes, context
        self.min_confidence, self.verbose = min_confidence, verbose
        self.echo: Callable[[str], None] = print  # where lines go; a framework's progress bar may take them
        self.defer = False  # hold lines until `flush()`, for a progress bar that finishes its line after the epoch
        self.lines: list[str] = []  # everything said, printed or not
        self._pending: list[str] = []
        self.rows: list[dict] = []
        self.names: set[str] = set()  # every metric name the framework logged, for the warning
        self.diagnosis_: Diagnosis | None = None
        self.alarm_: Diagnosis | None = None
        self.alarm_epoch_: int | None = None
        self.best_epoch_: int | None = None  # the validated epoch with the best value so far
        self.improved_ = False  # the last recorded epoch is a new best: copy its weights
        self.turns_: list[tuple[int, str | None]] = []  # (epoch, alarm regime or None when it turned back)
        self.finished_ = False
        self._best: float | None = None
        self._state: str | None = None  # the alarm in force, None when there is none
        self._calm = 0  # diagnosed epochs in a row without an alarm while one is in force

    @property
    def should_stop(self) -> bool:
        return self.stop and self.alarm_ is not None

    def fresh(self) -> "LiveDiagnosis":
        """A new recorder with the same settings, for the next training run."""
        live = LiveDiagnosis(stop=self.stop, num_classes=self.num_classes, context=self.context,
                             min_confidence=self.min_confidence, verbose=self.verbose)
        live.echo, live.defer = self.echo, self.defer
        return live

    @property
    def validated(self) -> int:
        """How many recorded epochs carry a validation metric."""
        return sum(any(k in r for k in VALIDATION) for r in self.rows)

    def _say(self, text: str) -> None:
        self.lines.append(text)
        if self.verbose:
            self._pending.append(text)
        if not self.defer:
            self.flush()

    def flush(self) -> None:
        """Print the lines held back (see `defer`)."""
        for text in self._pending:
            self.echo(text)
        self._pending = []

    def score(self, metrics: Mapping[str, float]) -> float | None:
        """The judged validation value of goodfit-named metrics, lower is better: val_loss, else the first
        of val_accuracy, val_r2, val_rmse and val_mae, turned so that lower is better (-val_accuracy)."""
        if "val_loss" in metrics:
            return metrics["val_loss"]
        kind = next((k for k in SCORES if f"val_{k}" in metrics), None)
        return None if kind is None else -metrics[f"val_{kind}"] if SCORES[kind] else metrics[f"val_{kind}"]

    def is_new_best(self, metrics: Mapping[str, float]) -> bool:
        """Whether these goodfit-named validation metrics beat every epoch recorded so far (strictly)."""
        value = self.score(metrics)
        return value is not None and (self._best is None or value < self._best)

    def history(self) -> History:
        """The epochs recorded so far, as a one-member `History`."""
        frame = pd.DataFrame(self.rows)
        frame.insert(0, "member", 0)
        return History(frame, num_classes=self.num_classes, source=SOURCE)

    def record(self, epoch: int, metrics: Mapping[str, object]) -> Diagnosis | None:
        """Add one epoch (1-based) of metrics; returns the diagnosis so far, or None while too early.

        Args:
            epoch: the epoch just finished, counting from 1, later than the last one recorded.
            metrics: name to number, in the framework's names; leave validation metrics out of
                epochs that were not validated. Non-numbers are skipped.

        Returns:
            The `Diagnosis` of all epochs so far, or None before `MIN_EPOCHS_TO_JUDGE` validated epochs.

        Raises:
            GoodfitError: the epoch is not after the last one recorded.
        """
        epoch = int(epoch)
        if self.rows and epoch <= self.rows[-1]["epoch"]:
            raise GoodfitError(f"epoch {epoch} comes after epoch {self.rows[-1]['epoch']}; "
                               "record each epoch once, counting from 1")
        self.names |= {str(k) for k in metrics}
        named = slots(metrics)
        self.improved_ = self.is_new_best(named)
        if self.improved_:
            self._best, self.best_epoch_ = self.score(named), epoch
        self.rows.append({"epoch": epoch, **named})
        if not named or self.validated < MIN_EPOCHS_TO_JUDGE:
            return None
        self.diagnosis_ = d = diagnose(self.history(), context=self.context)
        sure = CONFIDENCE.index(d.confidence) >= CONFIDENCE.index(self.min_confidence)
        state = (d.regime if d.regime in ALARMS else None) if sure else self._state  # a doubtful verdict turns nothing
        self._calm = self._calm + 1 if self._state is not None and state is None else 0
        if state is None and self._calm < CALM_EPOCHS and not self.improved_:
            state = self._state  # one quiet epoch after an alarm is noise until it lasts or beats the best
        if state != self._state:
            self._say(turn_line(d, epoch, self._state))
            self.turns_.append((epoch, state))
            if state is not None and self.alarm_ is None:
                self.alarm_, self.alarm_epoch_ = d, epoch
            self._state, self._calm = state, 0
        return d

    def finish(self, restored: int | None = None) -> Diagnosis | None:
        """Diagnose the whole run and print its paragraph; warn when no validation metric arrived.

        Args:
            restored: the epoch whose weights the framework put back, if it did. Default None.

        Returns:
            The final `Diagnosis`, or None when fewer than 2 epochs were validated (a warning says why).
        """
        self.finished_ = True
        self.flush()
        validated = self.validated
        if validated < MIN_VALIDATED:
            seen = ", ".join(sorted(self.names)) or "nothing"
            what = "no validation metric arrived" if not validated else f"only {validated} epoch was validated"
            warnings.warn(f"goodfit: {what} in {len(self.rows)} epoch(s) (logged: {seen}), so nothing was diagnosed; "
                          "give the training validation data (Keras: validation_data= in fit; Lightning: a "
                          "validation_step that logs val_loss; Hugging Face: eval_strategy and an eval_dataset; "
                          "Monitor: val_loss=)", UserWarning, stacklevel=3)
            self.diagnosis_ = None
            return None
        self.diagnosis_ = diagnose(self.history(), context=self.context)
        alarms = [turn for turn in self.turns_ if turn[1] is not None]
        self._say(summary(self.diagnosis_, epochs=int(self.rows[-1]["epoch"]), validated=validated, restored=restored,
                          alarm=alarms[-1] if alarms else None))
        self.flush()
        return self.diagnosis_



class LiveCallback:
    """What every integration keeps after training, read from its `live` recorder.

    `diagnosis_` is the final diagnosis, `best_epoch_` the best validated epoch, `restored_epoch_`
    the epoch whose weights were put back (None when none were), `history_` the recorded `History`.
    """

    live: LiveDiagnosis
    restored_epoch_: int | None = None
    _best_state = None  # the framework's copy of the weights at the best epoch so far

    def _begin(self) -> None:
        """A new fit: a fresh recorder, no weights kept, none restored."""
        self.live, self._best_state, self.restored_epoch_ = self.live.fresh(), None, None

    def _end(self, load: Callable | None) -> Diagnosis | None:
        """The fit ended: put the best weights back with `load` (None: do not), then say the verdict."""
        if load is not None and self._best_state is not None:
            load(self._best_state)
            self.restored_epoch_ = self.live.best_epoch_
        return self.live.finish(self.restored_epoch_)

    @property
    def diagnosis_(self) -> Diagnosis | None:
        return self.live.diagnosis_

    @property
    def best_epoch_(self) -> int | None:
        return self.live.best_epoch_

    @property
    def should_stop(self) -> bool:
        return self.live.should_stop

    @property
    def history_(self) -> History:
        return self.live.history()
