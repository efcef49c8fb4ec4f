"""Augmentation as a per-member piece: each augmented member draws a block of steps' random numbers
from its own streams; the block's samples are changed in one pass (geometry, flips, shifts, noise: each
sample on its own), and only mixup, which pairs samples within a step's batch, acts step by step. Only
the augmented members' rows change.

The transformations themselves are `goodfit.augment`'s; this file only feeds them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.augment import FIELDS, mixup, draw, member_streams, transform
from goodfit.engine.piece import Step, take
from goodfit.remedies import Augment


@dataclass
class AugmentState:
    augments: list  # per member its `Augment`, or None
    streams: list  # per member its random streams, or None
    strength: dict  # per field of `FIELDS`, `(K,)`
    rows: torch.Tensor  # positions of the augmented members
    kind: str  # image, sequence or table
    sample: torch.Size  # one sample's shape
    block: dict | None = None  # the block's draws, stacked `(rows, steps, batch, ...)`


@dataclass(frozen=True)
class Augmentation:
    """`Augment`: random, label-preserving changes to each member's batch, at its own strengths."""

    at = ("block", "batch")
    remedy = Augment  # the remedy it serves

    def init(self, run) -> AugmentState | None:
        augments = [m.arm.get(Augment) for m in run.members]
        augments = [a if a is not None and a.active else None for a in augments]
        if not any(augments):
            return None
        streams = [member_streams(m.seed) if a else None for a, m in zip(augments, run.members)]
        return self._state(augments, streams, run.device, run.splits.kind, torch.Size(run.splits.input_shape))

    def _state(self, augments: list, streams: list, device, kind: str, sample: torch.Size) -> AugmentState:
        strength = {f: torch.tensor([getattr(a, f) if a else 0.0 for a in augments], device=device) for f in FIELDS}
        rows = torch.tensor([k for k, a in enumerate(augments) if a], dtype=torch.long, device=device)
        return AugmentState(augments, streams, strength, rows, kind, sample)

    def update(self, step: Step, state: AugmentState) -> AugmentState:
        rows = state.rows
        every = len(rows) == len(state.augments)
        if step.at == "block":  # every change but mixup, to the whole block's samples in one pass
            state.block = self._draw(step, state)
            picked = {f: s if every else s[rows] for f, s in state.strength.items()}
            x, n = step.x, step.x.shape[1]
            flat = {key: v.reshape((len(rows), -1) + v.shape[3:])[:, :n]  # step s, sample j at s * batch + j
                    for key, v in state.block.items() if key in ("uniform", "noise")}
            moved = transform(x if every else x[rows], picked, flat, state.kind)
            step.x = moved if every else x.index_copy(0, rows, moved)
            return state
        if "lam" not in state.block:
            return state
        x, y = step.x, step.targets  # mixup pairs samples within a step's batch
        b = x.shape[1]
        x_rows, y_rows = (x, y) if every else (x[rows], y[rows])
        lam, order = (state.block[key][:, step.index, :b] for key in ("lam", "order"))
        x_rows, (_, partner, lam) = mixup(x_rows, y_rows, lam, order.argsort(dim=1))
        step.x = x_rows if every else x.index_copy(0, rows, x_rows)
        step.targets = (y, partner if every else y.index_copy(0, rows, partner),
                        lam if every else torch.ones(y.shape, device=y.device).index_copy(0, rows, lam))
        return state

    def _draw(self, step: Step, state: AugmentState) -> dict[str, torch.Tensor]:
        """Every augmented member's draws for the block's steps, stacked `(rows, count, batch, ...)`."""
        sample = tuple(state.sample)
        draws = [draw(a, s, step.count, step.batch, sample) for a, s in zip(state.augments, state.streams) if a]
        fill = {"uniform": None, "noise": np.zeros((step.count, step.batch) + sample, np.float32),
                "lam": np.ones((step.count, step.batch), np.float32),
                "order": np.broadcast_to(np.arange(step.batch, dtype=np.float32), (step.count, step.batch))}
        keys = [key for key in fill if any(key in d for d in draws)]
        device = state.rows.device
        return {key: torch.from_numpy(np.stack([d.get(key, fill[key]) for d in draws])).to(device) for key in keys}

    def select(self, state: AugmentState, keep: np.ndarray) -> AugmentState | None:
        augments, streams = take(state.augments, keep), take(state.streams, keep)
        if not any(augments):
            return None
        return self._state(augments, streams, state.rows.device, state.kind, state.sample)
