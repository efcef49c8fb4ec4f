"""`StackedLinear` computes what each member's own `nn.Linear` does, and a module of linear layers trains in a
crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedLinear

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, randomized


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sample", [(5,), (4, 5), (2, 3, 5)], ids=["B-in", "B-L-in", "B-L-M-in"])
def test_stacked_linear_matches_each_members_linear_layer(bias, sample):
    layers = [randomized(nn.Linear(5, 7, bias=bias), seed) for seed in range(K)]
    x = torch.randn((K, 6) + sample[:-1] + (5,), generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedLinear, layers, x)


class LinearNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16, bias=False), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x))


def test_a_module_of_linear_layers_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(LinearNet, make_splits("table"), StackedLinear, monkeypatch)
