"""Model builders: `mlp`, `cnn1d`, `cnn2d` and `auto`, resolved against the data into an `Architecture`.

A builder only names a shape; `goodfit.nn` holds the stacked layers that train it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from goodfit.errors import GoodfitError
from goodfit.nn.population import ARCHS, Architecture

DEFAULTS = {"mlp": (256, 2), "cnn1d": (32, 3), "cnn2d": (32, 2)}
AUTO = {"table": "mlp", "sequence": "cnn1d", "image": "cnn2d"}


@dataclass(frozen=True)
class ModelSpec:
    """A model named before the data is known.

    Args:
        arch: `mlp`, `cnn1d`, `cnn2d` or `auto` (picks by the data's kind). Default `auto`.
        width: hidden units (MLP) or channels (CNN); None takes the builder's default.
        depth: hidden layers (MLP) or convolution blocks (CNN); None takes the default.

    Example:
        >>> ModelSpec("auto").resolve("sequence", (40,), 10).arch
        'cnn1d'
    """

    arch: str = "auto"
    width: int | None = None
    depth: int | None = None

    def __post_init__(self):
        if self.arch not in ARCHS + ("auto",):
            raise GoodfitError(f"model {self.arch!r} is unknown; use one of {', '.join(ARCHS)} or auto")

    def resolve(self, kind: str, input_shape: tuple, num_classes: int, depth: int | None = None) -> Architecture:
        """The concrete `Architecture` for this data; `depth` (from a `Shrink`) overrides the spec's."""
        arch = AUTO[kind] if self.arch == "auto" else self.arch
        width, default_depth = DEFAULTS[arch]
        return Architecture(arch, self.width or width, depth or self.depth or default_depth,
                            tuple(input_shape), num_classes)

    def to_dict(self) -> dict:
        return asdict(self)


def mlp(width: int = 256, depth: int = 2) -> ModelSpec:
    """A multilayer perceptron: `depth` hidden layers of `width` ReLU units.

    Example:
        >>> mlp(128).width
        128
    """
    return ModelSpec("mlp", width, depth)


def cnn1d(channels: int = 32, depth: int = 3) -> ModelSpec:
    """A 1-D CNN: `depth` blocks of stride-2 convolutions (kernel 5) with `channels` channels, then a linear head."""
    return ModelSpec("cnn1d", channels, depth)


def cnn2d(channels: int = 32, depth: int = 2) -> ModelSpec:
    """A 2-D CNN: `depth` blocks of 3x3 convolutions with `channels` channels and 2x2 max-pooling, then a linear head."""
    return ModelSpec("cnn2d", channels, depth)


def auto() -> ModelSpec:
    """Pick by the data's kind: MLP for tables, 1-D CNN for sequences, 2-D CNN for images."""
    return ModelSpec("auto")
