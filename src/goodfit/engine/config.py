"""What every member of a run shares (`TrainConfig`) and what makes one member (`Member`).

Frozen values: they compare by value, serialize to JSON and reject bad settings when built.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import torch

from goodfit.engine.torch_settings import describe_callable
from goodfit.errors import GoodfitError
from goodfit.nn.losses import LOSSES, REGRESSION_LOSSES, Loss
from goodfit.remedies import Arm

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
INTERVALS = ("epoch", "step")
LOSS_NAMES = ("auto",) + LOSSES
# settings added after plans were first fingerprinted: `to_dict` leaves them out at these values
_LATER = {"loss": "auto", "momentum": None, "weight_decay": None, "scheduler": "constant", "warmup": 0,
          "scheduler_interval": None, "clip_grad": None}


def described(value) -> str:
    """A setting as a plan records it: a name as it is, a callable by what it builds (`goodfit.engine.optimizers`)."""
    if isinstance(value, str) or value is None:
        return value
    return describe_callable(value)


@dataclass(frozen=True)
class TrainConfig:
    """Settings every member of a run shares.

    Args:
        epochs: passes over the training set. Default 100.
        batch_size: samples per step and member. Default 32.
        lr: learning rate of a spelled optimizer. Default 1e-3. With your own optimizer, its own rate rules:
            leave this out.
        optimizer: `adam`, `adamw`, `sgd` (momentum 0.9 unless `momentum` says otherwise) or `rmsprop`; or your
            own, as you would write it: a callable taking the parameters, `lambda params:
            torch.optim.AdamW(params, lr=3e-4, weight_decay=0.05)`, or the model when its one argument is
            named `model` (parameter groups: `lambda model: torch.optim.SGD([{"params": model.body.parameters(),
            "lr": 1e-4}, {"params": model.head.parameters()}], lr=1e-2)`). SGD, Adam, AdamW and RMSprop run
            stacked for all members; any other optimizer trains each member alone, with a note saying so.
            Default `adam`.
        momentum: SGD's or RMSprop's momentum (`sgd` alone takes 0.9, `rmsprop` 0). Default None.
        weight_decay: the spelled optimizer's own weight decay, the baseline's (AdamW's decoupled, the others'
            added to the gradient); a `decay=` or `l2=` arm adds to it. None takes torch's default (AdamW
            0.01, the others 0). Default None.
        scheduler: `constant`, `step` (a tenth of the rate at each third of the epochs after warm-up), `cosine`
            (down to 0 over the epochs after warm-up) or `onecycle` (torch's OneCycleLR, stepped per batch,
            warm-up its rising part); or your own, a callable taking the optimizer, `lambda opt:
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)`, run on each member's rate (LambdaLR's
            function called per member, ReduceLROnPlateau given each member's validation loss). Default `constant`.
        warmup: epochs of linear warm-up before a spelled schedule, from a rate of `lr / (warmup + 1)`. Default 0.
        scheduler_interval: `epoch` (the scheduler steps after each epoch) or `step` (after each batch), as
            Lightning says it. None: `step` for `onecycle`, else `epoch`. Default None.
        clip_grad: each member's gradients are scaled down to this total norm before the optimizer steps,
            as `torch.nn.utils.clip_grad_norm_` does. None does not clip. Default None.
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
    optimizer: str | Callable = "adam"
    device: str = "cpu"
    train_eval_size: int = 512
    memory_budget: int | None = None
    loss: str = "auto"
    momentum: float | None = None
    weight_decay: float | None = None
    scheduler: str | Callable = "constant"
    warmup: int = 0
    scheduler_interval: str | None = None
    clip_grad: float | None = None

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise GoodfitError(f"epochs must be a whole number >= 1, got {self.epochs}; e.g. --epochs 100")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise GoodfitError(f"batch size must be a whole number >= 1, got {self.batch_size}; e.g. --batch-size 32")
        if not 0 < self.lr < 10:
            raise GoodfitError(f"learning rate must be in (0, 10), got {self.lr}; e.g. --lr 1e-3")
        self._check_optimizer()
        self._check_schedule()
        if self.device not in ("cpu", "cuda", "auto"):
            raise GoodfitError(f"device {self.device!r} is unknown; use cpu, cuda or auto")
        if self.memory_budget is not None and (int(self.memory_budget) != self.memory_budget or self.memory_budget < 1):
            raise GoodfitError(f"memory budget must be a whole number of bytes >= 1, got {self.memory_budget}")
        if self.loss not in LOSS_NAMES:
            raise GoodfitError(f"loss {self.loss!r} is unknown; use one of {', '.join(LOSS_NAMES)}, e.g. --loss mse")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise GoodfitError("device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")

    def _check_optimizer(self) -> None:
        own = callable(self.optimizer)
        if not own and self.optimizer not in OPTIMIZERS:
            raise GoodfitError(f"optimizer {self.optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}, "
                               "or your own: optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4)")
        if own and self.lr != TrainConfig.lr:
            raise GoodfitError(f"a learning rate of {self.lr:g} was given beside your own optimizer, which sets its own; "
                               "give it in the optimizer (lr=...) and leave --lr out")
        for name in ("momentum", "weight_decay"):
            if own and getattr(self, name) is not None:
                raise GoodfitError(f"{name} was given beside your own optimizer, which sets its own; give it in the "
                                   "optimizer and leave it out here")
        if self.momentum is not None and (self.optimizer in ("adam", "adamw") or not 0 <= self.momentum < 1):
            raise GoodfitError(f"momentum {self.momentum:g} does not fit {self.optimizer}: momentum is SGD's and "
                               "RMSprop's, from 0 to below 1 (Adam's is its betas); e.g. --optimizer sgd --momentum 0.9")
        if self.weight_decay is not None and not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise GoodfitError(f"weight decay must be a number >= 0, got {self.weight_decay}; e.g. --weight-decay 0.01")

    def _check_schedule(self) -> None:
        if not callable(self.scheduler) and self.scheduler not in SCHEDULES:
            raise GoodfitError(f"schedule {self.scheduler!r} is unknown; use one of {', '.join(SCHEDULES)}, or your "
                               "own: scheduler=lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)")
        if int(self.warmup) != self.warmup or not 0 <= self.warmup < self.epochs:
            raise GoodfitError(f"warm-up must be a whole number of epochs from 0 to fewer than the {self.epochs} "
                               f"epochs, got {self.warmup}; e.g. --warmup 5")
        if self.warmup and callable(self.scheduler):
            raise GoodfitError("warm-up was given beside your own scheduler; build it into the scheduler "
                               "(torch.optim.lr_scheduler.LinearLR and SequentialLR) and leave --warmup out")
        if self.scheduler_interval not in (None,) + INTERVALS:
            raise GoodfitError(f"scheduler interval {self.scheduler_interval!r} is unknown; use epoch or step")
        if self.clip_grad is not None and not (np.isfinite(self.clip_grad) and self.clip_grad > 0):
            raise GoodfitError(f"gradient clipping needs a norm > 0, got {self.clip_grad}; e.g. --clip-grad 1")

    @property
    def interval(self) -> str:
        """When the scheduler steps: after each `epoch` or each `step`."""
        return self.scheduler_interval or ("step" if self.scheduler == "onecycle" else "epoch")

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
        """Its settings, JSON-ready: your own optimizer or scheduler by what it builds (`AdamW(lr=0.0003, ...)`);
        settings added later only when chosen, so that plans from before they existed keep their fingerprint."""
        settings = {**asdict(self), "optimizer": described(self.optimizer), "scheduler": described(self.scheduler)}
        if callable(self.optimizer):  # its own rate is in its description
            del settings["lr"]
        return {k: v for k, v in settings.items() if k not in _LATER or v != _LATER[k]}

    def with_training(self, **given) -> "TrainConfig":
        """This config with the training settings given (those not None): `optimizer`, `scheduler`, `clip_grad`...

        Example:
            >>> TrainConfig().with_training(scheduler="cosine", clip_grad=None).scheduler
            'cosine'
        """
        return replace(self, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class Member:
    """One training run of a study: an arm, a seed and, rarely, a learning rate of its own.

    Args:
        arm: the remedies this member trains with.
        seed: fixes its initial weights, batch order, dropout and augmentation.
        lr: its learning rate, in place of the optimizer's (`TrainConfig.lr`, or the first group's of the
            user's own); under a scheduler, the scheduler's rate times this over the optimizer's. Members with
            their own rate still train in one population with the others, each stepped as it would be alone.
            None takes the optimizer's. Default None.

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
