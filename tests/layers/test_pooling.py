"""`StackedPooling` computes what each member's own pooling layer does, for every pooling type it stands in for
(max, average, adaptive and power-average, 1-D and 2-D), and a module that pools trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedPooling, Unstackable
from goodfit.nn.layers.pooling import POOLING

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone

LAYERS = {
    "max1d": nn.MaxPool1d(2),
    "max1d-stride-padding-ceil": nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True),
    "max1d-dilation": nn.MaxPool1d(2, dilation=2),
    "max2d": nn.MaxPool2d(2),
    "max2d-stride-padding-ceil": nn.MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True),
    "avg1d": nn.AvgPool1d(2),
    "avg1d-ceil-no-pad-count": nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    "avg2d": nn.AvgPool2d(2),
    "avg2d-ceil-no-pad-count": nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    "avg2d-divisor": nn.AvgPool2d(2, divisor_override=3),
    "adaptive-avg1d-1": nn.AdaptiveAvgPool1d(1),
    "adaptive-avg1d-uneven": nn.AdaptiveAvgPool1d(4),
    "adaptive-avg2d-1": nn.AdaptiveAvgPool2d(1),
    "adaptive-avg2d-rows-only": nn.AdaptiveAvgPool2d((3, None)),
    "adaptive-max1d": nn.AdaptiveMaxPool1d(3),
    "adaptive-max2d": nn.AdaptiveMaxPool2d((2, 3)),
    "adaptive-max2d-1": nn.AdaptiveMaxPool2d(1),
    "lp1d": nn.LPPool1d(2, 3),
    "lp1d-cubic-stride": nn.LPPool1d(3, 2, stride=1),
    "lp2d": nn.LPPool2d(2, 2),
    "lp2d-cubic-ceil": nn.LPPool2d(3, (3, 2), stride=2, ceil_mode=True),
}


def test_every_pooling_type_is_covered():
    assert {type(layer) for layer in LAYERS.values()} == set(POOLING)


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS.keys())
def test_stacked_pooling_matches_each_members_pooling_layer(layer):
    two_d = type(layer).__name__.endswith("2d")
    x = torch.randn((K, 4, 3) + ((7, 9) if two_d else (11,)), generator=torch.Generator().manual_seed(0))
    if isinstance(layer, (nn.LPPool1d, nn.LPPool2d)):
        x = x.abs() + 0.1  # a power average of negative values is not a number, in torch as here
    assert_matches_torch(StackedPooling, [layer] * K, x)


def test_pooling_that_returns_indices_is_not_stacked():
    with pytest.raises(Unstackable, match="returns indices"):
        StackedPooling([nn.MaxPool2d(2, return_indices=True) for _ in range(K)])


class PoolingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pools = nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveMaxPool2d((2, 1)))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.pools(torch.relu(self.conv(x))).flatten(1))


def test_a_module_that_pools_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(PoolingNet, make_splits("image", shape=(1, 8, 8)), StackedPooling, monkeypatch)
