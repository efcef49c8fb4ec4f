"""`StackedLayerNorm` computes what each member's own `nn.LayerNorm` does, over one or two trailing dimensions,
with or without its scale and shift, and a module with layer norm trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedLayerNorm

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, randomized

CASES = {
    "last-dim": ((7,), (4, 7), {}),
    "last-dim-B-L": ((7,), (4, 3, 7), {}),
    "two-dims": ((3, 7), (4, 3, 7), {}),
    "no-affine": ((7,), (4, 3, 7), {"elementwise_affine": False}),
    "no-bias": ((3, 7), (4, 3, 7), {"bias": False}),
    "eps": ((7,), (4, 7), {"eps": 1e-2}),
}


@pytest.mark.parametrize("normalized,sample,setting", CASES.values(), ids=CASES.keys())
def test_stacked_layernorm_matches_each_members_layernorm(normalized, sample, setting):
    layers = [randomized(nn.LayerNorm(normalized, **setting), seed) for seed in range(K)]
    x = torch.randn((K,) + sample, generator=torch.Generator().manual_seed(0)) * 3 + 1
    assert_matches_torch(StackedLayerNorm, layers, x)


class LayerNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.norm, self.act, self.head = nn.Linear(6, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.act(self.norm(self.fc(x))))


def test_a_module_with_layer_norm_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(LayerNormNet, make_splits("table"), StackedLayerNorm, monkeypatch)
