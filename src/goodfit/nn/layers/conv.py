"""`nn.Conv1d` and `nn.Conv2d` for K members at once: one grouped convolution, each member's channels a group."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers.base import Counterpart, Unstackable
from goodfit.nn.stacked import GROUPED, Pass


class StackedConv(Counterpart):
    """`nn.Conv1d` / `nn.Conv2d` on grouped inputs `(B, K * C_in, *spatial)`: `(B, K * C_out, *spatial')`.

    Member k's kernels `(C_out, C_in / groups, *k)` become groups `k * groups ...` of one
    convolution with `K * groups` groups. Zero padding only (another `padding_mode` is not stacked).
    """

    replaces = (nn.Conv1d, nn.Conv2d)
    layouts = (GROUPED,)

    def __init__(self, layers):
        super().__init__(layers)
        if self.layer.padding_mode != "zeros":
            raise Unstackable(f"padding_mode {self.layer.padding_mode!r} is not stacked")
        self.conv = F.conv1d if isinstance(self.layer, nn.Conv1d) else F.conv2d

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        w, c = params["weight"], self.layer
        w = w.reshape((-1,) + w.shape[2:])  # (K * C_out, C_in / groups, *k)
        bias = params.get("bias")
        return self.conv(x, w, None if bias is None else bias.reshape(-1), c.stride, c.padding, c.dilation,
                         c.groups * ctx.K)
