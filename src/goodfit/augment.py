"""Batched augmentations with per-member strengths, drawn from each member's own generator.

Images: rotate, flip, zoom, shift, noise (one `affine_grid` + `grid_sample` for all members);
sequences: shift, noise; tables: noise, mixup. Knows nothing of files or PIL.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from goodfit.remedies import Augment

FIELDS = ("rotate", "flip", "zoom", "shift", "noise", "mixup")


class Augmenter:
    """Applies each member's `Augment` to its batch.

    Args:
        augments: one `Augment` (or None) per member.
        generators: each member's torch generator.
        seeds: each member's seed (mixup's Beta draws use a numpy generator seeded from it).
        kind: `image`, `sequence` or `table`.
        device: where the batch lives.

    Example:
        >>> g = [torch.Generator().manual_seed(0)]
        >>> aug = Augmenter([Augment(noise=0.1)], g, [0], "table", "cpu")
        >>> x, targets = aug(torch.zeros(1, 4, 3), torch.zeros(1, 4, dtype=torch.long))
        >>> x.shape, bool(x.abs().sum() > 0)
        (torch.Size([1, 4, 3]), True)
    """

    def __init__(self, augments: list[Augment | None], generators: list[torch.Generator],
                 seeds: list[int], kind: str, device):
        self.kind, self.device = kind, device
        self.augments = [a or Augment() for a in augments]
        self.generators = generators
        self.np_rngs = [np.random.default_rng([int(s), 7]) for s in seeds]
        self.strength = {f: torch.tensor([getattr(a, f) for a in self.augments], device=device) for f in FIELDS}
        self.active = [bool(a.active) for a in self.augments]
        self.any = {f: bool((self.strength[f] > 0).any()) for f in FIELDS}

    def __bool__(self) -> bool:
        return any(self.active)

    def select(self, keep: list[int]) -> "Augmenter":
        return Augmenter([self.augments[i] for i in keep], [self.generators[i] for i in keep],
                         [0] * len(keep), self.kind, self.device)._with_rngs([self.np_rngs[i] for i in keep])

    def _with_rngs(self, rngs):
        self.np_rngs = rngs
        return self

    def _uniform(self, K: int, B: int, n: int) -> torch.Tensor:
        """(K, B, n) uniforms in [0, 1): each augmented member draws from its own generator."""
        out = torch.zeros(K, B, n)
        for k in range(K):
            if self.active[k]:
                out[k] = torch.rand((B, n), generator=self.generators[k])
        return out.to(self.device)

    def _noise(self, shape: tuple) -> torch.Tensor:
        out = torch.zeros(shape)
        for k in range(shape[0]):
            if self.augments[k].noise > 0:
                out[k] = torch.randn(shape[1:], generator=self.generators[k])
        return out.to(self.device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        """Augmented `x` `(K, B, *sample)` and targets: `y`, or `(y, y_partner, lam)` under mixup."""
        K, B = x.shape[:2]
        u = self._uniform(K, B, 5)  # (K, B, 5)
        if self.kind == "image" and any(self.any[f] for f in ("rotate", "zoom", "shift")):
            x = self._affine(x, u)
        if self.kind == "image" and self.any["flip"]:
            flip = (u[..., 3] < self.strength["flip"][:, None]).reshape((K, B) + (1,) * (x.dim() - 2))
            x = torch.where(flip, x.flip(-1), x)
        if self.kind == "sequence" and self.any["shift"]:
            x = self._shift_sequence(x, u[..., 0])
        if self.any["noise"]:
            x = x + self._noise(tuple(x.shape)) * self.strength["noise"].reshape((K,) + (1,) * (x.dim() - 1))
        if self.kind == "table" and self.any["mixup"]:
            return self._mixup(x, y)
        return x, y

    def _affine(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        K, B = x.shape[:2]
        s = {f: self.strength[f][:, None] for f in ("rotate", "zoom", "shift")}
        angle = (2 * u[..., 0] - 1) * s["rotate"] * math.pi / 180  # (K, B)
        scale = 1 + (2 * u[..., 1] - 1) * s["zoom"]
        tx, ty = ((2 * u[..., i] - 1) * s["shift"] * 2 for i in (2, 4))  # grid units span 2 per image
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], -2)  # (K, B, 2, 3)
        flat = x.reshape((K * B,) + x.shape[2:])  # (K*B, C, H, W)
        grid = F.affine_grid(theta.reshape(K * B, 2, 3), list(flat.shape), align_corners=False)
        moved = F.grid_sample(flat, grid, padding_mode="zeros", align_corners=False).reshape(x.shape)
        geometric = (s["rotate"] + s["zoom"] + s["shift"]).reshape((K,) + (1,) * (x.dim() - 1)) > 0
        return torch.where(geometric, moved, x)

    def _shift_sequence(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        L = x.shape[-1]
        steps = torch.round((2 * u - 1) * self.strength["shift"][:, None] * L).long()  # (K, B)
        src = torch.arange(L, device=x.device) - steps[..., None]  # (K, B, L)
        inside = (src >= 0) & (src < L)
        flat = x.reshape(x.shape[:2] + (-1, L))  # (K, B, C, L)
        moved = torch.gather(flat, -1, src.clamp(0, L - 1)[:, :, None].expand_as(flat)) * inside[:, :, None]
        return moved.reshape(x.shape)

    def _mixup(self, x: torch.Tensor, y: torch.Tensor):
        K, B = x.shape[:2]
        lam = torch.ones(K, B)
        partner = torch.arange(B).repeat(K, 1)
        for k in range(K):
            alpha = self.augments[k].mixup
            if alpha > 0:
                lam[k] = torch.from_numpy(self.np_rngs[k].beta(alpha, alpha, size=B)).float()
                partner[k] = torch.randperm(B, generator=self.generators[k])
        lam, partner = lam.to(x.device), partner.to(x.device)
        lam_x = lam.reshape((K, B) + (1,) * (x.dim() - 2))
        x_partner = torch.gather(x, 1, partner.reshape((K, B) + (1,) * (x.dim() - 2)).expand_as(x))
        return lam_x * x + (1 - lam_x) * x_partner, (y, torch.gather(y, 1, partner), lam)
