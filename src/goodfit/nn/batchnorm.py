"""Batch normalization for stacked members: each member normalizes over its own batch and keeps its own
running statistics; members without batch norm pass through unchanged.

Two forms: `stacked_batch_norm` for autograd and evaluation (MLP and CNN layouts), and the
hand-written training pair `batch_norm_forward` / `batch_norm_backward` for an MLP population's
`train_step`, which normalizes only the rows of the members that use it.
"""
from __future__ import annotations

import math

import torch

BN_EPS = 1e-5


def stacked_batch_norm(h: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, running_mean: torch.Tensor,
                       running_var: torch.Tensor, on: torch.Tensor, momentum: torch.Tensor, train: bool,
                       dims: tuple, view: tuple) -> torch.Tensor:
    """Per-member batch norm of `h` over `dims`, for members where `on` holds; autograd differentiates it.

    Args:
        h: activations, `(K, B, W)` for an MLP or `(B, K*W, *spatial)` for a CNN.
        gamma, beta: scale and shift `(K, W)`.
        running_mean, running_var: running statistics `(K, W)`, updated in place while training.
        on: bool, broadcastable to `h`: where the member normalizes.
        momentum: `(K,)` weight of the newest batch in the running statistics.
        train: batch statistics (and running updates) instead of the running statistics.
        dims: the axes one member's statistics are taken over.
        view: how a `(K, W)` tensor reshapes to broadcast against `h`.
    """
    K = gamma.shape[0]
    if not train:  # one affine map per unit (1 and 0 where off): a single pass over `h`
        scale = torch.rsqrt(running_var + BN_EPS) * gamma  # (K, W)
        shift = (beta - running_mean * scale).reshape(view)
        return torch.addcmul(torch.where(on, shift, 0.0), h, torch.where(on, scale.reshape(view), 1.0))
    mean, var = h.mean(dims, keepdim=True), h.var(dims, keepdim=True, unbiased=False)
    with torch.no_grad():
        n = math.prod(h.shape[d] for d in dims)
        running_mean.lerp_(mean.reshape(K, -1), momentum[:, None])
        running_var.lerp_(var.reshape(K, -1) * n / max(1, n - 1), momentum[:, None])
    out = (h - mean) * torch.rsqrt(var + BN_EPS) * gamma.reshape(view) + beta.reshape(view)
    return torch.where(on, out, h)


def batch_norm_forward(z: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, running_mean: torch.Tensor,
                       running_var: torch.Tensor, momentum: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    """Training-mode batch norm of `z` `(k, B, W)` over its batch axis, without autograd.

    Updates the running statistics `(k, W)` in place (unbiased variance, as `torch.nn.BatchNorm1d`)
    and returns the output with what `batch_norm_backward` needs.

    Example:
        >>> z = torch.randn(2, 8, 3)
        >>> y, _ = batch_norm_forward(z, torch.ones(2, 3), torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3),
        ...                           torch.full((2,), 0.1))
        >>> bool(y.mean(1).abs().max() < 1e-5)
        True
    """
    B = z.shape[1]
    mean = z.mean(1, keepdim=True)  # (k, 1, W)
    centred = z - mean
    var = centred.square().mean(1, keepdim=True)  # (k, 1, W), biased: what the batch is normalized by
    rstd = torch.rsqrt(var + BN_EPS)
    zhat = centred.mul_(rstd)  # (k, B, W)
    running_mean.lerp_(mean[:, 0], momentum[:, None])
    running_var.lerp_(var[:, 0] * (B / max(1, B - 1)), momentum[:, None])
    return torch.addcmul(beta[:, None], zhat, gamma[:, None]), (zhat, rstd)


def batch_norm_backward(dy: torch.Tensor, saved: tuple, gamma: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Gradients of `batch_norm_forward`: with respect to its input `(k, B, W)`, to `gamma` and to `beta` `(k, W)`.

    `dz = gamma * rstd / B * (B * dy - sum(dy) - zhat * sum(dy * zhat))`, the sums over the batch.
    """
    zhat, rstd = saved
    B = dy.shape[1]
    dbeta = dy.sum(1)  # (k, W)
    dgamma = (dy * zhat).sum(1)  # (k, W)
    dz = dy - zhat * (dgamma / B)[:, None] - (dbeta / B)[:, None]
    return dz.mul_(gamma[:, None] * rstd), dgamma, dbeta
