"""What the stacked layers' tests share: the reference check of a counterpart against the torch layer it
replaces, and the crowd check of a small module built on that layer, trained by the engine.

The reference check runs K members' own torch layers, each on its own input, and the counterpart once on
all of them, in every layout it takes, in training and eval mode; outputs, gradients (w.r.t. the input and
every parameter) and buffers must agree. The crowd check trains three members together and member 1 alone.
"""
from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import stack_module_state

from goodfit.engine import Member, TrainConfig, train
from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.module_net import ModuleNet
from goodfit.nn.layers import COUNTERPARTS
from goodfit.nn.population import MemberSettings
from goodfit.nn.stacked import MEMBER, Pass, to_layout, to_member
from goodfit.remedies import Arm

K = 3
COLUMNS = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss", "test_loss", "test_accuracy"]


def randomized(layer: nn.Module, seed: int) -> nn.Module:
    """`layer` with random parameters and running statistics of its own (norm layers start all alike).

    Example:
        >>> a, b = randomized(nn.LayerNorm(4), 0), randomized(nn.LayerNorm(4), 1)
        >>> bool((a.weight == b.weight).any())
        False
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            scale_of_a_norm = name == "weight" and p.dim() == 1
            p.copy_(torch.randn(p.shape, generator=g) * 0.5 + (1.0 if scale_of_a_norm else 0.0))
        for name, b in layer.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) * 1.5 + 0.5)
    return layer


def run_members(layers: list[nn.Module], x: torch.Tensor, cotangent: torch.Tensor, train: bool):
    """Each member's own layer on its own input: outputs `(K, ...)`, input and parameter gradients, buffers."""
    own = [copy.deepcopy(layer).train(train) for layer in layers]
    outs, grads_x, grads_p = [], [], []
    for k, layer in enumerate(own):
        xk = x[k].clone().requires_grad_(x.is_floating_point())
        out = layer(xk)
        outs.append(out.detach())
        wrt = ([xk] if x.is_floating_point() else []) + [p for _, p in layer.named_parameters()]
        if wrt:
            grads = torch.autograd.grad((out * cotangent[k]).sum(), wrt)
            if x.is_floating_point():
                grads_x.append(grads[0])
                grads = grads[1:]
            grads_p.append(dict(zip([n for n, _ in layer.named_parameters()], grads)))
    buffers = {n: torch.stack([dict(layer.named_buffers())[n] for layer in own]) for n, _ in own[0].named_buffers()}
    params = {n: torch.stack([g[n] for g in grads_p]) for n in (grads_p[0] if grads_p else {})}
    return torch.stack(outs), (torch.stack(grads_x) if grads_x else None), params, buffers


def run_stacked(cls, layers: list[nn.Module], x: torch.Tensor, cotangent: torch.Tensor, train: bool, layout: str):
    """The counterpart once for all members, its input and output in `layout`: the same four things."""
    params, buffers = stack_module_state([copy.deepcopy(layer) for layer in layers])
    params = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
    buffers = {n: b.clone() for n, b in buffers.items()}
    xin = x.clone().requires_grad_(x.is_floating_point())
    out = cls(layers)(to_layout(xin, MEMBER, layout, K), layout, params, buffers, Pass(train=train, K=K))
    out = to_member(out, layout, K)
    wrt = ([xin] if x.is_floating_point() else []) + list(params.values())
    grads = torch.autograd.grad((out * cotangent).sum(), wrt) if wrt else ()
    grad_x = grads[0] if x.is_floating_point() else None
    grad_p = dict(zip(params, grads[1:] if x.is_floating_point() else grads))
    return out.detach(), grad_x, grad_p, buffers


def assert_matches_torch(cls, layers: list[nn.Module], x: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-6,
                         modes: tuple[bool, ...] = (True, False)) -> None:
    """`cls`, standing in for `layers` (one per member), computes what each member's own layer does on its
    own slice of `x (K, B, ...)`: outputs, gradients w.r.t. input and parameters, and buffers afterwards,
    in each of `cls.layouts` and each mode."""
    assert COUNTERPARTS[type(layers[0])] is cls
    assert len(layers) == K == x.shape[0]
    for train_mode in modes:
        cotangent = _cotangent(layers, x, train_mode)
        want = run_members(layers, x, cotangent, train_mode)
        for layout in cls.layouts:
            got = run_stacked(cls, layers, x, cotangent, train_mode, layout)
            where = f"{cls.__name__} in {layout} layout, {'training' if train_mode else 'eval'} mode"
            _assert_close(got[0], want[0], rtol, atol, f"{where}, output")
            if want[1] is not None:
                _assert_close(got[1], want[1], rtol, atol, f"{where}, input gradient")
            assert got[2].keys() == want[2].keys()
            for name in want[2]:
                _assert_close(got[2][name], want[2][name], rtol, atol, f"{where}, gradient of {name}")
            assert got[3].keys() == want[3].keys()
            for name in want[3]:
                _assert_close(got[3][name], want[3][name], rtol, atol, f"{where}, buffer {name}")


