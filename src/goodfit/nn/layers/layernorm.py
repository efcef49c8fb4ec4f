"""`nn.LayerNorm` for K members at once: each sample normalized over its last dimensions, then each member's
own scale and shift."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers.base import Counterpart
from goodfit.nn.stacked import MEMBER, Pass


class StackedLayerNorm(Counterpart):
    """`nn.LayerNorm` on member inputs `(K, B, ..., *normalized_shape)`."""

    replaces = (nn.LayerNorm,)
    layouts = (MEMBER,)

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        ln = self.layer
        out = F.layer_norm(x, ln.normalized_shape, None, None, ln.eps)
        weight, bias = params.get("weight"), params.get("bias")
        if weight is None and bias is None:
            return out
        view = (ctx.K,) + (1,) * (x.dim() - 1 - len(ln.normalized_shape)) + tuple(ln.normalized_shape)
        if weight is None:
            return out + bias.reshape(view)
        if bias is None:
            return out * weight.reshape(view)
        return torch.addcmul(bias.reshape(view), out, weight.reshape(view))
