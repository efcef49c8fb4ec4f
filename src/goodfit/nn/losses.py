"""The training losses of a population, per member and sample: cross-entropy for classes; MSE, MAE and
Huber for a number. Each gives its values for autograd (`per_sample`) and, for the MLP's hand-written
backward pass, its values with the gradient by the outputs (`with_grad`), with no graph.

Outputs are `(K, B, C)` (C = 1 for regression); targets are `(K, B)` labels or numbers, or under mixup
a triple `(y, y_partner, lam)`. A regression target under mixup is the mixed number
`lam * y + (1 - lam) * y_partner`; a class target mixes the two losses, which is the same for
cross-entropy. A class target may also be a float `(K, B, C)` of target weights (`target_weights`):
a distribution over the classes (label smoothing), scaled by the sample's weight (class weights); the
cross-entropy is then `-sum_c q_c log p_c`, whose gradient by the outputs is `sum(q) * softmax - q`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

CLASSIFICATION_LOSSES = ("cross_entropy",)
REGRESSION_LOSSES = ("mse", "mae", "huber")
LOSSES = CLASSIFICATION_LOSSES + REGRESSION_LOSSES


@dataclass(frozen=True)
class Loss:
    """One of `LOSSES` by name.

    Example:
        >>> out, y = torch.tensor([[[1.0], [0.0]]]), torch.tensor([[0.5, 2.0]])
        >>> Loss("mse").per_sample(out, y).tolist(), Loss("huber").per_sample(out, y).tolist()
        ([[0.25, 4.0]], [[0.125, 1.5]])
        >>> values, grad = Loss("mae").with_grad(out, y); grad[..., 0].tolist()
        [[1.0, -1.0]]
    """

    name: str = "cross_entropy"

    @property
    def regression(self) -> bool:
        return self.name in REGRESSION_LOSSES

    def per_sample(self, out: torch.Tensor, targets) -> torch.Tensor:
        """The loss of each member's samples `(K, B)`, differentiable."""
        if not self.regression:
            K, B, C = out.shape
            if _dense(targets):
                return -(targets * torch.log_softmax(out, -1)).sum(-1)
            flat = out.reshape(K * B, C)
            if isinstance(targets, tuple):
                y, y2, lam = targets
                lam = lam.reshape(-1)
                per = (lam * F.cross_entropy(flat, y.reshape(-1), reduction="none")
                       + (1 - lam) * F.cross_entropy(flat, y2.reshape(-1), reduction="none"))
            else:
                per = F.cross_entropy(flat, targets.reshape(-1), reduction="none")
            return per.reshape(K, B)
        error = out[..., 0] - _number(targets)
        if self.name == "mse":
            return error.square()
        if self.name == "mae":
            return error.abs()
        return F.huber_loss(error, torch.zeros_like(error), reduction="none", delta=1.0)

    def with_grad(self, out: torch.Tensor, targets) -> tuple[torch.Tensor, torch.Tensor]:
        """The losses `(K, B)` and their gradient by `out` `(K, B, C)`, per sample (not yet averaged), no graph."""
        with torch.no_grad():
            if not self.regression:
                lse = torch.logsumexp(out, -1, keepdim=True)  # (K, B, 1)
                grad = torch.exp_(out - lse)  # the softmax, then minus the targets
                if _dense(targets):  # a sample's target weights sum to its weight (1 without class weights)
                    mass = targets.sum(-1, keepdim=True)  # (K, B, 1)
                    return (lse * mass - (targets * out).sum(-1, keepdim=True))[..., 0], grad.mul_(mass).sub_(targets)
                if isinstance(targets, tuple):
                    y, y2, lam = targets
                    lam = lam.reshape(lse.shape)
                    losses = lse - lam * out.gather(-1, y[..., None]) - (1 - lam) * out.gather(-1, y2[..., None])
                    grad.scatter_add_(-1, y[..., None], -lam).scatter_add_(-1, y2[..., None], lam - 1)
                else:
                    losses = lse - out.gather(-1, targets[..., None])
                    grad.scatter_add_(-1, targets[..., None], torch.full_like(lse, -1.0))
                return losses[..., 0], grad
            error = out[..., 0] - _number(targets)
            if self.name == "mse":
                return error.square(), (2 * error)[..., None]
            if self.name == "mae":
                return error.abs(), error.sign()[..., None]
            small = error.abs() <= 1.0
            losses = torch.where(small, 0.5 * error.square(), error.abs() - 0.5)
            return losses, error.clamp(-1.0, 1.0)[..., None]


def _dense(targets) -> bool:
    return torch.is_tensor(targets) and targets.dim() == 3


def target_weights(targets, num_classes: int) -> torch.Tensor:
    """Class targets as float target weights `(K, B, C)`: one-hot labels, the mixup mix, or as given.

    Example:
        >>> target_weights(torch.tensor([[2, 0]]), 3).tolist()
        [[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]
        >>> y, y2, lam = torch.tensor([[0]]), torch.tensor([[1]]), torch.tensor([[0.75]])
        >>> target_weights((y, y2, lam), 2).tolist()
        [[[0.75, 0.25]]]
    """
    if _dense(targets):
        return targets
    if isinstance(targets, tuple):
        y, y2, lam = targets
        lam = lam[..., None]
        return lam * F.one_hot(y, num_classes) + (1 - lam) * F.one_hot(y2, num_classes)
    return F.one_hot(targets, num_classes).float()


def _number(targets) -> torch.Tensor:
    """A regression target `(K, B)`: as given, or mixed under mixup."""
    if isinstance(targets, tuple):
        y, y2, lam = targets
        return lam * y + (1 - lam) * y2
    return targets
