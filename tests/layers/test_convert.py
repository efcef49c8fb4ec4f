"""A user's module converted into a graph of stacked layers computes, for every member, what the module itself
computes with that member's state (outputs, gradients, running statistics; training and eval mode): residual
additions, concatenations, reshapes, functional pooling and parameters used in `forward` run in the graph; a
submodule that does not trace is kept whole, and an LSTM runs member by member, each saying so."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.module_net import ModuleNet
from goodfit.nn.layers import StackedBatchNorm, StackedConv
from goodfit.nn.population import MemberSettings

K = 3


class Residual(nn.Module):
    """`relu(bn(conv(x)) + x)`, then a head."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        out = F.relu(self.bn(self.conv(x)) + x)
        return self.head(out.flatten(1))


class InPlaceResidual(nn.Module):
    """A stem, then a residual block as torchvision writes it: `out += identity` and in-place ReLUs."""

    def __init__(self):
        super().__init__()
        self.stem, self.bn0 = nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3)
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3)
        self.relu, self.head = nn.ReLU(inplace=True), nn.Linear(3 * 6 * 6, 3)

    def forward(self, x):
        identity = self.relu(self.bn0(self.stem(x)))
        out = self.bn(self.conv(identity))
        out += identity
        return self.head(torch.flatten(self.relu(out), 1))


class Branches(nn.Module):
    """Two convolution branches joined by `torch.cat([a, b], dim=1)`, flattened by `x.view(x.size(0), -1)`."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 2, 1)
        self.head = nn.Linear(5 * 6 * 6, 3)

    def forward(self, x):
        x = torch.cat([self.a(x), torch.tanh(self.b(x))], dim=1)
        return self.head(x.view(x.size(0), -1))


class GlobalPool(nn.Module):
    """`F.adaptive_avg_pool2d(x, 1)`, then `torch.flatten(x, 1)`."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(2, 4, 3), nn.Linear(4, 3)

    def forward(self, x):
        return self.head(torch.flatten(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1), 1))


class Scaled(nn.Module):
    """Parameters used in `forward` directly: `self.scale * x` and `x + self.shift`."""

    def __init__(self):
        super().__init__()
        self.scale, self.shift = nn.Parameter(torch.randn(2, 1, 1)), nn.Parameter(torch.randn(2, 6, 6))
        self.head = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.scale * x + self.shift, 1))


class Gate(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return -x


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.gate, self.head = nn.Conv1d(1, 2, 3), Gate(), nn.Linear(8, 3)

    def forward(self, x):  # (B, 6)
        h = torch.relu(self.conv(x.unsqueeze(1))).flatten(1)  # (B, 8)
        return self.head(self.gate(h))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(1, 5, batch_first=True), nn.Linear(5, 3)

    def forward(self, x):  # (B, 6)
        out, _ = self.lstm(x.unsqueeze(-1))
        return self.head(out[:, -1])


IMAGE, SEQUENCE = (2, 6, 6), (6,)
CASES = {  # module, sample shape, stacked layers it must hold, layers kept whole (and how they run), its note
    "residual": (Residual, IMAGE, (StackedConv, StackedBatchNorm), {}, None),
    "in-place-residual": (InPlaceResidual, IMAGE, (StackedConv, StackedBatchNorm), {}, None),
    "cat-and-view": (Branches, IMAGE, (StackedConv,), {}, None),
    "functional-pool-and-flatten": (GlobalPool, IMAGE, (StackedConv,), {}, None),
    "parameter-in-forward": (Scaled, IMAGE, (), {}, None),
    # vmap refuses a Python `if` on a tensor, so the kept submodule runs member by member
    "control-flow": (Gated, SEQUENCE, (StackedConv,), {"gate": "members"},
                     "model factory Gated: layer gate (Gate) has no stacked counterpart and runs member by member: "
                     "vmap failed: it looks like you're attempting to use a Tensor in some data-dependent control "
                     "flow"),
    "lstm": (Recurrent, SEQUENCE, (), {"lstm": "members"},
             "model factory Recurrent: layer lstm (LSTM) has no stacked counterpart and runs member by member: "
             "vmap cannot batch aten::lstm.input"),
}


def _net(factory, sample) -> ModuleNet:
    arch = ModuleArchitecture(factory, (), sample, 3, factory.__name__)
    return ModuleNet(arch, [MemberSettings(s) for s in range(K)], "cpu")


def _per_member(factory, net: ModuleNet, x: torch.Tensor, train: bool):
    """The user's own module on each member's state and input: outputs `(K, B, 3)`, parameter gradients of the
    summed outputs, and buffers after the pass."""
    module = factory().train(train)
    outs, grads, buffers = [], [], []
    for k in range(K):
        params = {n: p[k].detach().clone().requires_grad_(True) for n, p in net.params.items()}
        mine = {n: b[k].clone() for n, b in net.buffers.items()}
        out = functional_call(module, (params, mine), (x[k],))
        grads.append(torch.autograd.grad(out.square().sum(), list(params.values())))
        outs.append(out.detach())
        buffers.append(mine)
    stacked_grads = [torch.stack(g) for g in zip(*grads)]
    return torch.stack(outs), stacked_grads, {n: torch.stack([b[n] for b in buffers]) for n in net.buffers}


@pytest.mark.parametrize("factory,sample,layers,whole,note", CASES.values(), ids=CASES.keys())
def test_the_converted_module_computes_what_the_module_does_for_every_member(factory, sample, layers, whole, note):
    net = _net(factory, sample)
    assert (net.path, net.note) == ("converted", note)
    for train in (True, False):
        held = [type(layer) for layer in net.converted[train].layers.values()]
        assert all(kind in held for kind in layers)
        assert {o.target: o.way for o in net.converted[train].opaque} == whole
    x = torch.randn((K, 5) + sample, generator=torch.Generator().manual_seed(0))
    for train in (True, False):
        want, want_grads, want_buffers = _per_member(factory, net, x, train)
        before = {n: b.clone() for n, b in net.buffers.items()}
        out = net.forward(x, train=train)
        grads = torch.autograd.grad(out.square().sum(), list(net.params.values()))
        where = "training" if train else "eval"
        torch.testing.assert_close(out.detach(), want, rtol=1e-5, atol=1e-5, msg=lambda m: f"{where} outputs: {m}")
        for name, got, expected in zip(net.params, grads, want_grads):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=lambda m: f"{where}, {name}: {m}")
        for name in net.buffers:
            torch.testing.assert_close(net.buffers[name], want_buffers[name], rtol=1e-5, atol=1e-6)
            if not train:
                assert torch.equal(net.buffers[name], before[name])
