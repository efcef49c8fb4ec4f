"""goodfit's built-in models: their shapes (`Architecture`), each as an ordinary `nn.Sequential`
(`build_module`, `ModuleFactory`), and what may differ between the members of one population
(`MemberSettings`).

The MLP and the CNNs train as ordinary modules, converted like a user's (`goodfit.nn.convert`); the
MLP's hidden layers become fused dense blocks (`goodfit.nn.layers.dense`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from goodfit.errors import GoodfitError

ARCHS = ("mlp", "cnn1d", "cnn2d")


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
    # batch norm cancels the bias of the layer before it: its true gradient is zero, and Adam would turn the
    # rounding noise in it into full-size steps (which differ between a member alone and in a crowd)
    if arch.arch == "mlp":
        layers.append(nn.Flatten())
        fan_in = math.prod(arch.input_shape)
        for _ in range(arch.depth):
            layers += [nn.Linear(fan_in, units, bias=not batchnorm)]
            layers += [nn.BatchNorm1d(units, momentum=momentum)] if batchnorm else []
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
                layers.append(conv(channels, units, 5, stride=2, padding=2, bias=not batchnorm))
            else:
                layers.append(conv(channels, units, 3, padding=1, bias=not batchnorm))
            layers += ([norm(units, momentum=momentum)] if batchnorm else []) + [nn.ReLU(), drop(dropout)]
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
    """goodfit's model of an `Architecture` as a model factory, like a user's: it returns an ordinary
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
