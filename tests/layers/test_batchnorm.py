"""`StackedBatchNorm` computes what each member's own `nn.BatchNorm1d` / `nn.BatchNorm2d` does, its running
statistics included, and a module with batch norm trains in a crowd as alone."""
import pytest
import torch
from torch import nn

from goodfit.nn.layers import StackedBatchNorm

from conftest import make_splits
from layers.reference import K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, randomized

SETTINGS = {
    "default": {},
    "no-affine": {"affine": False},
    "no-running-stats": {"track_running_stats": False},
    "cumulative-average": {"momentum": None},
    "momentum-eps": {"momentum": 0.3, "eps": 1e-3},
}


def _members(kind, channels: int, setting: dict, batches_tracked: int = 4) -> list[nn.Module]:
    """K batch norms with their own parameters and running statistics, having seen `batches_tracked` batches."""
    layers = [randomized(kind(channels, **setting), seed) for seed in range(K)]
    for layer in layers:
        if layer.num_batches_tracked is not None:
            layer.num_batches_tracked.fill_(batches_tracked)
    return layers


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("sample", [(5,), (5, 7)], ids=["B-C", "B-C-L"])
def test_stacked_batchnorm1d_matches_each_members_batchnorm1d(setting, sample):
    x = torch.randn((K, 6) + sample, generator=torch.Generator().manual_seed(0)) * 2 + 1
    assert_matches_torch(StackedBatchNorm, _members(nn.BatchNorm1d, 5, setting), x)


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
def test_stacked_batchnorm2d_matches_each_members_batchnorm2d(setting):
    x = torch.randn(K, 4, 3, 5, 6, generator=torch.Generator().manual_seed(0)) * 2 + 1
    assert_matches_torch(StackedBatchNorm, _members(nn.BatchNorm2d, 3, setting), x)


def test_a_cumulative_average_on_its_first_batch_takes_that_batchs_statistics():
    x = torch.randn(K, 6, 5, generator=torch.Generator().manual_seed(0))
    assert_matches_torch(StackedBatchNorm, _members(nn.BatchNorm1d, 5, {"momentum": None}, batches_tracked=0), x,
                         modes=(True,))


class NormedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.bn, self.head = nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.fc(x))))


def test_a_module_with_batch_norm_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(NormedNet, make_splits("table"), StackedBatchNorm, monkeypatch)
