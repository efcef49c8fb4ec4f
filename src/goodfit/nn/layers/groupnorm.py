"""`nn.GroupNorm` for K members at once: one group norm over the grouped channels, `K * groups` groups."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import GROUPED, Pass


class StackedGroupNorm(Counterpart):
    """`nn.GroupNorm` on grouped inputs `(B, K * C, *spatial)`: member k's groups are groups of their own."""

    replaces = (nn.GroupNorm,)
    layouts = (GROUPED,)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        gn = self.layer
        weight, bias = params.get("weight"), params.get("bias")
        return F.group_norm(x, gn.num_groups * ctx.K, None if weight is None else weight.reshape(-1),
                            None if bias is None else bias.reshape(-1), gn.eps)
