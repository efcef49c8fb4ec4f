"""`StackedConv` computes what each member's own `nn.Conv1d` / `nn.Conv2d` does (stride, padding, dilation,
groups, no bias), and a small convolutional module trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedConv, Unstackable

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, randomized

SETTINGS = {
    "plain": {},
    "stride-padding": {"stride": 2, "padding": 1},
    "dilation": {"dilation": 2, "padding": 2},
    "groups-no-bias": {"groups": 2, "bias": False},
    "all": {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False},
    "same": {"padding": "same", "dilation": 2},
    "valid": {"padding": "valid", "groups": 2},
}


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
def test_stacked_conv1d_matches_each_members_conv1d(setting):
    layers = [randomized(nn.Conv1d(4, 6, 3, **setting), seed) for seed in range(K)]
    x = torch.randn(K, 5, 4, 11, generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedConv, layers, x)


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
def test_stacked_conv2d_matches_each_members_conv2d(setting):
    layers = [randomized(nn.Conv2d(4, 6, (3, 2), **setting), seed) for seed in range(K)]
    x = torch.randn(K, 5, 4, 9, 8, generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedConv, layers, x)


def test_a_padding_mode_other_than_zeros_is_not_stacked():
    with pytest.raises(Unstackable, match="padding_mode 'reflect'"):
        StackedConv([nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect") for _ in range(K)])


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.flatten, self.head = nn.Flatten(), nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.head(self.flatten(self.features(x)))


def test_a_convolutional_module_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(ConvNet, make_splits("image", shape=(1, 8, 8)), StackedConv, monkeypatch)
