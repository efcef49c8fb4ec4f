"""`StackedElementwise` computes what each member's own activation does, for every activation it stands in for,
in either layout, and a module of several activations trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedElementwise
from goodfit.nn.layers.elementwise import ELEMENTWISE

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone

ACTIVATIONS = [nn.Identity(), nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.1), nn.ELU(0.7), nn.SELU(), nn.CELU(0.5),
               nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(), nn.Tanh(), nn.Sigmoid(), nn.Softplus(2.0, 5.0),
               nn.Softsign(), nn.Hardtanh(-0.5, 0.8), nn.Hardswish(), nn.Hardsigmoid(), nn.Hardshrink(0.3),
               nn.Softshrink(0.3), nn.Tanhshrink(), nn.LogSigmoid(), nn.Threshold(0.1, -1.0)]


def test_every_activation_is_covered():
    assert {type(layer) for layer in ACTIVATIONS} == set(ELEMENTWISE)


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda layer: repr(layer))
@pytest.mark.parametrize("sample", [(4, 5), (3, 4, 5)], ids=["B-C-L", "B-C-H-W"])
def test_stacked_activation_matches_each_members_activation(layer, sample):
    x = torch.randn((K, 6) + sample, generator=torch.Generator().manual_seed(0)) * 3
    assert_matches_torch(StackedElementwise, [layer] * K, x)


class ActivatedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(6, 16), nn.Linear(16, 16), nn.Linear(16, 3)
        self.act1, self.act2 = nn.SiLU(), nn.Sequential(nn.Hardswish(), nn.LeakyReLU(0.1), nn.Tanh())

    def forward(self, x):
        return self.head(self.act2(self.fc2(self.act1(self.fc1(x)))))


def test_a_module_of_activations_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(ActivatedNet, make_splits("table"), StackedElementwise, monkeypatch)
