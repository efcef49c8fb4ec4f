"""The remedies as frozen values, and the `Arm` that names a combination of them.

A remedy only describes a setting; the engine reads it. No remedy knows another or how training runs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from goodfit.errors import GoodfitError

MONITORS = ("val_loss", "val_accuracy")


def _check_range(name: str, value: float, low: float, high: float, closed_high: bool = False, hint: str = "") -> None:
    ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise GoodfitError(f"{name} must be in [{low}, {high}{bracket}, got {value}{hint}")


@dataclass(frozen=True)
class Dropout:
    """Zero each hidden unit with probability `rate` while training (inverted dropout, none in eval).

    Args:
        rate: probability of dropping a hidden unit (a whole channel in convolutional layers).
            Default 0.5.

    Example:
        >>> Dropout(0.3)
        Dropout(rate=0.3)
    """

    key: ClassVar[str] = "dropout"
    rate: float = 0.5

    def __post_init__(self):
        _check_range("dropout rate", self.rate, 0.0, 1.0, hint="; e.g. --dropout 0.3")


@dataclass(frozen=True)
class WeightDecay:
    """Keep weights small: a true L2 penalty by default, decoupled (AdamW-style) decay on request.

    The L2 penalty adds `strength * w` to each weight's gradient before the optimizer step
    (the gradient of `strength / 2 * ||w||^2`); decoupled decay multiplies `w` by
    `1 - lr * strength` at each step instead, as `torch.optim.AdamW` does.

    Args:
        strength: the penalty or decay coefficient. Default 1e-4.
        decoupled: decoupled decay instead of the L2 penalty. Default False.
        include_bias_and_norm: also act on biases and batch-norm parameters. Default False.

    Example:
        >>> WeightDecay(1e-3, decoupled=True).decoupled
        True
    """

    key: ClassVar[str] = "weight_decay"
    strength: float = 1e-4
    decoupled: bool = False
    include_bias_and_norm: bool = False

    def __post_init__(self):
        if not 0.0 <= self.strength < 1.0:
            raise GoodfitError(f"weight decay strength must be in [0, 1), got {self.strength}; e.g. --l2 1e-4")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop a member when the monitored metric stops improving, and always restore its best weights.

    The best weights are restored at the end whether or not patience ran out.

    Args:
        patience: epochs without improvement before stopping. Default 10.
        min_delta: smallest change that counts as improvement. Default 0.
        relative: read `min_delta` as a fraction of the best value so far. Default False.
        warmup: epochs before stopping may happen (the best is still tracked). Default 0.
        monitor: `val_loss` (lower is better) or `val_accuracy` (higher is better). Default `val_loss`.

    Example:
        >>> EarlyStopping(patience=5).monitor
        'val_loss'
    """

    key: ClassVar[str] = "early_stopping"
    patience: int = 10
    min_delta: float = 0.0
    relative: bool = False
    warmup: int = 0
    monitor: str = "val_loss"

    def __post_init__(self):
        if int(self.patience) != self.patience or self.patience < 1:
            raise GoodfitError(f"early-stopping patience must be a whole number >= 1, got {self.patience}")
        if self.min_delta < 0 or self.warmup < 0:
            raise GoodfitError("early-stopping min_delta and warmup must not be negative")
        if self.monitor not in MONITORS:
            raise GoodfitError(f"early stopping cannot monitor {self.monitor!r}; use one of {', '.join(MONITORS)}")


AUGMENTATIONS = {
    "image": ("rotate", "flip", "zoom", "shift", "noise"),
    "sequence": ("shift", "noise"),
    "table": ("noise", "mixup"),
}
DEFAULT_STRENGTH = {  # what a name alone on the command line means
    "image": {"rotate": 15.0, "flip": 1.0, "zoom": 0.1, "shift": 0.1, "noise": 0.05},
    "sequence": {"shift": 0.1, "noise": 0.05},
    "table": {"noise": 0.1, "mixup": 0.2},
}


