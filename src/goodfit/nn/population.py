"""K networks of one architecture as stacked tensors, trained by one forward and backward pass.

Dense layers use batched matmuls on `(K, B, features)`; convolutions run as one grouped
convolution on `(B, K * channels, ...)`. Exports a member as a plain `torch.nn.Sequential`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.batchnorm import BN_EPS, batch_norm_backward, batch_norm_forward, stacked_batch_norm

ARCHS = ("mlp", "cnn1d", "cnn2d")


@dataclass(frozen=True)
class Architecture:
    """The shape of a network: builder, hidden width, hidden depth, input and output sizes.

    Args:
        arch: `mlp`, `cnn1d` or `cnn2d`.
        width: hidden units per layer (MLP) or channels per convolution block (CNN).
        depth: hidden layers (MLP) or convolution blocks (CNN).
        input_shape: one sample's shape: `(D,)`, `(L,)` or `(C, H, W)`.
        num_classes: output classes.

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


def _empty_module(arch: Architecture, units: int, batchnorm: bool, dropout: float) -> nn.Sequential:
    """The plain-PyTorch twin of one member (uninitialized meaning: weights are copied in)."""
    layers: list[nn.Module] = []
    if arch.arch == "mlp":
        layers.append(nn.Flatten())
        fan_in = math.prod(arch.input_shape)
        for _ in range(arch.depth):
            layers += [nn.Linear(fan_in, units)] + ([nn.BatchNorm1d(units, eps=BN_EPS)] if batchnorm else [])
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            fan_in = units
    else:
        conv, norm, drop = ((nn.Conv1d, nn.BatchNorm1d, nn.Dropout1d) if arch.arch == "cnn1d"
                            else (nn.Conv2d, nn.BatchNorm2d, nn.Dropout2d))
        if arch.arch == "cnn1d" and len(arch.input_shape) == 1:
            layers.append(nn.Unflatten(1, (1, arch.input_shape[0])))
        channels, size = arch.in_channels, list(arch.input_shape[-2:])
        for _ in range(arch.depth):
            if arch.arch == "cnn1d":
                layers.append(conv(channels, units, 5, stride=2, padding=2))
            else:
                layers.append(conv(channels, units, 3, padding=1))
            layers += ([norm(units, eps=BN_EPS)] if batchnorm else []) + [nn.ReLU(), drop(dropout)]
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
        self.arch, self.members, self.device = arch, list(members), torch.device(device)
        self.K = len(self.members)
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in self.members]
        self.units = [active_width(arch.width, m.width) for m in self.members]
        self.width = max(self.units)  # units the stacked tensors hold: the widest member's
        self.any_bn = any(m.batchnorm for m in self.members)
        self.params, self.buffers = self._initial_state()
        self._settings_tensors()

    # ---- construction -------------------------------------------------------------------------
    def _layer_shapes(self, W: int) -> list[tuple[str, tuple, int]]:
        """(name, per-member weight shape with `W` hidden units, receptive field) of each weighted layer."""
        a = self.arch
        shapes = []
        if a.arch == "mlp":
            fan = math.prod(a.input_shape)
            for i in range(a.depth):
                shapes.append((f"hidden{i}", (fan, W), 1))
                fan = W
        else:
            cin, k = a.in_channels, (5 if a.arch == "cnn1d" else 3)
            for i in range(a.depth):
                shapes.append((f"conv{i}", (W, cin) + (k,) * (1 if a.arch == "cnn1d" else 2), k if a.arch == "cnn1d" else k * k))
                cin = W
        shapes.append(("head", (a.feature_size(W), a.num_classes), 1))
        return shapes

    def _initial_state(self) -> tuple[dict, dict]:
        """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) per member, as torch.nn's layers, from each member's generator.

        The fan-in counts only the member's active units, so a shrunk member starts exactly as a
        narrower network would. Each member draws the architecture's full shapes, which are then
        cut to the population's width: a member's weights do not depend on who else trains.
        """
        shapes = self._layer_shapes(self.arch.width)
        weights = {f"{n}.weight": [] for n, _, _ in shapes} | {f"{n}.bias": [] for n, _, _ in shapes}
        for k, g in enumerate(self.generators):
            units, in_units = self.units[k], None
            for idx, (name, shape, field) in enumerate(shapes):
                if name == "head":
                    fan_in = self.arch.feature_size(units) if self.arch.arch != "mlp" else units
                elif idx == 0:
                    fan_in = (math.prod(self.arch.input_shape) if self.arch.arch == "mlp"
                              else self.arch.in_channels * field)
                else:
                    fan_in = in_units * field
                bound = 1.0 / math.sqrt(fan_in)
                w = (torch.rand(shape, generator=g) * 2 - 1) * bound
                b = (torch.rand(shape[-1] if self.arch.arch == "mlp" or name == "head" else shape[0],
                                generator=g) * 2 - 1) * bound
                weights[f"{name}.weight"].append(self._cut(name, w, idx == 0))
                weights[f"{name}.bias"].append(b if name == "head" else b[:self.width])
                in_units = units
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
            return w[:W] if self.arch.arch == "mlp" else w.reshape(self.arch.width, -1, w.shape[-1])[:W].flatten(0, 1)
        if self.arch.arch == "mlp":
            return w[:, :W] if first else w[:W, :W]
        return w[:W] if first else w[:W, :W]

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
                layer = f"hidden{i}" if self.arch.arch == "mlp" else f"conv{i}"
                w = params[f"{layer}.weight"][k]
                if self.arch.arch == "mlp":
                    w[:, units:] = 0
                    if i > 0:
                        w[units:] = 0
                else:
                    w[units:] = 0
                    if i > 0:
                        w[:, units:] = 0
                params[f"{layer}.bias"][k, units:] = 0
            head = params["head.weight"][k]
            head.reshape(self.width, -1, head.shape[-1])[units:] = 0

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
        if self.arch.arch == "mlp":
            h = x.reshape(K, B, -1)  # (K, B, D)
            for i in range(self.arch.depth):
                h = torch.baddbmm(self._hidden_bias(f"hidden{i}")[:, None], h, p[f"hidden{i}.weight"])  # (K, B, W)
                if self.any_bn:
                    h = self._norm(i, h, train, (1,), (self.K, 1, -1), self.bn_on[:, None, None])
                h = torch.relu_(h)  # in place: neither baddbmm nor batch norm keeps its output for backward
                if dropout:
                    h = h * masks[i]
            return torch.baddbmm(p["head.bias"][:, None], h, p["head.weight"])  # (K, B, C)
        h = x.reshape((K, B, self.arch.in_channels) + tuple(x.shape[-(1 if self.arch.arch == "cnn1d" else 2):]))
        h = h.transpose(0, 1).reshape((B, K * self.arch.in_channels) + h.shape[3:])  # (B, K*Cin, *S)
        if self.arch.arch == "cnn1d":
            h = h[:, :, None]  # (B, K*Cin, 1, L): a sequence as an image one pixel high
        # channels last: oneDNN's grouped convolutions and pooling run 1.6x faster on it than on NCHW
        h = h.contiguous(memory_format=torch.channels_last)
        for i in range(self.arch.depth):
            w = p[f"conv{i}.weight"]
            w = w.reshape((K * w.shape[1],) + w.shape[2:])  # (K*W, Cin, *k)
            if self.arch.arch == "cnn1d":
                h = F.conv2d(h, w[:, :, None], self._hidden_bias(f"conv{i}").reshape(-1), stride=(1, 2), padding=(0, 2),
                             groups=K)  # (B, K*W, 1, L')
            else:
                h = F.conv2d(h, w, self._hidden_bias(f"conv{i}").reshape(-1), padding=1, groups=K)  # (B, K*W, H, W)
            spatial = (1,) * (h.dim() - 2)
            if self.any_bn:
                view = (1, -1) + spatial
                h = self._norm(i, h, train, (0,) + tuple(range(2, h.dim())), view,
                               self.bn_on.repeat_interleave(self.width).reshape(view))
            h = torch.relu_(h)
            if dropout:
                h = h * masks[i].transpose(0, 1).reshape((B, -1) + spatial)  # a whole channel per unit
            if self.arch.arch == "cnn2d" and min(h.shape[-2:]) >= 2:
                h = F.max_pool2d(h, 2)
        h = h.reshape(B, K, -1).transpose(0, 1)  # (K, B, F)
        return torch.baddbmm(p["head.bias"][:, None], h, p["head.weight"])  # (K, B, C)

    @property
    def hand_backward(self) -> bool:
        """Whether `train_step` applies: an MLP, whose gradients are written out by hand (batch norm included)."""
        return self.arch.arch == "mlp"

    def train_step(self, x: torch.Tensor, targets, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """One training step's forward and backward pass of an MLP population, without autograd.

        Writes each parameter's `.grad` (reusing the tensors) and returns the members' mean
        cross-entropy `(K,)`. The gradient is autograd's, with fewer operations and no graph: a
        hidden unit passes gradient where its output (after relu and dropout) is positive, scaled
        by its dropout scale; batch norm runs on the rows of the members that use it
        (`batch_norm_backward`); the loss's gradient is the softmax minus the target distribution.
        Needs `hand_backward`.

        Args:
            x: the members' batches `(K, B, *sample)`.
            targets: labels `(K, B)`, or `(y, y_partner, lam)` under mixup.
            masks: per hidden layer a float `(K, B, W)` dropout scale (0 or 1 / keep-probability), or None.
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
            lse = torch.logsumexp(logits, -1, keepdim=True)  # (K, B, 1)
            grad = torch.exp_(logits - lse)  # the softmax, then minus the targets
            if isinstance(targets, tuple):
                y, y2, lam = targets
                lam = lam.reshape(K, B, 1)
                losses = (lse - lam * logits.gather(-1, y[..., None]) - (1 - lam) * logits.gather(-1, y2[..., None]))
                grad.scatter_add_(-1, y[..., None], -lam).scatter_add_(-1, y2[..., None], lam - 1)
            else:
                losses = lse - logits.gather(-1, targets[..., None])
                grad.scatter_add_(-1, targets[..., None], torch.full_like(lse, -1.0))
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
        return losses.reshape(K, B).mean(1)

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
        linears = [mod for mod in module if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d))]
        norms = [mod for mod in module if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d))]
        names = [n for n, _, _ in self._layer_shapes(self.width)]
        with torch.no_grad():
            for i, (name, layer) in enumerate(zip(names, linears)):
                w, bias = p[f"{name}.weight"], p[f"{name}.bias"]
                if name == "head":
                    if self.arch.arch == "mlp":
                        w = w[:units]
                    else:
                        w = w.reshape(self.width, -1, w.shape[-1])[:units].reshape(-1, w.shape[-1])
                    layer.weight.copy_(w.T)
                    layer.bias.copy_(bias)
                elif self.arch.arch == "mlp":
                    layer.weight.copy_(w[: (None if i == 0 else units), :units].T)
                    layer.bias.copy_(bias[:units] * (not m.batchnorm))
                else:
                    layer.weight.copy_(w[:units, : (None if i == 0 else units)])
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
