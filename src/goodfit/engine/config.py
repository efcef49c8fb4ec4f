"""What every member of a run shares (`TrainConfig`) and what makes one member (`Member`).

Frozen values: they compare by value, serialize to JSON and reject bad settings when built.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from goodfit.errors import GoodfitError
from goodfit.nn.losses import LOSSES, REGRESSION_LOSSES, Loss
from goodfit.remedies import Arm

OPTIMIZERS = ("adam", "sgd")
LOSS_NAMES = ("auto",) + LOSSES


@dataclass(frozen=True)
class TrainConfig:
    """Settings every member of a run shares.

    Args:
        epochs: passes over the training set. Default 100.
        batch_size: samples per step and member. Default 32.
        lr: learning rate. Default 1e-3.
        optimizer: `adam` or `sgd` (momentum 0.9). Default `adam`.
        device: `cpu`, `cuda` or `auto` (CUDA when available). Default `cpu`.
        train_eval_size: size of the fixed training subset measured in eval mode each epoch. Default 512.
        memory_budget: bytes a population may use; members beyond it train in further populations,
            one after another. None takes half the memory available when training starts. Default None.
        loss: `cross_entropy` for classes; `mse`, `mae` or `huber` (delta 1, on standardized
            targets) for regression; `auto` takes cross-entropy or MSE by the task. Default `auto`.

    Example:
        >>> TrainConfig(epochs=5).batch_size
        32
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    device: str = "cpu"
    train_eval_size: int = 512
    memory_budget: int | None = None
    loss: str = "auto"

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise GoodfitError(f"epochs must be a whole number >= 1, got {self.epochs}; e.g. --epochs 100")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise GoodfitError(f"batch size must be a whole number >= 1, got {self.batch_size}; e.g. --batch-size 32")
        if not 0 < self.lr < 10:
            raise GoodfitError(f"learning rate must be in (0, 10), got {self.lr}; e.g. --lr 1e-3")
        if self.optimizer not in OPTIMIZERS:
            raise GoodfitError(f"optimizer {self.optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise GoodfitError(f"device {self.device!r} is unknown; use cpu, cuda or auto")
        if self.memory_budget is not None and (int(self.memory_budget) != self.memory_budget or self.memory_budget < 1):
            raise GoodfitError(f"memory budget must be a whole number of bytes >= 1, got {self.memory_budget}")
        if self.loss not in LOSS_NAMES:
            raise GoodfitError(f"loss {self.loss!r} is unknown; use one of {', '.join(LOSS_NAMES)}, e.g. --loss mse")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise GoodfitError("device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def loss_for(self, task: str) -> Loss:
        """The training loss for `task`, refused when it belongs to the other task.

        Example:
            >>> TrainConfig().loss_for("regression").name, TrainConfig(loss="huber").loss_for("regression").name
            ('mse', 'huber')
        """
        if self.loss == "auto":
            return Loss("mse" if task == "regression" else "cross_entropy")
        if (self.loss in REGRESSION_LOSSES) != (task == "regression"):
            fix = "mse, mae or huber" if task == "regression" else "cross_entropy"
            raise GoodfitError(f"loss {self.loss!r} does not fit a {task} target; use --loss {fix} (or leave it out)")
        return Loss(self.loss)

    def to_dict(self) -> dict:
        """Its settings; `loss` only when chosen, so that plans from before it existed keep their fingerprint."""
        settings = asdict(self)
        if settings["loss"] == "auto":
            del settings["loss"]
        return settings


@dataclass(frozen=True)
class Member:
    """One training run of a study: an arm, a seed and, rarely, a learning rate of its own.

    Args:
        arm: the remedies this member trains with.
        seed: fixes its initial weights, batch order, dropout and augmentation.
        lr: its learning rate, in place of `TrainConfig.lr`; members with their own rate still
            train in one population with the others, and a member with the shared rate trains
            bit for bit as it would without them. None takes the config's. Default None.

    Example:
        >>> Member(Arm("baseline"), seed=3).seed
        3
        >>> Member(Arm("baseline"), 0, lr=-1)
        Traceback (most recent call last):
        goodfit.errors.GoodfitError: a member's learning rate must be a positive number, got -1; e.g. lr=1e-3
    """

    arm: Arm
    seed: int
    lr: float | None = None

    def __post_init__(self):
        if self.lr is not None and not (np.isfinite(self.lr) and self.lr > 0):
            raise GoodfitError(f"a member's learning rate must be a positive number, got {self.lr}; e.g. lr=1e-3")