def _assert_close(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float, what: str) -> None:
    """Close to `rtol`, or to `atol` times the largest magnitude of `want` (at least 1): a gradient summed over
    a batch and positions carries rounding of its largest terms into its smallest entries."""
    scale = max(1.0, float(want.abs().max())) if want.numel() and want.is_floating_point() else 1.0
    torch.testing.assert_close(got, want, rtol=rtol, atol=atol * scale, msg=lambda m: f"{what}: {m}")


def _cotangent(layers, x, train_mode):
    """A fixed random weighting of the outputs, so gradients are not those of a plain sum."""
    with torch.no_grad():
        shape = copy.deepcopy(layers[0]).train(train_mode)(x[0]).shape
    return torch.randn((K,) + tuple(shape), generator=torch.Generator().manual_seed(7))


# ---- the crowd check ---------------------------------------------------------------------------------------
def assert_same_history(a, b) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a[COLUMNS].to_numpy(float), b[COLUMNS].to_numpy(float), rtol=2e-4, atol=2e-5)


def module_net(factory, splits, seeds=(0, 1, 2)) -> ModuleNet:
    arch = ModuleArchitecture(factory, (), tuple(splits.input_shape), splits.num_classes, factory.__name__)
    return ModuleNet(arch, [MemberSettings(s) for s in seeds], "cpu")


def _layer_notes(result) -> list[str]:
    """A result's notes without the engine's line on whether the population trains together or alone."""
    return [n for n in result.notes if " a step together, " not in n]


def assert_trains_in_a_crowd_as_alone(factory, splits, uses: type | tuple[type, ...], monkeypatch) -> None:
    """`factory`'s module converts (no layer under vmap) with `uses` (one counterpart or several) among its
    stacked layers; member 1 trained with members 0 and 2 has the history it has trained alone; each member's
    exported weights load into the user's own class, which then computes the population's eval outputs and
    the reported test loss.

    The engine may time a population against its members alone and cut it up when that is faster; here the
    timing always favours the population, so the three members do train together.
    """
    engine_train = importlib.import_module("goodfit.engine.train")
    monkeypatch.setattr(engine_train, "step_seconds", lambda arch, members, *args, **kwargs: float(len(members) == 1),
                        raising=False)
    net = module_net(factory, splits)
    assert (net.path, net.note) == ("converted", None)
    for mode in (True, False):
        for kind in uses if isinstance(uses, tuple) else (uses,):
            assert any(type(layer) is kind for layer in net.converted[mode].layers.values()), kind.__name__
    members = [Member(Arm("b"), seed) for seed in (0, 1, 2)]
    config = TrainConfig(epochs=3, batch_size=16)
    together = train(splits, members, factory, config)
    alone = train(splits, [members[1]], factory, config)
    assert _layer_notes(together) == [] and _layer_notes(alone) == []
    assert not any("member by member" in n for n in together.notes)
    assert_same_history(together.members[1].history, alone.members[0].history)
    a, b = (together.members[i].history[COLUMNS].to_numpy(float) for i in (0, 1))
    assert not np.allclose(a, b)  # the members differ: member 1 did not just copy member 0

    with torch.no_grad():
        for name, t in {**net.params, **net.buffers}.items():
            t.copy_(torch.stack([r.state_dict[name] for r in together.members]))
    X, y = torch.from_numpy(splits.X_test), torch.from_numpy(splits.y_test)
    predicted = net.predict(X)
    for k, result in enumerate(together.members):
        exported = net.to_module(k)
        assert type(exported) is factory
        fresh = factory()
        fresh.load_state_dict(result.state_dict)
        with torch.no_grad():
            logits = fresh.eval()(X)
        torch.testing.assert_close(predicted[k], logits, rtol=1e-5, atol=1e-5)
        assert float(F.cross_entropy(logits, y)) == pytest.approx(result.test_loss, rel=1e-5, abs=1e-6)
