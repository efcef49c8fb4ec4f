"""One population in training: its network, optimizer, the pieces its members use with their state,
and who is still in. Members leaving is one call, `select(keep)`, for all of them.
"""
from __future__ import annotations

import numpy as np
import torch

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.members import member_settings
from goodfit.engine.piece import Step, take
from goodfit.engine.registry import PIECES


def make_optimizer(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """One fused Adam (or SGD with momentum 0.9) over the stacked parameters of all members."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, fused=True)
    return torch.optim.Adam(params, lr=config.lr, fused=True)


def carry_optimizer(old: torch.optim.Optimizer, old_params: list, new_params: list, keep: torch.Tensor,
                    config: TrainConfig) -> torch.optim.Optimizer:
    """A new optimizer over `new_params` whose state is the old state of the kept members."""
    new = make_optimizer(new_params, config)
    for p_old, p_new in zip(old_params, new_params):
        state = old.state.get(p_old)
        if state:
            new.state[p_new] = {k: (v[keep].clone() if torch.is_tensor(v) and v.dim() > 0 else v)
                                for k, v in state.items()}
    return new


class Population:
    """Members of one architecture training together.

    Args:
        arch: their architecture (`Architecture` or `CustomArchitecture`).
        members: the members, in order.
        splits: the data.
        config: settings all share.
        positions: each member's place in the caller's list. Default `0..K-1`.
    """

    def __init__(self, arch, members: list[Member], splits: Splits, config: TrainConfig,
                 positions: list[int] | None = None):
        self.arch, self.members, self.splits, self.config = arch, list(members), splits, config
        self.device = config.resolved_device()
        self.net = arch.make_net([member_settings(m) for m in members], self.device)
        self.positions = np.arange(len(members)) if positions is None else np.asarray(positions)
        self.opt = make_optimizer(list(self.net.params.values()), config)
        self.pieces = [(piece, state) for piece in PIECES if (state := piece.init(self)) is not None]

    def learning_rates(self) -> list[float]:
        """Each member's learning rate: its own, or the config's."""
        return [self.config.lr if m.lr is None else m.lr for m in self.members]

    def call(self, step: Step) -> Step:
        """Every piece that acts at `step.at`, in order; each hands back its new state."""
        self.pieces = [(piece, piece.update(step, state) if step.at in piece.at else state)
                       for piece, state in self.pieces]
        return step

    def select(self, keep: np.ndarray) -> None:
        """Keep only the members at positions `keep`: net, optimizer state, pieces and bookkeeping."""
        old = list(self.net.params.values())
        self.net = self.net.select(keep.tolist())
        self.opt = carry_optimizer(self.opt, old, list(self.net.params.values()),
                                   torch.as_tensor(keep, device=self.device), self.config)
        self.members, self.positions = take(self.members, keep), self.positions[keep]
        self.pieces = [(piece, kept) for piece, state in self.pieces
                       if (kept := piece.select(state, keep)) is not None]
