"""Each member's optimizer settings over training, as the user's scheduler (or a spelled one) sets them.

The scheduler runs as the user wrote it, on a shadow optimizer: their optimizer class over one stand-in
tensor per group, never stepped. What the scheduler writes into the shadow's groups (the rate, and the
momentum or betas OneCycleLR cycles) is what the members step with, a member's own rate (`Member.lr`)
a multiple of it. One shadow serves every member, but for ReduceLROnPlateau, which each member's own
validation loss drives. Without a scheduler the settings never change and no torch object is built.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from goodfit.engine.config import TrainConfig
from goodfit.engine.optimizers import OptimizerPlan, constructor_defaults
from goodfit.engine.torch_settings import plain
from goodfit.errors import GoodfitError

Settings = tuple  # a group's hyper-parameters as sorted (name, value) pairs


def spelled_scheduler(config: TrainConfig, steps_per_epoch: int) -> Callable | None:
    """The scheduler `config.scheduler` and `config.warmup` spell, as a callable taking the optimizer; None
    for a constant rate.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = spelled_scheduler(TrainConfig(epochs=10, scheduler="cosine", warmup=2), 5)(opt)
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates.append(round(opt.param_groups[0]["lr"], 3)); opt.step(); s.step()
        >>> rates
        [0.333, 0.667, 1.0, 0.962]
    """
    S, epochs, warmup = torch.optim.lr_scheduler, config.epochs, config.warmup
    if config.scheduler == "onecycle":  # its rising part is the warm-up
        total = epochs * steps_per_epoch if config.interval == "step" else epochs
        return lambda opt: S.OneCycleLR(opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=total,
                                        pct_start=warmup / epochs if warmup else 0.3)
    rest = epochs - warmup
    per = steps_per_epoch if config.interval == "step" else 1
    main = {"constant": None,
            "step": lambda opt: S.MultiStepLR(opt, sorted({max(1, round(rest * f)) * per for f in (1 / 3, 2 / 3)}), 0.1),
            "cosine": lambda opt: S.CosineAnnealingLR(opt, T_max=rest * per)}[config.scheduler]
    if not warmup:
        return main
    rise = lambda opt: S.LinearLR(opt, start_factor=1 / (warmup * per + 1), total_iters=warmup * per)  # noqa: E731
    if main is None:
        return rise
    return lambda opt: S.SequentialLR(opt, [rise(opt), main(opt)], milestones=[warmup * per])


class Schedule:
    """Per member and group, the optimizer settings of the moment; `advance` steps the scheduler.

    Args:
        config: the run's settings (its scheduler and interval).
        plan: the optimizer, as read (`read_plan`).
        rates: each member's own rate (`Member.lr`), or None for the plan's: without a scheduler it is the
            member's rate, with one the scheduler's rate times the member's over the plan's.
        steps_per_epoch: batches per epoch, for schedules spelled in epochs and stepped per batch.
    """

    def __init__(self, config: TrainConfig, plan: OptimizerPlan, rates: list[float | None], steps_per_epoch: int):
        self.plan, self.interval, self.rates = plan, config.interval, list(rates)
        make = config.scheduler if callable(config.scheduler) else spelled_scheduler(config, steps_per_epoch)
        self.shadows, self.schedulers, self.plateau = [], [], False
        if make is not None:
            first = self._shadow_with(make)
            self.plateau = isinstance(first[1], torch.optim.lr_scheduler.ReduceLROnPlateau)
            shadows = [first] + [self._shadow_with(make) for _ in range(len(rates) - 1)] if self.plateau else [first]
            self.shadows, self.schedulers = [s for s, _ in shadows], [s for _, s in shadows]
        self._read()

    def _shadow_with(self, make: Callable) -> tuple:
        """A shadow of the user's optimizer, and their scheduler built on it."""
        groups = [{**dict(g.settings), "params": [torch.zeros(1, requires_grad=True)]} for g in self.plan.groups]
        shadow = self.plan.cls(groups, **constructor_defaults(self.plan))
        shadow._opt_called = True  # never stepped: torch's warning about the order of step calls is not for it
        try:
            scheduler = make(shadow)
        except Exception as err:  # noqa: BLE001 - the user's code: say where it failed
            name = getattr(make, "__qualname__", type(make).__name__)
            raise GoodfitError(f"your scheduler {name} failed on the optimizer: {type(err).__name__}: {err}; it must "
                               "take the optimizer and return a torch.optim.lr_scheduler scheduler") from None
        if not isinstance(scheduler, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)):
            raise GoodfitError(f"your scheduler returned a {type(scheduler).__name__}, not a torch.optim.lr_scheduler "
                               "scheduler; e.g. scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 30)")
        return shadow, scheduler

    def _read(self) -> None:
        """The settings the shadows hold now, each member's rate scaled."""
        keys = [[k for k, _ in g.settings] for g in self.plan.groups]
        if self.shadows:
            per_shadow = [[tuple((k, plain(group[k])) for k in names) for group, names in zip(s.param_groups, keys)]
                          for s in self.shadows]
        else:
            per_shadow = [[g.settings for g in self.plan.groups]]
        self.current = []  # per group, per member
        for g in range(len(self.plan.groups)):
            column = []
            for k, own in enumerate(self.rates):
                mine = per_shadow[k if self.plateau else 0][g]
                if own is not None and own != self.plan.lr:  # the group's rate times the member's over the plan's
                    lr = own * dict(mine)["lr"] / self.plan.lr if self.shadows or g else own
                    mine = tuple((n, lr if n == "lr" else v) for n, v in mine)
                column.append(mine)
            self.current.append(column)

    def settings(self) -> list[list[Settings]]:
        """`[group][member]` settings for this step."""
        return self.current

    def lrs(self) -> np.ndarray:
        """Each member's rate in the first group now `(K,)`: what the history records."""
        return np.array([dict(s)["lr"] for s in self.current[0]], np.float64)

    def advance(self, at: str, val_loss: np.ndarray | None = None) -> None:
        """After a step (`at="step"`) or an epoch (`"epoch"`, with each member's validation loss): step the
        scheduler when its interval is `at`."""
        if not self.schedulers or at != self.interval:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. stepping past OneCycleLR's end is refused below
            for k, scheduler in enumerate(self.schedulers):
                if self.plateau:
                    scheduler.step(float(val_loss[k]) if val_loss is not None else float("inf"))
                else:
                    _step(scheduler)
        self._read()

    def rates_now(self) -> np.ndarray:
        """Each group's rate for each member now `(groups, K)`."""
        return np.array([[dict(s)["lr"] for s in column] for column in self.current], np.float64)

    def select(self, keep: np.ndarray) -> "Schedule":
        self.rates = [self.rates[k] for k in keep]
        if self.plateau:
            self.shadows = [self.shadows[k] for k in keep]
            self.schedulers = [self.schedulers[k] for k in keep]
        self._read()
        return self


def _step(scheduler) -> None:
    try:
        scheduler.step()
    except ValueError as err:  # OneCycleLR past its total steps
        raise GoodfitError(f"{type(scheduler).__name__} ran out of steps: {err}; give it total_steps = epochs x "
                           "batches per epoch (or epochs, stepped per epoch)") from None
