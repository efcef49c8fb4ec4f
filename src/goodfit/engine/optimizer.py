"""The optimizer of a population: one fused Adam (or SGD with momentum 0.9) over the stacked parameters,
called straight on torch's fused kernels, its state stacked by member so that members leave with a `take`.

The kernels and their arguments are those `torch.optim.Adam(fused=True)` and `torch.optim.SGD(fused=True)`
call, so a member moves exactly as under them (`tests/test_engine.py` holds it to both); constructing a
`torch.optim` optimizer first imports `torch._dynamo`, a second of start-up on two cores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from goodfit.engine.config import TrainConfig

BETAS, EPS, MOMENTUM = (0.9, 0.999), 1e-8, 0.9  # torch.optim's defaults, and goodfit's SGD momentum


@dataclass
class FusedOptimizer:
    """Adam or SGD state for stacked parameters `(K, ...)`; `step` moves every member at once.

    Example:
        >>> p = torch.ones(2, 3, requires_grad=True)
        >>> p.grad = torch.ones(2, 3)
        >>> opt = FusedOptimizer.over([p], TrainConfig(lr=0.1))
        >>> opt.step()
        >>> round(p[0, 0].item(), 4)
        0.9
    """

    kind: str
    lr: float
    params: list
    moments: list  # Adam: first moments; SGD: momentum buffers (None before the first step)
    squares: list  # Adam: second moments
    steps: list  # Adam: steps taken, a float32 scalar per parameter, as torch.optim keeps it

    @classmethod
    def over(cls, params: list[torch.Tensor], config: TrainConfig) -> "FusedOptimizer":
        if config.optimizer == "sgd":
            return cls("sgd", config.lr, params, [None] * len(params), [], [])
        zeros = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        return cls("adam", config.lr, params, zeros, [torch.zeros_like(p) for p in params],
                   [torch.zeros((), dtype=torch.float32, device=p.device) for p in params])

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if self.kind == "sgd":
            first = self.moments[0] is None
            if first:
                self.moments = [torch.empty_like(g) for g in grads]
            torch._fused_sgd_(self.params, grads, self.moments, weight_decay=0.0, momentum=MOMENTUM, lr=self.lr,
                              dampening=0.0, nesterov=False, maximize=False, is_first_step=first)
            return
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(self.params, grads, self.moments, self.squares, [], self.steps, lr=self.lr,
                           beta1=BETAS[0], beta2=BETAS[1], weight_decay=0.0, eps=EPS, amsgrad=False, maximize=False)

    def select(self, params: list[torch.Tensor], keep: np.ndarray) -> "FusedOptimizer":
        """The state of the members at positions `keep`, over their new stacked `params`."""
        index = torch.as_tensor(keep, device=params[0].device)
        moments = [None if m is None else m[index] for m in self.moments]
        return FusedOptimizer(self.kind, self.lr, params, moments, [s[index] for s in self.squares],
                              [s.clone() for s in self.steps])
