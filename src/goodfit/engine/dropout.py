"""Dropout masks as a per-member piece: each member draws its keep-masks for a block of steps in one
call, from a stream of its own, so its masks depend neither on who else trains nor on the block.

The one source of every dropout mask, goodfit's models' and a user's module's alike: the net says
which masks one step takes and each member's rate for each (`ModuleNet.mask_sizes`,
`mask_thresholds`), and its dropout layers apply them. On a CPU the bits come from numpy's SFC64
(about ten times faster than torch's CPU generator); on a GPU they are hashed on the device from the
member's seed and step (`counter_masks`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.piece import Step, take
from goodfit.nn.dropout import kept_scale
from goodfit.remedies import Dropout

COUNTER_MASK_DEVICES = ("cuda",)  # where dropout masks are hashed on the device instead of drawn on the host


@dataclass
class DropoutState:
    seeds: list  # per member
    thresholds: np.ndarray  # (K, masks): each member's `dropout_threshold` for each mask
    streams: list  # per member its numpy SFC64 stream (host masks)
    sizes: list  # entries per sample of each mask, shared
    block: list | None = None  # the block's masks, each `(K, steps, batch, entries)`
    buffer: np.ndarray | None = None  # reused host memory for the block's masks


@dataclass(frozen=True)
class DropoutMasks:
    """`Dropout`, and a module's own dropout layers: per member and step, keep-masks over the entries of
    each dropout call, scaled by 1 / keep-probability."""

    at = ("block", "batch")
    remedy = Dropout  # the remedy it serves

    def init(self, run) -> DropoutState | None:
        sizes, thresholds = run.net.mask_sizes(), run.net.mask_thresholds()
        if not sizes or not thresholds.any():
            return None
        return DropoutState([m.seed for m in run.members], thresholds,
                            [np.random.SFC64([int(m.seed), 11]) for m in run.members], list(sizes))

    def update(self, step: Step, state: DropoutState) -> DropoutState:
        if step.at == "block":
            if step.net.device.type in COUNTER_MASK_DEVICES:
                state.block = counter_masks(state, step.first, step.count, step.batch, step.net.device)
            else:
                state.buffer = _buffer(state, step.count, step.batch)
                state.block = host_masks(state, step.count, step.batch, out=state.buffer[:, :step.count])
            return state
        b = step.x.shape[1]
        step.masks = [m[:, step.index, :b] for m in state.block]  # per mask (K, b, entries)
        return state

    def select(self, state: DropoutState, keep: np.ndarray) -> DropoutState | None:
        if not take(state.thresholds, keep).any():
            return None
        return DropoutState(take(state.seeds, keep), take(state.thresholds, keep), take(state.streams, keep),
                            state.sizes)


def _buffer(state: DropoutState, steps: int, batch: int) -> np.ndarray:
    """Host memory for a block's masks, reused while it is big enough: fresh memory costs page faults."""
    shape = (len(state.seeds), steps, batch, sum(state.sizes))
    old = state.buffer
    if old is None or old.shape[0] != shape[0] or old.shape[1] < steps or old.shape[2:] != shape[2:]:
        return np.empty(shape, np.float32)
    return old


def host_masks(state: DropoutState, steps: int, batch: int, out: np.ndarray | None = None) -> list[torch.Tensor]:
    """Scaled keep-masks `(K, steps, batch, entries)` per mask, one draw per member.

    Each member draws 16 random bits per entry from its own stream (a sample's entries of every mask
    side by side), a whole number of 64-bit words per step, so its masks depend neither on the other
    members nor on how many steps are drawn at once. An entry is dropped when its bits fall below the
    member's threshold for that mask; a kept one holds 1 / keep-probability. `out`
    `(K, steps, batch, entries of all masks)` float32 is filled instead of a new array.
    """
    units = sum(state.sizes)
    words = -(-batch * units // 4)  # (64-bit words per step)
    shape = (len(state.seeds), steps, batch, units)
    if out is None:
        out = np.empty(shape, np.float32)
    ends = np.cumsum(state.sizes)
    for k, (stream, thresholds) in enumerate(zip(state.streams, state.thresholds)):
        if not thresholds.any():
            out[k] = 1
            continue
        bits = stream.random_raw(steps * words).view(np.uint16).reshape(steps, -1)[:, :batch * units]
        bits = bits.reshape(steps, batch, units)
        if (thresholds == thresholds[0]).all():  # one rate for every mask: one pass over all of them
            np.greater_equal(bits, thresholds[0], out=out[k])  # (steps, batch, units)
            out[k] *= kept_scale(thresholds[0])
            continue
        for end, size, threshold in zip(ends, state.sizes, thresholds):
            part = out[k, ..., end - size:end]
            np.greater_equal(bits[..., end - size:end], threshold, out=part)
            part *= kept_scale(threshold)
    return list(torch.split(torch.from_numpy(out), state.sizes, dim=-1))


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """Wellons' `lowbias32` integer hash of an int32 tensor, in place (multiplies wrap, shifts are logical).

    Example:
        >>> _hash32(torch.tensor([0, 1], dtype=torch.int32)).tolist()
        [0, 1753845952]
    """
    x ^= (x >> 16) & 0xFFFF
    x *= 0x7FEB352D
    x ^= (x >> 15) & 0x1FFFF
    x *= -0x7B935975  # 0x846CA68B as a signed 32-bit integer
    x ^= (x >> 16) & 0xFFFF
    return x


def counter_masks(state: DropoutState, first_step: int, steps: int, batch: int, device) -> list[torch.Tensor]:
    """Scaled keep-masks `(K, steps, batch, entries)` per mask, hashed on `device`.

    Entry `u` (of all masks' entries side by side) of sample `b` at the member's step `t` is kept when
    the top 16 bits of `hash(hash(key ^ hash(t)) + b * units + u)` reach its threshold; `key` comes
    from the member's seed. As with `host_masks`, a member's masks depend neither on the other members
    nor on how many steps are drawn at once, and a GPU draws a thousand members' masks without a trip
    to the host. They are not the host's masks: a member's dropout differs between devices.
    """
    units, K = sum(state.sizes), len(state.seeds)
    seeds = np.array(state.seeds, np.int64) & 0x7FFFFFFF
    keys = _hash32(torch.as_tensor(seeds.astype(np.int32) ^ 0x2545F491, device=device))  # (K,)
    per_entry = np.repeat(state.thresholds, state.sizes, axis=1)  # (K, units)
    limit = torch.as_tensor(per_entry, dtype=torch.int32, device=device)[:, None, None]  # (K, 1, 1, units)
    scale = torch.as_tensor(kept_scale(per_entry), device=device)[:, None, None]
    t = _hash32(torch.arange(first_step, first_step + steps, dtype=torch.int32, device=device))  # (steps,)
    base = _hash32(keys[:, None] ^ t)  # (K, steps)
    bits = _hash32(base[..., None] + torch.arange(batch * units, dtype=torch.int32, device=device))
    kept = ((bits >> 16) & 0xFFFF).view(K, steps, batch, units) >= limit  # (K, steps, batch, units)
    masks = kept.to(torch.float32) * scale
    return list(torch.split(masks, state.sizes, dim=-1))
