"""`StackedGroupNorm` computes what each member's own `nn.GroupNorm` does, and a convolutional module with
group norm trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedGroupNorm

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, randomized

CASES = {
    "2-groups-B-C-L": (2, 6, (6, 5), {}),
    "3-groups-B-C-H-W": (3, 6, (6, 4, 5), {}),
    "one-group": (1, 4, (4, 3, 3), {}),
    "a-group-per-channel": (4, 4, (4, 3, 3), {}),
    "no-affine": (2, 6, (6, 4, 5), {"affine": False}),
    "B-C": (2, 6, (6,), {"eps": 1e-3}),
}


@pytest.mark.parametrize("groups,channels,sample,setting", CASES.values(), ids=CASES.keys())
def test_stacked_groupnorm_matches_each_members_groupnorm(groups, channels, sample, setting):
    layers = [randomized(nn.GroupNorm(groups, channels, **setting), seed) for seed in range(K)]
    x = torch.randn((K, 5) + sample, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert_matches_torch(StackedGroupNorm, layers, x)


class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(1, 4, 3, padding=1), nn.GroupNorm(2, 4)
        self.pool, self.head = nn.AdaptiveAvgPool2d(2), nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(nn.functional.silu(self.norm(self.conv(x)))), 1))


def test_a_module_with_group_norm_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(GroupNormNet, make_splits("image", shape=(1, 8, 8)), StackedGroupNorm,
                                      monkeypatch)
