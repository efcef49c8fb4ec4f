"""The stacked layers, one file each, and which torch layer each stands in for (`COUNTERPARTS`); a fused chain
(`StackedDenseChain`) stands in for an MLP's run of them."""
from goodfit.nn.layers.base import Counterpart, Unstackable
from goodfit.nn.layers.batchnorm import StackedBatchNorm
from goodfit.nn.layers.conv import StackedConv
from goodfit.nn.layers.dense import StackedDenseChain
from goodfit.nn.layers.dropout import MemberDropout, StackedDropout
from goodfit.nn.layers.elementwise import StackedElementwise
from goodfit.nn.layers.embedding import StackedEmbedding
from goodfit.nn.layers.flatten import StackedFlatten, StackedUnflatten
from goodfit.nn.layers.groupnorm import StackedGroupNorm
from goodfit.nn.layers.layernorm import StackedLayerNorm
from goodfit.nn.layers.linear import StackedLinear, stacked_linear
from goodfit.nn.layers.pooling import StackedPooling

STACKED = (StackedLinear, StackedConv, StackedBatchNorm, StackedLayerNorm, StackedGroupNorm, StackedDropout,
           StackedPooling, StackedFlatten, StackedUnflatten, StackedEmbedding, StackedElementwise)
COUNTERPARTS: dict[type, type] = {kind: cls for cls in STACKED for kind in cls.replaces}

__all__ = (["COUNTERPARTS", "Counterpart", "MemberDropout", "StackedDenseChain", "Unstackable", "stacked_linear"]
           + [c.__name__ for c in STACKED])
