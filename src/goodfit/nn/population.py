"""goodfit's built-in models: their shapes (`Architecture`), each as an ordinary `nn.Sequential`
(`build_module`, `ModuleFactory`), and the MLP's population stacked by hand (`PopulationNet`).

The CNNs train as ordinary modules, converted like a user's (`goodfit.nn.convert`). The MLP keeps a
population written out here: its step runs without autograd (`train_step`), 1.3x faster than the
same MLP converted. It exports a member as the same `nn.Sequential`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.batchnorm import BN_EPS, batch_norm_backward, batch_norm_forward, stacked_batch_norm
from goodfit.nn.losses import Loss

ARCHS = ("mlp", "cnn1d", "cnn2d")
# Built-in models stacked by hand here: an MLP population's step is written out without autograd
# (`train_step`), 1.3x faster than the same MLP converted as a module. The CNNs train as ordinary
# modules (`ModuleFactory`), converted as a user's are.
HAND_WRITTEN = ("mlp",)


@dataclass(frozen=True)
class Architecture:
    """The shape of a network: builder, hidden width, hidden depth, input and output sizes.

    Args:
        arch: `mlp`, `cnn1d` or `cnn2d`.
        width: hidden units per layer (MLP) or channels per convolution block (CNN).
        depth: hidden layers (MLP) or convolution blocks (CNN).
        input_shape: one sample's shape: `(D,)`, `(L,)` or `(C, H, W)`.
        num_classes: outputs per sample: the classes, or 1 for a regression target.

    Example:
        >>> Architecture("mlp", 256, 2, (64,), 10).num_params()
        85002
    """

    arch: str
    width: int
    depth: int
    input_shape: tuple
    num_classes: int

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise GoodfitError(f"model {self.arch!r} is unknown; use one of {', '.join(ARCHS)} or auto")
        if self.width < 1 or self.depth < 1:
            raise GoodfitError(f"model width and depth must be >= 1, got width {self.width}, depth {self.depth}")
        if self.arch == "cnn1d" and len(self.input_shape) not in (1, 2):
            raise GoodfitError(f"cnn1d needs sequences (N, L), got samples of shape {self.input_shape}; use --model mlp")
        if self.arch == "cnn2d" and len(self.input_shape) != 3:
            raise GoodfitError(f"cnn2d needs images (N, C, H, W), got samples of shape {self.input_shape}; use --model mlp")

    def to_dict(self) -> dict:
        return {**asdict(self), "input_shape": list(self.input_shape)}

    def make_net(self, members: list["MemberSettings"], device) -> "PopulationNet":
        return PopulationNet(self, members, device)

    @property
    def in_channels(self) -> int:
        return 1 if len(self.input_shape) == 1 else self.input_shape[0]

    def feature_size(self, channels: int) -> int:
        """Inputs to the head: the last hidden width (MLP) or channels times the final spatial size."""
        if self.arch == "mlp":
            return channels
        size = list(self.input_shape[-1:] if self.arch == "cnn1d" else self.input_shape[-2:])
        for _ in range(self.depth):
            size = [(s + 1) // 2 if self.arch == "cnn1d" else max(1, s // 2) for s in size]
        return channels * math.prod(size)

    def num_params(self, width_fraction: float = 1.0, batchnorm: bool = False) -> int:
        """Parameters of one member with the given fraction of hidden units active."""
        return sum(p.numel() for p in to_module_shapes(self, active_width(self.width, width_fraction), batchnorm))


def active_width(width: int, fraction: float) -> int:
    return max(1, int(round(width * fraction)))


def to_module_shapes(arch: Architecture, units: int, batchnorm: bool) -> list[torch.Tensor]:
    return list(_empty_module(arch, units, batchnorm, 0.0).parameters())


def _empty_module(arch: Architecture, units: int, batchnorm: bool, dropout: float,
                  momentum: float = 0.1) -> nn.Sequential:
    """The plain-PyTorch network of one member, as torch initializes it."""
    layers: list[nn.Module] = []
    if arch.arch == "mlp":
        layers.append(nn.Flatten())
        fan_in = math.prod(arch.input_shape)
        for _ in range(arch.depth):
            layers += [nn.Linear(fan_in, units)] + ([nn.BatchNorm1d(units, BN_EPS, momentum)] if batchnorm else [])
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            fan_in = units
    else:
        conv, norm, drop = ((nn.Conv1d, nn.BatchNorm1d, nn.Dropout1d) if arch.arch == "cnn1d"
                            else (nn.Conv2d, nn.BatchNorm2d, nn.Dropout2d))
        if arch.arch == "cnn1d" and len(arch.input_shape) == 1:
            layers.append(nn.Unflatten(1, (1, arch.input_shape[0])))
        channels, size = arch.in_channels, list(arch.input_shape[-2:])
        for _ in range(arch.depth):
            # batch norm cancels a convolution's bias: its true gradient is zero, and Adam would turn the
            # rounding noise in it into full-size steps (which differ between a member alone and in a crowd)
            if arch.arch == "cnn1d":
                layers.append(conv(channels, units, 5, stride=2, padding=2, bias=not batchnorm))
            else:
                layers.append(conv(channels, units, 3, padding=1, bias=not batchnorm))
            layers += ([norm(units, BN_EPS, momentum)] if batchnorm else []) + [nn.ReLU(), drop(dropout)]
            if arch.arch == "cnn2d" and min(size) >= 2:
                layers.append(nn.MaxPool2d(2))
                size = [s // 2 for s in size]
            channels = units
        layers.append(nn.Flatten())
    layers.append(nn.Linear(arch.feature_size(units), arch.num_classes))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class MemberSettings:
    """What may differ between members of one population.

    Args:
        seed: seeds the member's generator: its initialization, minibatch order and masks.
        dropout: dropout rate. Default 0.
        batchnorm: batch norm on. Default False.
        width: fraction of hidden units active. Default 1.
        bn_momentum: running-statistics momentum. Default 0.1.
    """

    seed: int
    dropout: float = 0.0
    batchnorm: bool = False
    width: float = 1.0
    bn_momentum: float = 0.1


class PopulationNet:
    """K networks of one `Architecture`, their parameters stacked on a leading member axis.

    Args:
        arch: the shared architecture.
        members: one `MemberSettings` per member.
        device: where the tensors live. Default cpu.

    Example:
        >>> net = PopulationNet(Architecture("mlp", 8, 1, (3,), 2), [MemberSettings(0), MemberSettings(1)])
        >>> net.forward(torch.zeros(2, 5, 3), train=True).shape
        torch.Size([2, 5, 2])
    """

    note: str | None = None  # always trains as asked; a user's module may not (`ModuleNet.note`)

    def __init__(self, arch: Architecture, members: list[MemberSettings], device: str | torch.device = "cpu"):
        if arch.arch not in HAND_WRITTEN:
            raise ValueError(f"{arch.arch} trains as an ordinary module (ModuleFactory), not as a PopulationNet")
        self.arch, self.members, self.device = arch, list(members), torch.device(device)
        self.K = len(self.members)
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in self.members]
        self.units = [active_width(arch.width, m.width) for m in self.members]
        self.width = max(self.units)  # units the stacked tensors hold: the widest member's
        self.any_bn = any(m.batchnorm for m in self.members)
        self.params, self.buffers = self._initial_state()
        self._settings_tensors()

    # ---- construction -------------------------------------------------------------------------
    def _layer_shapes(self, W: int) -> list[tuple[str, tuple]]:
        """(name, per-member weight shape with `W` hidden units) of each weighted layer."""
        a, fan, shapes = self.arch, math.prod(self.arch.input_shape), []
        for i in range(a.depth):
            shapes.append((f"hidden{i}", (fan, W)))
            fan = W
        return shapes + [("head", (W, a.num_classes))]

    def _initial_state(self) -> tuple[dict, dict]:
        """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) per member, as torch.nn's layers, from each member's generator.

        The fan-in counts only the member's active units, so a shrunk member starts exactly as a
        narrower network would. Each member draws the architecture's full shapes, which are then
        cut to the population's width: a member's weights do not depend on who else trains.
        """
        shapes = self._layer_shapes(self.arch.width)
        weights = {f"{n}.weight": [] for n, _ in shapes} | {f"{n}.bias": [] for n, _ in shapes}
        for k, g in enumerate(self.generators):
            units = self.units[k]
            for idx, (name, shape) in enumerate(shapes):
                bound = 1.0 / math.sqrt(math.prod(self.arch.input_shape) if idx == 0 else units)
                w = (torch.rand(shape, generator=g) * 2 - 1) * bound
                b = (torch.rand(shape[-1], generator=g) * 2 - 1) * bound
                weights[f"{name}.weight"].append(self._cut(name, w, idx == 0))
                weights[f"{name}.bias"].append(b if name == "head" else b[:self.width])
        params = {n: torch.stack(v).to(self.device) for n, v in weights.items()}
        self._silence_inactive_units(params)
        buffers = {}
        if self.any_bn:
            for i in range(self.arch.depth):
                params[f"norm{i}.weight"] = torch.ones(self.K, self.width, device=self.device)
                params[f"norm{i}.bias"] = torch.zeros(self.K, self.width, device=self.device)
                buffers[f"norm{i}.running_mean"] = torch.zeros(self.K, self.width, device=self.device)
                buffers[f"norm{i}.running_var"] = torch.ones(self.K, self.width, device=self.device)
        for p in params.values():
            p.requires_grad_(True)
        return params, buffers

    def _cut(self, name: str, w: torch.Tensor, first: bool) -> torch.Tensor:
        """A weight drawn at the architecture's width, cut to the population's `width`."""
        W = self.width
        if name == "head":
            return w[:W]
        return w[:, :W] if first else w[:W, :W]

    def _silence_inactive_units(self, params: dict) -> None:
        """Zero every weight into and out of a shrunk member's inactive units (in place).

        An inactive unit then outputs exactly 0, so relu passes it no gradient, every weight that
        touches it gets a zero gradient, and Adam, SGD, both weight decays and batch norm leave it
        at zero: a shrunk member trains exactly as the narrower network, with no mask per step.
        """
        for k, units in enumerate(self.units):
            if units == self.width:
                continue
            for i in range(self.arch.depth):
                w = params[f"hidden{i}.weight"][k]
                w[:, units:] = 0
                if i > 0:
                    w[units:] = 0
                params[f"hidden{i}.bias"][k, units:] = 0
            params["head.weight"][k, units:] = 0

    def _settings_tensors(self) -> None:
        d = self.device
        self.bn_on = torch.tensor([m.batchnorm for m in self.members], device=d)  # (K,)
        self.bias_on = (~self.bn_on)[:, None].float()  # (K, 1): batch norm cancels a hidden layer's bias
        self.bn_rows = torch.tensor([k for k, m in enumerate(self.members) if m.batchnorm], dtype=torch.long, device=d)
        self.all_bn = len(self.bn_rows) == self.K
        self.momentum = torch.tensor([m.bn_momentum for m in self.members], device=d)
        self.any_dropout = any(m.dropout > 0 for m in self.members)

    def decay_mask(self, include_bias_and_norm: bool) -> dict[str, bool]:
        """Which parameters weight decay acts on: weights always, biases and norms on request."""
        return {n: n.endswith(".weight") and not n.startswith("norm") or include_bias_and_norm for n in self.params}

    # ---- forward ------------------------------------------------------------------------------
    def _norm(self, i: int, h: torch.Tensor, train: bool, dims: tuple, view: tuple, on: torch.Tensor) -> torch.Tensor:
        return stacked_batch_norm(h, self.params[f"norm{i}.weight"], self.params[f"norm{i}.bias"],
                                  self.buffers[f"norm{i}.running_mean"], self.buffers[f"norm{i}.running_var"],
                                  on, self.momentum, train, dims, view)

    def _hidden_bias(self, layer: str) -> torch.Tensor:
        """A hidden layer's bias `(K, W)`, zero for members with batch norm.

        Batch norm cancels the bias, so its true gradient is zero; left in, Adam would turn
        rounding noise in that gradient into full-size steps.
        """
        bias = self.params[f"{layer}.bias"]
        return bias * self.bias_on if self.any_bn else bias

    def forward(self, x: torch.Tensor, train: bool, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Logits `(K, B, classes)` for inputs `(K, B, *sample)` (each member its own batch).

        Args:
            x: the members' batches.
            train: batch statistics and running-statistics updates in batch norm.
            masks: per hidden layer a float `(K, B, W)` dropout scale (0 for a dropped unit, else
                1 / keep-probability), as the engine draws them; None disables dropout.
        """
        K, B = x.shape[:2]
        p = self.params
        dropout = masks is not None and self.any_dropout
        h = x.reshape(K, B, -1)  # (K, B, D)
        for i in range(self.arch.depth):
            h = torch.baddbmm(self._hidden_bias(f"hidden{i}")[:, None], h, p[f"hidden{i}.weight"])  # (K, B, W)
            if self.any_bn:
                h = self._norm(i, h, train, (1,), (self.K, 1, -1), self.bn_on[:, None, None])
            h = torch.relu_(h)  # in place: neither baddbmm nor batch norm keeps its output for backward
            if dropout:
                h = h * masks[i]
        return torch.baddbmm(p["head.bias"][:, None], h, p["head.weight"])  # (K, B, C)

    hand_backward = True  # `train_step` writes the gradients out by hand (batch norm included)

    def train_step(self, x: torch.Tensor, targets, masks: list[torch.Tensor] | None = None,
                   loss: Loss = Loss()) -> torch.Tensor:
        """One training step's forward and backward pass of an MLP population, without autograd.

        Writes each parameter's `.grad` (reusing the tensors) and returns the members' mean
        loss `(K,)`. The gradient is autograd's, with fewer operations and no graph: a
        hidden unit passes gradient where its output (after relu and dropout) is positive, scaled
        by its dropout scale; batch norm runs on the rows of the members that use it
        (`batch_norm_backward`); the loss's gradient by the outputs is `loss.with_grad`'s (for
        cross-entropy the softmax minus the target distribution). Needs `hand_backward`.

        Args:
            x: the members' batches `(K, B, *sample)`.
            targets: labels or numbers `(K, B)`, or `(y, y_partner, lam)` under mixup.
            masks: per hidden layer a float `(K, B, W)` dropout scale (0 or 1 / keep-probability), or None.
            loss: the training loss. Default cross-entropy.
        """
        K, B = x.shape[:2]
        p = self.params
        with torch.no_grad():
            hs, norms = [x.reshape(K, B, -1)], []
            dropout = masks is not None and self.any_dropout
            for i in range(self.arch.depth):
                h = torch.baddbmm(self._hidden_bias(f"hidden{i}")[:, None], hs[-1], p[f"hidden{i}.weight"])  # (K, B, W)
                if self.any_bn:
                    h, saved = self._norm_rows(i, h)
                    norms.append(saved)
                h.relu_()
                if dropout:
                    h.mul_(masks[i])
                hs.append(h)
            logits = torch.baddbmm(p["head.bias"][:, None], hs[-1], p["head.weight"])  # (K, B, C)
            losses, grad = loss.with_grad(logits, targets)  # (K, B), (K, B, C)
            grad.mul_(1.0 / B)
            names = [f"hidden{i}" for i in range(self.arch.depth)] + ["head"]
            for i in range(len(names) - 1, -1, -1):
                w = p[f"{names[i]}.weight"]
                if i < len(names) - 1 and self.any_bn:
                    grad = self._norm_rows_backward(i, grad, norms[i])
                torch.bmm(hs[i].transpose(1, 2), grad, out=_grad_of(w))
                torch.sum(grad, 1, out=_grad_of(p[f"{names[i]}.bias"]))
                if i < len(names) - 1 and self.any_bn:
                    p[f"{names[i]}.bias"].grad.mul_(self.bias_on)  # batch norm cancels the bias
                if i > 0:
                    grad = torch.bmm(grad, w.transpose(1, 2))
                    if dropout:
                        grad.mul_(masks[i - 1])
                    # a unit passes gradient where its output is positive: relu's and dropout's gate at once
                    grad = torch.ops.aten.threshold_backward(grad, hs[i], 0)
        return losses.mean(1)

    def _norm_rows(self, i: int, h: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Training batch norm of layer `i` on the batch-norm members' rows of `h` `(K, B, W)`."""
        gamma, beta = self.params[f"norm{i}.weight"], self.params[f"norm{i}.bias"]
        rm, rv = self.buffers[f"norm{i}.running_mean"], self.buffers[f"norm{i}.running_var"]
        if self.all_bn:
            return batch_norm_forward(h, gamma, beta, rm, rv, self.momentum)
        rows = self.bn_rows
        rm_rows, rv_rows = rm[rows], rv[rows]
        out, saved = batch_norm_forward(h[rows], gamma[rows], beta[rows], rm_rows, rv_rows, self.momentum[rows])
        rm[rows], rv[rows] = rm_rows, rv_rows
        return h.index_copy_(0, rows, out), saved

    def _norm_rows_backward(self, i: int, grad: torch.Tensor, saved: tuple) -> torch.Tensor:
        """`grad` `(K, B, W)` at layer `i`'s batch-norm output, carried to its input; writes gamma's and beta's."""
        gamma, beta = self.params[f"norm{i}.weight"], self.params[f"norm{i}.bias"]
        if self.all_bn:
            grad, _grad_of(gamma)[:], _grad_of(beta)[:] = batch_norm_backward(grad, saved, gamma)
            return grad
        rows = self.bn_rows
        dz, dgamma, dbeta = batch_norm_backward(grad[rows], saved, gamma[rows])
        _grad_of(gamma).zero_().index_copy_(0, rows, dgamma)
        _grad_of(beta).zero_().index_copy_(0, rows, dbeta)
        return grad.index_copy_(0, rows, dz)

    def predict(self, X: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """Eval-mode logits `(K, N, classes)` for one shared input `(N, *sample)`."""
        with torch.no_grad():
            outs = [self.forward(X[i:i + chunk].unsqueeze(0).expand((self.K,) + X[i:i + chunk].shape), train=False)
                    for i in range(0, len(X), chunk)]
        return torch.cat(outs, dim=1)

    # ---- members in and out -------------------------------------------------------------------
    def hidden_sizes(self) -> list[int]:
        """Units per hidden layer, for the dropout masks of one step."""
        return [self.width] * self.arch.depth

    def state(self) -> dict[str, torch.Tensor]:
        return {**{n: t.detach() for n, t in self.params.items()}, **self.buffers}

    def select(self, keep: list[int]) -> "PopulationNet":
        """A new population of the members at positions `keep`, sharing nothing with this one."""
        new = object.__new__(PopulationNet)
        new.arch, new.device = self.arch, self.device
        new.members = [self.members[i] for i in keep]
        new.generators = [self.generators[i] for i in keep]
        new.units, new.width = [self.units[i] for i in keep], self.width
        new.K, new.any_bn = len(keep), self.any_bn
        idx = torch.tensor(keep, device=self.device)
        new.params = {n: t.detach()[idx].clone().requires_grad_(True) for n, t in self.params.items()}
        new.buffers = {n: t[idx].clone() for n, t in self.buffers.items()}
        new._settings_tensors()
        return new

    def to_module(self, k: int) -> nn.Sequential:
        """Member `k` as a plain `torch.nn.Sequential` in eval mode, hidden layers cut to its active width.

        Its eval-mode output equals this population's for member `k`.
        """
        m, units = self.members[k], self.units[k]
        module = _empty_module(self.arch, units, m.batchnorm, m.dropout)
        p = {n: t.detach()[k].cpu() for n, t in self.params.items()}
        b = {n: t[k].cpu() for n, t in self.buffers.items()}
        linears = [mod for mod in module if isinstance(mod, nn.Linear)]
        norms = [mod for mod in module if isinstance(mod, nn.BatchNorm1d)]
        names = [n for n, _ in self._layer_shapes(self.width)]
        with torch.no_grad():
            for i, (name, layer) in enumerate(zip(names, linears)):
                w, bias = p[f"{name}.weight"], p[f"{name}.bias"]
                if name == "head":
                    layer.weight.copy_(w[:units].T)
                    layer.bias.copy_(bias)
                else:
                    layer.weight.copy_(w[: (None if i == 0 else units), :units].T)
                    layer.bias.copy_(bias[:units] * (not m.batchnorm))
            for i, norm in enumerate(norms):
                norm.weight.copy_(p[f"norm{i}.weight"][:units])
                norm.bias.copy_(p[f"norm{i}.bias"][:units])
                norm.running_mean.copy_(b[f"norm{i}.running_mean"][:units])
                norm.running_var.copy_(b[f"norm{i}.running_var"][:units])
        return module.eval()


def _grad_of(param: torch.Tensor) -> torch.Tensor:
    """`param.grad`, made (uninitialized) when it has none: the hand-written backward pass writes it whole."""
    if param.grad is None:
        param.grad = torch.empty_like(param)
    return param.grad


def build_module(arch: Architecture, width_fraction: float = 1.0, batchnorm: bool = False,
                 dropout: float = 0.0) -> nn.Sequential:
    """The plain-PyTorch network a member of this architecture and settings is, ready for `load_state_dict`.

    Example:
        >>> m = build_module(Architecture("mlp", 16, 1, (4,), 3), width_fraction=0.5)
        >>> m[1].out_features
        8
    """
    return _empty_module(arch, active_width(arch.width, width_fraction), batchnorm, dropout)


@dataclass(frozen=True)
class ModuleFactory:
    """goodfit's CNN of an `Architecture` as a model factory, like a user's: it returns an ordinary
    `nn.Sequential` (`build_module`) and takes the arm's in-model remedies as keyword arguments.

    Example:
        >>> f = ModuleFactory(Architecture("cnn2d", 8, 1, (1, 4, 4), 3))
        >>> type(f(dropout=0.2, batchnorm=True)[1]).__name__
        'BatchNorm2d'
    """

    arch: Architecture
    DEFAULTS = {"dropout": 0.0, "batchnorm": False, "width": 1.0, "bn_momentum": 0.1}

    def __call__(self, dropout: float = 0.0, batchnorm: bool = False, width: float = 1.0,
                 bn_momentum: float = 0.1) -> nn.Sequential:
        return _empty_module(self.arch, active_width(self.arch.width, width), batchnorm, dropout, bn_momentum)