@dataclass(frozen=True)
class Augment:
    """Random, label-preserving changes to each training batch (mixup mixes labels too).

    Args:
        rotate: largest rotation in degrees (images). Default 0.
        flip: probability of a horizontal flip (images). Default 0.
        zoom: largest relative zoom in or out (images). Default 0.
        shift: largest shift as a fraction of the width or length (images, sequences). Default 0.
        noise: standard deviation of added Gaussian noise, in feature units. Default 0.
        mixup: Beta(alpha, alpha) parameter of mixup between samples of a batch (tables). Default 0.

    Example:
        >>> Augment.from_names("shift,noise", "sequence")
        Augment(rotate=0.0, flip=0.0, zoom=0.0, shift=0.1, noise=0.05, mixup=0.0)
    """

    key: ClassVar[str] = "augment"
    rotate: float = 0.0
    flip: float = 0.0
    zoom: float = 0.0
    shift: float = 0.0
    noise: float = 0.0
    mixup: float = 0.0

    def __post_init__(self):
        _check_range("augment rotate (degrees)", self.rotate, 0.0, 180.0, closed_high=True)
        _check_range("augment flip probability", self.flip, 0.0, 1.0, closed_high=True)
        _check_range("augment zoom", self.zoom, 0.0, 1.0)
        _check_range("augment shift", self.shift, 0.0, 1.0)
        if self.noise < 0 or self.mixup < 0:
            raise GoodfitError("augment noise and mixup must not be negative")

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name) > 0)

    def check_kind(self, kind: str) -> None:
        """Raise if an augmentation does not apply to this kind of data."""
        wrong = [a for a in self.active if a not in AUGMENTATIONS[kind]]
        if wrong:
            raise GoodfitError(f"augmentation {', '.join(wrong)} does not apply to {kind} data; "
                               f"for {kind} data use {', '.join(AUGMENTATIONS[kind])}")

    @classmethod
    def from_names(cls, names: str, kind: str) -> "Augment":
        """Build from a comma list such as `shift,noise` or `rotate=10,noise=0.1` for a kind of data."""
        values = {}
        for item in filter(None, (part.strip() for part in names.split(","))):
            name, _, value = item.partition("=")
            if name not in AUGMENTATIONS[kind]:
                raise GoodfitError(f"augmentation {name!r} does not apply to {kind} data; "
                                   f"choose from {', '.join(AUGMENTATIONS[kind])}")
            try:
                values[name] = float(value) if value else DEFAULT_STRENGTH[kind][name]
            except ValueError:
                raise GoodfitError(f"augmentation strength {value!r} for {name} is not a number; e.g. {name}=0.1") from None
        if not values:
            raise GoodfitError(f"no augmentation named; e.g. --augment {','.join(AUGMENTATIONS[kind])}")
        return cls(**values)


@dataclass(frozen=True)
class BatchNorm:
    """Normalize each hidden layer over the batch, with learned scale and shift and running statistics.

    Args:
        momentum: weight of the newest batch in the running statistics. Default 0.1.

    Example:
        >>> BatchNorm().momentum
        0.1
    """

    key: ClassVar[str] = "batchnorm"
    momentum: float = 0.1

    def __post_init__(self):
        _check_range("batch-norm momentum", self.momentum, 0.0, 1.0, closed_high=True)


@dataclass(frozen=True)
class Shrink:
    """Reduce capacity: fewer hidden units (or channels) and, optionally, fewer hidden layers.

    Args:
        width: fraction of the hidden units kept, in (0, 1]. Default 0.5.
        depth: number of hidden layers (convolution blocks for CNNs), or None to keep. Default None.

    Example:
        >>> Shrink(0.25).width
        0.25
    """

    key: ClassVar[str] = "shrink"
    width: float = 0.5
    depth: int | None = None

    def __post_init__(self):
        _check_range("shrink width", self.width, 1e-9, 1.0, closed_high=True, hint="; e.g. --width 0.5")
        if self.depth is not None and (int(self.depth) != self.depth or self.depth < 1):
            raise GoodfitError(f"shrink depth must be a whole number >= 1, got {self.depth}")


