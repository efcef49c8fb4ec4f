"""The one shape every per-member remedy takes in the training loop, in the spirit of optax:
`init` builds its state, `update` hands it back changed, `select` keeps the members that stay.

The loop knows pieces only through this protocol and calls each at the points of a step it names
in `at`; a piece's state (rates, strengths, masks, best copies) is passed in and handed back, never
hidden in the piece, which is a frozen value with no fields of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

# Where in the loop a piece may act, in the order they come:
#   block     a block of steps begins: draw what the block needs in one call per member (masks, noise),
#             and change the block's inputs sample by sample (augmentation)
#   batch     before a step's forward pass: change its inputs, targets or dropout masks
#   gradient  after the backward pass, before the optimizer: change gradients or weights
#   step      after the optimizer's step
#   epoch     after each epoch's evaluation: read the metrics, may ask members to stop
#   leave     members leave (stopped, diverged, or the last epoch): choose the weights they keep
POINTS = ("block", "batch", "gradient", "step", "epoch", "leave")


@dataclass
class Step:
    """The moment of the loop a piece is called at; the loop fills what the point has, pieces may write back.

    Attributes:
        at: the point, one of `POINTS`.
        net: the population's network (its `params`, `buffers`, `K`, `generators`).
        epoch: the epoch, 1-based.
        first: the first step of the block, counted from the start of training (0-based).
        count: steps in the block.
        index: the step within the block (batch point).
        batch: samples per step and member (the block's last step may have fewer).
        x: the step's inputs `(K, b, *sample)` (batch point), or the block's `(K, steps * batch, *sample)`
            (block point: step s's samples start at s * batch).
        targets: labels `(K, b)`, or `(y, y_partner, lam)` under mixup (batch point); the block's labels
            `(K, steps * batch)` (block point).
        masks: per dropout call of the net's forward pass a float dropout scale `(K, b, entries)`
            (`ModuleNet.mask_sizes`), or None (batch point).
        metrics: the epoch's `EpochMetrics` (epoch point).
        stop: `(K,)` bool, members asking to stop (epoch point; starts all False).
        leaving: `(K,)` bool, members leaving now (leave point).
        diverged: `(K,)` bool, members whose metrics are not finite (epoch and leave points).
        kept: per state name, the weights the leaving members keep, `(leaving members, ...)` (leave point).
        best_epoch: per leaving member, the epoch of its best validation score, 0 for none (leave point).
        rates: each optimizer group's rate for each member this step, `(groups, K)` float64 (gradient point).
    """

    at: str
    net: Any
    epoch: int = 0
    first: int = 0
    count: int = 0
    index: int = 0
    batch: int = 0
    x: torch.Tensor | None = None
    targets: Any = None
    masks: list[torch.Tensor] | None = None
    metrics: Any = None
    stop: np.ndarray | None = None
    leaving: np.ndarray | None = None
    diverged: np.ndarray | None = None
    kept: dict[str, torch.Tensor] | None = None
    best_epoch: np.ndarray | None = None
    rates: np.ndarray | None = None


class Piece(Protocol):
    """A per-member remedy as the loop sees it."""

    at: ClassVar[tuple[str, ...]]  # the points of `POINTS` it acts at
    remedy: ClassVar[type | None]  # the remedy of `goodfit.remedies` it serves; None for the engine's own

    def init(self, run) -> Any | None:
        """Its state for the members of `run` (a `Population`), or None when no member uses it."""

    def update(self, step: Step, state: Any) -> Any:
        """Act at `step.at`: change the step's tensors or the net, and hand back the new state."""

    def select(self, state: Any, keep: np.ndarray) -> Any:
        """The state of the members at positions `keep` only."""


def take(value, keep: np.ndarray):
    """`value` cut to the members at positions `keep`, along its leading member axis.

    Tensors, arrays, lists and tuples are indexed; dicts and dataclasses are cut field by field;
    anything else (a scalar setting shared by all members) stays as it is.

    Example:
        >>> take({"rate": torch.tensor([0.1, 0.2, 0.3]), "names": ["a", "b", "c"], "lr": 1e-3}, np.array([0, 2]))
        {'rate': tensor([0.1000, 0.3000]), 'names': ['a', 'c'], 'lr': 0.001}
    """
    if torch.is_tensor(value):
        return value[torch.as_tensor(keep, device=value.device)]
    if isinstance(value, np.ndarray):
        return value[keep]
    if isinstance(value, (list, tuple)):
        return type(value)(value[i] for i in keep)
    if isinstance(value, dict):
        return {k: take(v, keep) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: take(getattr(value, f.name), keep) for f in fields(value) if f.init})
    return value


def member_view(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`(K,)` per-member values shaped `(K, 1, ...)` to broadcast against a stacked tensor like `like`.

    Example:
        >>> member_view(torch.ones(3), torch.zeros(3, 4, 5)).shape
        torch.Size([3, 1, 1])
    """
    return values.reshape((-1,) + (1,) * (like.dim() - 1))
