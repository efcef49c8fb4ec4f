"""`StackedFlatten` and `StackedUnflatten` compute what each member's own `nn.Flatten` / `nn.Unflatten` does,
for default, custom and negative dimensions, and a module that reshapes with them trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedFlatten, StackedUnflatten

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone

FLATTEN = {
    "default": nn.Flatten(),
    "from-2": nn.Flatten(2),
    "1-to-2": nn.Flatten(1, 2),
    "negative": nn.Flatten(-2, -1),
    "batch-and-channels": nn.Flatten(0, 1),
}
UNFLATTEN = {
    "channels": nn.Unflatten(1, (2, 3)),
    "negative": nn.Unflatten(-1, (2, 2)),
    "inferred": nn.Unflatten(2, (-1, 2)),
    "batch": nn.Unflatten(0, (2, 2)),
}


@pytest.mark.parametrize("layer", FLATTEN.values(), ids=FLATTEN.keys())
def test_stacked_flatten_matches_each_members_flatten(layer):
    x = torch.randn(K, 4, 3, 5, 2, generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedFlatten, [layer] * K, x)


@pytest.mark.parametrize("layer", UNFLATTEN.values(), ids=UNFLATTEN.keys())
def test_stacked_unflatten_matches_each_members_unflatten(layer):
    x = torch.randn(K, 4, 6, 4, generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedUnflatten, [layer] * K, x)


class ReshapingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.channel, self.conv = nn.Unflatten(1, (1, 12)), nn.Conv1d(1, 4, 3)
        self.flatten, self.head = nn.Flatten(), nn.Linear(40, 3)

    def forward(self, x):  # (B, 12)
        return self.head(self.flatten(torch.relu(self.conv(self.channel(x)))))


def test_a_module_that_flattens_and_unflattens_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(ReshapingNet, make_splits("sequence", shape=(12,)),
                                      (StackedUnflatten, StackedFlatten), monkeypatch)
