"""Batched augmentations with per-member strengths: images (rotate, flip, zoom, shift, noise; one
`affine_grid` + `grid_sample` for all members), sequences (shift, noise), tables (noise, mixup).

`draw` takes a member's random numbers for several steps at once from its own streams;
`augment_batch` applies them to a stacked batch, `transform` (all but mixup) to many steps' samples at once. Knows nothing of files, PIL or training.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from goodfit.remedies import Augment

FIELDS = ("rotate", "flip", "zoom", "shift", "noise", "mixup")
UNIFORMS = 5  # per sample: angle, zoom, horizontal shift, flip, vertical shift


def member_streams(seed: int) -> tuple[np.random.Generator, ...]:
    """A member's four streams: uniforms, noise, mixup weights and mixup partners, each its own so that
    no draw depends on how many steps are drawn at once (a stream is consumed in order, whatever the block).

    Example:
        >>> a, b = member_streams(3), member_streams(3)
        >>> bool((a[0].random(4) == b[0].random(4)).all())
        True
    """
    return tuple(np.random.Generator(np.random.SFC64([int(seed), 7, i])) for i in range(4))


def draw(augment: Augment, streams: tuple, steps: int, batch: int, sample_shape: tuple) -> dict[str, np.ndarray]:
    """One member's random numbers for `steps` steps of `batch` samples, only those its augmentations use.

    Returns a dict of `uniform` `(steps, batch, 5)` in [0, 1), `noise` `(steps, batch, *sample)`
    standard normal, and for mixup `lam` `(steps, batch)` from Beta(alpha, alpha) and `order`
    `(steps, batch)`, uniforms whose ranks pair each sample with a partner (a permutation of
    whatever size the step's batch has). Missing keys mean zero strength.

    Example:
        >>> d = draw(Augment(noise=0.1), member_streams(0), steps=2, batch=4, sample_shape=(3,))
        >>> sorted(d), d["noise"].shape
        (['noise', 'uniform'], (2, 4, 3))
    """
    uniform, noise, weights, partners = streams
    out = {"uniform": uniform.random((steps, batch, UNIFORMS), dtype=np.float32)}
    if augment.noise > 0:
        out["noise"] = noise.standard_normal((steps, batch) + tuple(sample_shape), dtype=np.float32)
    if augment.mixup > 0:
        out["lam"] = weights.beta(augment.mixup, augment.mixup, (steps, batch)).astype(np.float32)
        out["order"] = partners.random((steps, batch), dtype=np.float32)
    return out


def augment_batch(x: torch.Tensor, y: torch.Tensor, strength: dict[str, torch.Tensor], draws: dict[str, torch.Tensor],
                  kind: str):
    """Augmented inputs and targets for `k` members' batches.

    Args:
        x: inputs `(k, b, *sample)`.
        y: labels `(k, b)`.
        strength: per field of `FIELDS` a `(k,)` tensor of the members' strengths.
        draws: this step's random numbers, as `draw` makes them, stacked to `(k, b, ...)`; a key
            missing where no member uses it.
        kind: `image`, `sequence` or `table`.

    Returns:
        `(x, y)`, or under mixup `(x, (y, y_partner, lam))` with `lam` `(k, b)` (1 for members without it).

    Example:
        >>> s = {f: torch.tensor([0.0]) for f in FIELDS} | {"noise": torch.tensor([0.5])}
        >>> d = {"uniform": torch.rand(1, 4, 5), "noise": torch.ones(1, 4, 3)}
        >>> augment_batch(torch.zeros(1, 4, 3), torch.zeros(1, 4, dtype=torch.long), s, d, "table")[0][0, 0].tolist()
        [0.5, 0.5, 0.5]
    """
    x = transform(x, strength, draws, kind)
    if "lam" in draws:
        return mixup(x, y, draws["lam"], draws["order"].argsort(dim=1))
    return x, y


def transform(x: torch.Tensor, strength: dict[str, torch.Tensor], draws: dict[str, torch.Tensor],
              kind: str) -> torch.Tensor:
    """Every augmentation but mixup, sample by sample: `augment_batch` without pairing samples, so
    that it may run on many steps' samples at once, `(k, steps * b, *sample)`, with draws shaped alike."""
    k, b = x.shape[:2]
    u = draws["uniform"]
    if kind == "image" and bool((strength["rotate"] + strength["zoom"] + strength["shift"] > 0).any()):
        x = _affine(x, u, strength)
    if kind == "image" and bool((strength["flip"] > 0).any()):
        flip = (u[..., 3] < strength["flip"][:, None]).reshape((k, b) + (1,) * (x.dim() - 2))
        x = torch.where(flip, x.flip(-1), x)
    if kind == "sequence" and bool((strength["shift"] > 0).any()):
        x = _shift_sequence(x, u[..., 0], strength["shift"])
    if "noise" in draws:
        x = torch.addcmul(x, draws["noise"], strength["noise"].reshape((k,) + (1,) * (x.dim() - 1)))
    return x


def _affine(x: torch.Tensor, u: torch.Tensor, strength: dict[str, torch.Tensor]) -> torch.Tensor:
    """Rotate, zoom and shift every image by its own random amounts within its member's strengths."""
    k, b = x.shape[:2]
    s = {f: strength[f][:, None] for f in ("rotate", "zoom", "shift")}
    angle = (2 * u[..., 0] - 1) * s["rotate"] * math.pi / 180  # (k, b)
    scale = 1 + (2 * u[..., 1] - 1) * s["zoom"]
    tx, ty = ((2 * u[..., i] - 1) * s["shift"] * 2 for i in (2, 4))  # grid units span 2 per image
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], -2)  # (k, b, 2, 3)
    flat = x.reshape((k * b,) + x.shape[2:])  # (k*b, C, H, W)
    grid = F.affine_grid(theta.reshape(k * b, 2, 3), list(flat.shape), align_corners=False)
    moved = F.grid_sample(flat, grid, padding_mode="zeros", align_corners=False).reshape(x.shape)
    geometric = (s["rotate"] + s["zoom"] + s["shift"]).reshape((k,) + (1,) * (x.dim() - 1)) > 0
    return torch.where(geometric, moved, x)


def _shift_sequence(x: torch.Tensor, u: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move each sequence by a whole number of positions, up to `shift` of its length, filling with zeros."""
    L = x.shape[-1]
    steps = torch.round((2 * u - 1) * shift[:, None] * L).long()  # (k, b)
    src = torch.arange(L, device=x.device) - steps[..., None]  # (k, b, L)
    inside = (src >= 0) & (src < L)
    flat = x.reshape(x.shape[:2] + (-1, L))  # (k, b, C, L)
    moved = torch.gather(flat, -1, src.clamp(0, L - 1)[:, :, None].expand_as(flat)) * inside[:, :, None]
    return moved.reshape(x.shape)


def mixup(x: torch.Tensor, y: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor):
    """Each sample mixed with its partner in the same batch, labels weighted by `lam`."""
    k, b = x.shape[:2]
    lam_x = lam.reshape((k, b) + (1,) * (x.dim() - 2))
    x_partner = torch.gather(x, 1, partner.reshape((k, b) + (1,) * (x.dim() - 2)).expand_as(x))
    return lam_x * x + (1 - lam_x) * x_partner, (y, torch.gather(y, 1, partner), lam)
