"""`StackedDenseChain` stands in for an MLP's run of layers, its hand-written backward included: it computes what
the members' own torch layers compute (outputs, every gradient, running statistics, with each member's dropout
masks), in training and eval mode, whichever way the module writes its ReLU; where batch norm meets more than a
batch of vectors it runs its layers one by one. An MLP module trains in a crowd as alone."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from goodfit.nn.layers import StackedDenseChain, StackedLinear
from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.module_net import ModuleNet
from goodfit.nn.population import MemberSettings

from conftest import make_splits
from layers.reference import K, assert_trains_in_a_crowd_as_alone


class FunctionalReLU(nn.Module):
    """An MLP written with `F.relu` and `x.relu()` in `forward`, batch norm on the first layer, dropout on both."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.fc1, self.bn, self.fc2, self.head = nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Linear(16, 8), nn.Linear(8, 3)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x):
        x = self.drop1(F.relu(self.bn(self.fc1(x))))
        return self.head(self.drop2(self.fc2(x).relu()))


def sequential(dropout: float = 0.0, batchnorm: bool = False):
    norm = [nn.BatchNorm1d(16, momentum=0.3)] if batchnorm else []
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 16, bias=not batchnorm), *norm, nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(16, 8), nn.ReLU(inplace=True), nn.Linear(8, 3))


def per_position(dropout: float = 0.0, batchnorm: bool = False):
    """Linear layers on each of a sequence's positions `(B, L, features)`; batch norm there reads `L` as channels."""
    norm = [nn.BatchNorm1d(4)] if batchnorm else []
    return nn.Sequential(nn.Unflatten(1, (4, 6)), nn.Linear(6, 8), *norm, nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(8, 3), nn.Flatten(), nn.Linear(12, 3))


FACTORIES = {
    "sequential": (sequential, {}, (6,)),
    "sequential-batchnorm": (sequential, {"batchnorm": True}, (6,)),
    "functional-relu": (FunctionalReLU, {}, (6,)),
    "per-position": (per_position, {}, (24,)),
    "per-position-batchnorm": (per_position, {"batchnorm": True}, (24,)),
}


def _net(factory, kwargs: dict, sample: tuple) -> ModuleNet:
    """K members of the factory, each at its own dropout rate (0 for the first)."""
    arch = ModuleArchitecture(factory, tuple(sorted(kwargs.items())), sample, 3, factory.__name__,
                              per_member=("dropout",))
    net = ModuleNet(arch, [MemberSettings(s, dropout=0.2 * s) for s in range(K)], "cpu")
    with torch.no_grad():  # batch norm's scale and shift away from 1 and 0, its statistics from 0 and 1
        g = torch.Generator().manual_seed(1)
        for name, t in {**net.params, **net.buffers}.items():
            if t.dim() == 2 and name.endswith(("weight", "running_var")):  # a norm's (a linear weight has 3 axes)
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() == 2:
                t.add_(torch.randn(t.shape, generator=g) * 0.1)
    return net


@pytest.mark.parametrize("factory,kwargs,sample", FACTORIES.values(), ids=FACTORIES.keys())
def test_the_fused_chain_computes_what_the_members_own_layers_do(factory, kwargs, sample):
    net = _net(factory, kwargs, sample)
    assert net.path == "converted" and net.note is None
    for train in (True, False):
        (chain, _), = net.converted[train].fused.values()
        assert isinstance(chain, StackedDenseChain)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((K, 5) + sample, generator=g)
    rates = torch.tensor([0.0, 0.2, 0.4])
    masks = [(torch.rand(K, 5, size, generator=g) >= rates[:, None, None]).float() / (1 - rates[:, None, None])
             for size in net.mask_sizes()]
    for train in (True, False):
        start = {n: b.clone() for n, b in net.buffers.items()}
        fused = net.forward(x, train=train, masks=masks)
        got = torch.autograd.grad((fused * fused.detach().sin()).sum(), list(net.params.values()))
        after = {n: b.clone() for n, b in net.buffers.items()}
        for n, b in net.buffers.items():
            b.copy_(start[n])
        net.template.train(train)
        given = net._site_masks(masks) if train else [[] for _ in net.sites]
        own = net._vmapped(net.params, net.buffers, given, x)  # the members' own torch layers, one by one
        want = torch.autograd.grad((own * own.detach().sin()).sum(), list(net.params.values()))
        where = "training" if train else "eval"
        torch.testing.assert_close(fused, own, rtol=1e-5, atol=1e-6, msg=lambda m: f"{where} outputs: {m}")
        for name, a, b in zip(net.params, got, want):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=lambda m: f"{where}, gradient of {name}: {m}")
        for name, b in net.buffers.items():
            torch.testing.assert_close(after[name], b, rtol=1e-5, atol=1e-6, msg=lambda m: f"{where}, {name}: {m}")


def test_an_mlp_runs_as_one_chain_and_other_modules_fuse_what_they_can():
    assert _net(sequential, {}, (6,)).one_chain and _net(FunctionalReLU, {}, (6,)).one_chain
    positions = _net(per_position, {}, (24,))  # a linear layer after the chain, on the flattened positions
    assert not positions.one_chain and len(positions.converted[True].fused) == 1
    gelu = ModuleNet(ModuleArchitecture(lambda: nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3)), (), (6,), 3,
                                        "gelu"), [MemberSettings(0)], "cpu")
    assert not gelu.one_chain and not gelu.converted[True].fused


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x))


def test_an_mlp_module_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(MLP, make_splits("table"), StackedLinear, monkeypatch)
