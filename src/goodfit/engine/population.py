"""One population in training: its network, optimizer and schedule, the pieces its members use with their
state, and who is still in. Members leaving is one call, `select(keep)`, for all of them.
"""
from __future__ import annotations

import threading

import numpy as np
import torch

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.members import member_settings
from goodfit.engine.optimizers import OptimizerPlan, StackedOptimizer, read_plan
from goodfit.engine.piece import Step, take
from goodfit.engine.registry import PIECES
from goodfit.engine.schedule import Schedule

_PLANS: dict = {}  # (architecture, config) -> its OptimizerPlan: read once, from one built module
_PLANS_LOCK = threading.Lock()


def optimizer_plan(arch, member: Member, config: TrainConfig) -> OptimizerPlan:
    """The optimizer `config` names over the architecture's parameters (`optimizers.read_plan`), read from one
    module the factory builds (outside every member's random stream) and kept for the architecture's other
    populations."""
    key = (arch, config)
    with _PLANS_LOCK:
        if key not in _PLANS:
            with torch.random.fork_rng(devices=[]):
                _PLANS[key] = read_plan(config, arch.build(member_settings(member)))
        return _PLANS[key]


class Population:
    """Members of one architecture training together.

    Args:
        arch: their architecture (a `ModuleArchitecture`).
        members: the members, in order.
        splits: the data: one `Splits` for all, or each member's own (a list; same sizes). `splits`
            holds the first; `own_splits` the list, or None when all share one.
        config: settings all share.
        positions: each member's place in the caller's list. Default `0..K-1`.
    """

    def __init__(self, arch, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                 positions: list[int] | None = None):
        self.own_splits = splits if isinstance(splits, list) else None
        self.splits = self.own_splits[0] if self.own_splits else splits
        self.arch, self.members, self.config = arch, list(members), config
        self.device = config.resolved_device()
        self.net = arch.make_net([member_settings(m) for m in members], self.device)
        self.positions = np.arange(len(members)) if positions is None else np.asarray(positions)
        self.plan = optimizer_plan(arch, self.members[0], config)
        self.opt = StackedOptimizer(self.plan, self.net.params)
        n_train = len(self.splits.y_train)
        self.schedule = Schedule(config, self.plan, [m.lr for m in self.members],
                                 -(-n_train // min(config.batch_size, n_train)))
        self.loss = config.loss_for(self.splits.task)
        self.pieces = [(piece, state) for piece in PIECES if (state := piece.init(self)) is not None]

    @property
    def trained(self) -> list[str]:
        """The parameters the optimizer moves (trainable ones in one of its groups), by name."""
        return self.plan.names

    def call(self, step: Step) -> Step:
        """Every piece that acts at `step.at`, in order; each hands back its new state."""
        self.pieces = [(piece, piece.update(step, state) if step.at in piece.at else state)
                       for piece, state in self.pieces]
        return step

    def select(self, keep: np.ndarray) -> None:
        """Keep only the members at positions `keep`: net, optimizer state, pieces and bookkeeping."""
        self.net = self.net.select(keep.tolist())
        self.opt = self.opt.select(self.net.params, keep)
        self.schedule = self.schedule.select(keep)
        self.members, self.positions = take(self.members, keep), self.positions[keep]
        self.pieces = [(piece, kept) for piece, state in self.pieces
                       if (kept := piece.select(state, keep)) is not None]
