"""`nn.Embedding` for K members at once: one lookup in the members' tables laid end to end."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers.base import Counterpart, Unstackable
from goodfit.nn.stacked import MEMBER, Pass


class StackedEmbedding(Counterpart):
    """`nn.Embedding` on member indices `(K, B, ...)`: `(K, B, ..., dim)`.

    Member k's index i reads row `k * num_embeddings + i` of the tables laid end to end. The row at
    `padding_idx` is read as it is (torch starts it at zero, but a user may set it) and gets no
    gradient, as in torch: where an index is the padding index, its output is cut from the graph.
    """

    replaces = (nn.Embedding,)
    layouts = (MEMBER,)

    def __init__(self, layers):
        super().__init__(layers)
        if self.layer.max_norm is not None or self.layer.sparse:
            raise Unstackable("an embedding with max_norm or sparse gradients is not stacked")

    def __call__(self, x, layout, params, buffers, ctx: Pass):
        weight = params["weight"]  # (K, V, D)
        K, V = weight.shape[:2]
        offsets = (torch.arange(K, device=x.device) * V).reshape((K,) + (1,) * (x.dim() - 1))
        out = F.embedding(x + offsets, weight.reshape(K * V, -1), scale_grad_by_freq=self.layer.scale_grad_by_freq)
        pad = self.layer.padding_idx
        return out if pad is None else torch.where((x == pad).unsqueeze(-1), out.detach(), out)