@dataclass(frozen=True)
class LabelSmoothing:
    """Train on softened targets: the given class keeps `1 - amount` and `amount` is spread over all classes.

    The usual answer to noisy labels: a wrong label costs less to fit, and confident logits are not
    rewarded. Classification only; validation and test are scored on the labels as given.

    Args:
        amount: the share of each target spread evenly over the classes, in [0, 1). Default 0.1.

    Example:
        >>> LabelSmoothing().amount
        0.1
    """

    key: ClassVar[str] = "label_smoothing"
    amount: float = 0.1

    def __post_init__(self):
        _check_range("label smoothing", self.amount, 0.0, 1.0, hint="; e.g. label_smoothing=0.1")


CLASS_WEIGHTINGS = ("loss", "balanced")


@dataclass(frozen=True)
class ClassWeights:
    """Count every class as much as the others: loss weights inverse to class frequency, or balanced sampling.

    With `loss`, a sample of class c weighs `N / (C * n_c)` in the training loss (the weights average 1
    over the training set, as scikit-learn's `class_weight="balanced"`). With `balanced`, each member's
    minibatches are drawn with replacement so that every class comes up equally often. Classification only.

    Args:
        how: `loss` (weights in the loss) or `balanced` (balanced sampling). Default `loss`.

    Example:
        >>> ClassWeights("balanced").how
        'balanced'
    """

    key: ClassVar[str] = "class_weights"
    how: str = "loss"

    def __post_init__(self):
        if self.how not in CLASS_WEIGHTINGS:
            raise GoodfitError(f"class weights {self.how!r} is unknown; use one of {', '.join(CLASS_WEIGHTINGS)}, "
                               "e.g. class_weights=balanced")


REMEDIES = {cls.key: cls for cls in (Dropout, WeightDecay, EarlyStopping, Augment, BatchNorm, Shrink, LabelSmoothing,
                                     ClassWeights)}


@dataclass(frozen=True)
class Arm:
    """A named combination of remedies; the baseline is an arm with none.

    Args:
        name: how reports call it.
        remedies: at most one remedy of each kind. Default none.

    Example:
        >>> arm = Arm("dropout+wd", (Dropout(0.3), WeightDecay(1e-4)))
        >>> arm.get(Dropout).rate, arm.get(BatchNorm) is None
        (0.3, True)
        >>> Arm.from_dict(arm.to_dict()) == arm
        True
    """

    name: str
    remedies: tuple = ()

    def __post_init__(self):
        if not self.name or not str(self.name).strip():
            raise GoodfitError("an arm needs a non-empty name")
        unknown = [r for r in self.remedies if type(r) not in REMEDIES.values()]
        if unknown:
            raise GoodfitError(f"arm {self.name!r}: {unknown[0]!r} is not a remedy; use {', '.join(REMEDIES)}")
        kinds = [type(r).key for r in self.remedies]
        dupes = {k for k in kinds if kinds.count(k) > 1}
        if dupes:
            raise GoodfitError(f"arm {self.name!r} has more than one {', '.join(sorted(dupes))}; keep one of each")

    def get(self, cls):
        """The remedy of this type in the arm, or None."""
        return next((r for r in self.remedies if isinstance(r, cls)), None)

    def to_dict(self) -> dict:
        return {"name": self.name, "remedies": [{"remedy": type(r).key, **asdict(r)} for r in self.remedies]}

    @classmethod
    def from_dict(cls, d: dict) -> "Arm":
        remedies = []
        for r in d.get("remedies", []):
            r = dict(r)
            remedies.append(REMEDIES[r.pop("remedy")](**r))
        return cls(d["name"], tuple(remedies))
