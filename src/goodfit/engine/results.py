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

CLASSIFICATION = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss")
REGRESSION = ("train_loss", "train_rmse", "train_mae", "train_r2", "val_loss", "val_rmse", "val_mae", "val_r2",
              "running_loss")


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of the members still training: each metric an array `(K,)`, in the order of `members`.

    `train_*` are measured in eval mode on a fixed training subset, `val_*` on the validation set,
    and `running_loss` is the mean minibatch loss of the epoch's steps. A classification's metrics
    are `CLASSIFICATION`'s, a regression's `REGRESSION`'s (errors in the target's own units); each is
    an attribute too (`m.val_loss`).

    Example:
        >>> m = EpochMetrics(3, np.array([0, 2]), {"val_loss": np.array([2.0, 3.0]), "running_loss": np.ones(2)})
        >>> m.mean()["val_loss"], m.mean(np.array([False, True]))["val_loss"], m.val_loss.tolist()
        (2.5, 3.0, [2.0, 3.0])
    """

    epoch: int
    members: np.ndarray  # positions in the caller's list of members
    values: dict[str, np.ndarray]

    def __getattr__(self, name: str) -> np.ndarray:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"no metric {name!r} this epoch; it has {', '.join(values)}")

    @property
    def finite(self) -> np.ndarray:
        """`(K,)` bool: members whose validation and running losses are numbers (not diverged)."""
        return np.isfinite(self.val_loss) & np.isfinite(self.running_loss)

    def mean(self, where: np.ndarray | None = None) -> dict[str, float]:
        """Each metric's mean over the members (those where `where` holds), ignoring NaN."""
        pick = slice(None) if where is None else where
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a mean over only diverged members is NaN
            return {name: float(np.nanmean(v[pick])) for name, v in self.values.items()}

    def of(self, position: int) -> dict[str, float]:
        """The metrics of the member at `position` in the caller's list."""
        k = int(np.flatnonzero(self.members == position)[0])
        return {name: float(v[k]) for name, v in self.values.items()}


@dataclass
class MemberResult:
    """What training one member produced.

    `best_epoch` is the epoch of the member's best validation score by its early-stopping rule
    (the raw lowest validation loss for a member without early stopping); for a member with
    early stopping it is the epoch whose weights were kept. `stopped_epoch` is set when early
    stopping ended training before the last epoch.
    """

    member: Member
    architecture: object  # a `ModuleArchitecture`: goodfit's model or the user's factory
    history: pd.DataFrame
    best_epoch: int | None
    stopped_epoch: int | None
    diverged: bool
    test_loss: float
    test_accuracy: float  # NaN for regression
    num_params: int  # the parameters it trained (requires_grad)
    state_dict: dict = field(repr=False)
    scores: dict[str, float] = field(default_factory=dict)  # with the kept weights: `train_`, `val_`, `test_`
    # followed by each of the task's metrics (`metrics.TASK_METRICS`), e.g. `test_balanced_accuracy`, `val_rmse`
    frozen_params: int = 0  # the factory's frozen ones (requires_grad False), kept as it returned them
    scored_on: str = "test"  # `validation` (at the kept epoch): a training function's member whose history held no test score


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


def member_history(epochs: list[EpochMetrics], position: int, test: dict[str, float] | None) -> pd.DataFrame:
    """One member's per-epoch table from the population's epochs; test metrics (a dict) on the last row only.

    Example:
        >>> e = [EpochMetrics(k, np.array([0]), {n: np.array([float(k)]) for n in CLASSIFICATION}) for k in (1, 2)]
        >>> h = member_history(e, 0, {"test_loss": 0.5, "test_accuracy": 0.9})
        >>> h[["epoch", "val_loss", "test_accuracy"]].to_numpy().tolist()
        [[1.0, 1.0, nan], [2.0, 2.0, 0.9]]
    """
    rows = [(m.epoch, m.of(position)) for m in epochs if position in m.members]
    names = list(epochs[0].values) if epochs else list(CLASSIFICATION)
    frame = pd.DataFrame([values for _, values in rows], columns=names)
    frame.insert(0, "epoch", [epoch for epoch, _ in rows])
    frame.insert(0, "member", position)
    for name in (test or {}):
        frame[name] = np.nan
    if test and len(frame):
        frame.loc[frame.index[-1], list(test)] = list(test.values())
    return frame
