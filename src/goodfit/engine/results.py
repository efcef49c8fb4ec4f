"""What training hands back: each epoch's metrics by name (`EpochMetrics`), each member's result
(`MemberResult`) and the whole run's (`TrainResult`). Values only; nothing here trains.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from goodfit.engine.config import Member
from goodfit.history import History

METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss")


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of the members still training: each metric an array `(K,)`, in the order of `members`.

    `train_*` are measured in eval mode on a fixed training subset, `val_*` on the validation set,
    and `running_loss` is the mean minibatch loss of the epoch's steps.

    Example:
        >>> m = EpochMetrics(3, np.array([0, 2]), *(np.array([v, v + 1.0]) for v in range(5)))
        >>> m.mean()["val_loss"], m.mean(np.array([False, True]))["val_loss"]
        (2.5, 3.0)
    """

    epoch: int
    members: np.ndarray  # positions in the caller's list of members
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    running_loss: np.ndarray

    @property
    def finite(self) -> np.ndarray:
        """`(K,)` bool: members whose validation and running losses are numbers (not diverged)."""
        return np.isfinite(self.val_loss) & np.isfinite(self.running_loss)

    def mean(self, where: np.ndarray | None = None) -> dict[str, float]:
        """Each metric's mean over the members (those where `where` holds), ignoring NaN."""
        pick = slice(None) if where is None else where
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a mean over only diverged members is NaN
            return {name: float(np.nanmean(getattr(self, name)[pick])) for name in METRICS}

    def of(self, position: int) -> dict[str, float]:
        """The metrics of the member at `position` in the caller's list."""
        k = int(np.flatnonzero(self.members == position)[0])
        return {name: float(getattr(self, name)[k]) for name in METRICS}


@dataclass
class MemberResult:
    """What training one member produced.

    `best_epoch` is the epoch of the member's best validation score by its early-stopping rule
    (the raw lowest validation loss for a member without early stopping); for a member with
    early stopping it is the epoch whose weights were kept. `stopped_epoch` is set when early
    stopping ended training before the last epoch.
    """

    member: Member
    architecture: object  # an `Architecture` or a `CustomArchitecture`
    history: pd.DataFrame
    best_epoch: int | None
    stopped_epoch: int | None
    diverged: bool
    test_loss: float
    test_accuracy: float
    num_params: int
    state_dict: dict = field(repr=False)


@dataclass
class TrainResult:
    """All members' results, in the order the members were given, the wall time and notes.

    `notes` are one-line remarks on how training ran that a person should see, e.g. that a
    module which cannot be vectorized trained member by member.
    """

    members: list[MemberResult]
    seconds: float
    num_classes: int
    notes: list[str] = field(default_factory=list)

    def history(self) -> History:
        """One `History` holding every member, numbered by position."""
        frames = [r.history.assign(member=i) for i, r in enumerate(self.members)]
        return History(pd.concat(frames, ignore_index=True), self.num_classes)


def member_history(epochs: list[EpochMetrics], position: int, test: tuple[float, float] | None) -> pd.DataFrame:
    """One member's per-epoch table from the population's epochs; test metrics on the last row only.

    Example:
        >>> e = [EpochMetrics(k, np.array([0]), *(np.array([float(k)]) for _ in range(5))) for k in (1, 2)]
        >>> member_history(e, 0, (0.5, 0.9))[["epoch", "val_loss", "test_accuracy"]].to_numpy().tolist()
        [[1.0, 1.0, nan], [2.0, 2.0, 0.9]]
    """
    rows = [(m.epoch, m.of(position)) for m in epochs if position in m.members]
    frame = pd.DataFrame([values for _, values in rows], columns=list(METRICS))
    frame.insert(0, "epoch", [epoch for epoch, _ in rows])
    frame.insert(0, "member", position)
    frame["test_loss"], frame["test_accuracy"] = np.nan, np.nan
    if test is not None and len(frame):
        frame.loc[frame.index[-1], ["test_loss", "test_accuracy"]] = test
    return frame
