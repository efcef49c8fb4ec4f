"""`nn.BatchNorm1d` and `nn.BatchNorm2d` for K members at once: each member's channels normalized over its own
batch, with its own running statistics, in one call of torch's batch norm over the grouped channels."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import GROUPED, Pass


class StackedBatchNorm(Counterpart):
    """`nn.BatchNorm1d` / `nn.BatchNorm2d` on grouped inputs `(B, K * C, *spatial)`.

    A member's channels are channels of their own in the grouped tensor, so torch's batch norm over
    `K * C` channels takes each member's statistics over its own batch and updates its own running
    statistics `(K, C)` in place, as the members' own layers would. `momentum=None` (a cumulative
    average) reads the batch count once a step.
    """

    replaces = (nn.BatchNorm1d, nn.BatchNorm2d)
    layouts = (GROUPED,)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        bn = self.layer
        mean, var = buffers.get("running_mean"), buffers.get("running_var")
        use_batch = ctx.train or mean is None
        momentum = 0.0 if bn.momentum is None else bn.momentum
        if ctx.train and mean is not None:
            count = buffers["num_batches_tracked"]
            count.add_(1)
            if bn.momentum is None:
                momentum = 1.0 / float(count[0])
        weight, bias = params.get("weight"), params.get("bias")
        return F.batch_norm(x, None if mean is None else mean.view(-1), None if var is None else var.view(-1),
                            None if weight is None else weight.reshape(-1), None if bias is None else bias.reshape(-1),
                            use_batch, momentum, bn.eps)
