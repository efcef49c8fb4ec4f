"""The population engine: trains K members at once, one forward and backward pass for all.

Members that share an architecture train in one `PopulationNet`; each keeps its own generator,
dropout rate, weight decay, augmentation, early-stopping state and width. A single model is a
population of one. The engine records metrics and never formats text.
"""
from __future__ import annotations

import ctypes
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from goodfit.augment import Augmenter
from goodfit.data.splits import Splits
from goodfit.errors import GoodfitError
from goodfit.history import History
from goodfit.models import ModelSpec
from goodfit.nn.custom import CustomArchitecture, accepted_keywords
from goodfit.nn.population import DROPOUT_LEVELS, Architecture, MemberSettings, PopulationNet, dropout_threshold
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

OPTIMIZERS = ("adam", "sgd")
BLOCK_BYTES = 8 << 20  # a block of steps' gathered batches and dropout masks, drawn at once
EVAL_BYTES = 16 << 20  # activations of one evaluation chunk, within a CPU's cache
GPU_EVAL_BYTES = 256 << 20  # on a GPU, where each chunk costs kernel launches and the cache is not the limit
# On a CPU a population trains fastest while its weights, gradients and Adam moments stay in cache:
# W35's model at 10 epochs took 0.065 s a member as one population of 35 (48 MB) and 0.081 s as one
# of 128, but 0.063 s as four populations of 32.
CPU_WORKING_SET = 48 << 20


@dataclass(frozen=True)
class TrainConfig:
    """Settings every member of a run shares.

    Args:
        epochs: passes over the training set. Default 100.
        batch_size: samples per step and member. Default 32.
        lr: learning rate. Default 1e-3.
        optimizer: `adam` or `sgd` (momentum 0.9). Default `adam`.
        device: `cpu`, `cuda` or `auto` (CUDA when available). Default `cpu`.
        train_eval_size: size of the fixed training subset measured in eval mode each epoch. Default 512.
        memory_budget: bytes a population may use; members beyond it train in further populations,
            one after another. None takes half the memory available when training starts. Default None.

    Example:
        >>> TrainConfig(epochs=5).batch_size
        32
    """

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    device: str = "cpu"
    train_eval_size: int = 512
    memory_budget: int | None = None

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise GoodfitError(f"epochs must be a whole number >= 1, got {self.epochs}; e.g. --epochs 100")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise GoodfitError(f"batch size must be a whole number >= 1, got {self.batch_size}; e.g. --batch-size 32")
        if not 0 < self.lr < 10:
            raise GoodfitError(f"learning rate must be in (0, 10), got {self.lr}; e.g. --lr 1e-3")
        if self.optimizer not in OPTIMIZERS:
            raise GoodfitError(f"optimizer {self.optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise GoodfitError(f"device {self.device!r} is unknown; use cpu, cuda or auto")
        if self.memory_budget is not None and (int(self.memory_budget) != self.memory_budget or self.memory_budget < 1):
            raise GoodfitError(f"memory budget must be a whole number of bytes >= 1, got {self.memory_budget}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise GoodfitError("device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Member:
    """One training run of a study: an arm, a seed and, rarely, a learning rate of its own.

    Args:
        arm: the remedies this member trains with.
        seed: fixes its initial weights, batch order, dropout and augmentation.
        lr: its learning rate, in place of `TrainConfig.lr`; members with their own rate still
            train in one population with the others, and a member with the shared rate trains
            bit for bit as it would without them. None takes the config's. Default None.

    Example:
        >>> Member(Arm("baseline"), seed=3).seed
        3
        >>> Member(Arm("baseline"), 0, lr=-1)
        Traceback (most recent call last):
        goodfit.errors.GoodfitError: a member's learning rate must be a positive number, got -1; e.g. lr=1e-3
    """

    arm: Arm
    seed: int
    lr: float | None = None

    def __post_init__(self):
        if self.lr is not None and not (np.isfinite(self.lr) and self.lr > 0):
            raise GoodfitError(f"a member's learning rate must be a positive number, got {self.lr}; e.g. lr=1e-3")


@dataclass
class MemberResult:
    """What training one member produced.

    `best_epoch` is the epoch whose weights were kept (early stopping) or the epoch of lowest
    validation loss; `stopped_epoch` is set when early stopping ended training before the last epoch.
    """

    member: Member
    architecture: Architecture | CustomArchitecture
    history: pd.DataFrame
    best_epoch: int | None
    stopped_epoch: int | None
    diverged: bool
    test_loss: float
    test_accuracy: float
    num_params: int
    state_dict: dict = field(repr=False)


@dataclass
class TrainResult:
    """All members' results, in the order the members were given, and the wall time.

    `notes` holds one line per population that trained other than as asked (a module that trains
    member by member), each once.
    """

    members: list[MemberResult]
    seconds: float
    num_classes: int
    notes: list[str] = field(default_factory=list)

    def history(self) -> History:
        """One `History` holding every member, numbered by position."""
        frames = [r.history.assign(member=i) for i, r in enumerate(self.members)]
        return History(pd.concat(frames, ignore_index=True), self.num_classes)


EpochCallback = Callable[[dict], None]


# ---- from arms to per-member settings ----------------------------------------------------------
def member_settings(member: Member) -> MemberSettings:
    arm = member.arm
    dropout, bn, shrink = arm.get(Dropout), arm.get(BatchNorm), arm.get(Shrink)
    return MemberSettings(seed=member.seed, dropout=dropout.rate if dropout else 0.0, batchnorm=bn is not None,
                          width=shrink.width if shrink else 1.0, bn_momentum=bn.momentum if bn else 0.1)


def architecture_of(member: Member, model, splits: Splits):
    """The architecture a member trains with: a resolved `ModelSpec`, or a user factory with its keywords."""
    shrink = member.arm.get(Shrink)
    if isinstance(model, ModelSpec):
        return model.resolve(splits.kind, splits.input_shape, splits.num_classes, shrink.depth if shrink else None)
    if not callable(model):
        raise GoodfitError(f"model must be a ModelSpec (mlp, cnn1d, cnn2d, auto) or a callable returning an "
                           f"nn.Module, got {type(model).__name__}")
    return custom_architecture(member, model, splits)


def custom_architecture(member: Member, factory, splits: Splits) -> CustomArchitecture:
    """A user factory's architecture: the arm's in-model remedies become its keyword arguments."""
    name = getattr(factory, "__qualname__", type(factory).__name__)
    arm, wanted = member.arm, {}
    if arm.get(Dropout):
        wanted["dropout"] = arm.get(Dropout).rate
    if arm.get(BatchNorm):
        wanted["batchnorm"] = True
    if arm.get(Shrink):
        if arm.get(Shrink).depth is not None:
            raise GoodfitError(f"arm {arm.name!r}: Shrink(depth=...) needs a goodfit model; with your own factory "
                               "use Shrink(width) and a `width` keyword")
        wanted["width"] = arm.get(Shrink).width
    missing = sorted(set(wanted) - accepted_keywords(factory))
    if missing:
        raise GoodfitError(f"arm {arm.name!r} needs a model factory that accepts {', '.join(k + '=' for k in missing)}; "
                           f"add {'that parameter' if len(missing) == 1 else 'those parameters'} to {name} "
                           "or leave the remedy out")
    return CustomArchitecture(factory, tuple(sorted(wanted.items())), tuple(splits.input_shape), splits.num_classes,
                              name)


def _check_member(member: Member, kind: str) -> None:
    augment = member.arm.get(Augment)
    if augment is not None:
        augment.check_kind(kind)


# ---- loss and metrics --------------------------------------------------------------------------
def _member_losses(logits: torch.Tensor, targets) -> torch.Tensor:
    """Mean cross-entropy per member `(K,)`; targets are labels `(K, B)` or a mixup triple."""
    K, B, C = logits.shape
    flat = logits.reshape(K * B, C)
    if isinstance(targets, tuple):
        y, y2, lam = targets
        per = (lam.reshape(-1) * F.cross_entropy(flat, y.reshape(-1), reduction="none")
               + (1 - lam.reshape(-1)) * F.cross_entropy(flat, y2.reshape(-1), reduction="none"))
    else:
        per = F.cross_entropy(flat, targets.reshape(-1), reduction="none")
    return per.reshape(K, B).mean(1)


def _sample_metrics(net: PopulationNet, X: torch.Tensor, y: torch.Tensor,
                    chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode loss and correctness per member and sample `(K, N)`, staying on the device."""
    logits = net.predict(X, chunk)  # (K, N, C)
    picked = logits.gather(-1, y.expand(net.K, -1)[..., None])[..., 0]  # (K, N)
    # cross-entropy as logsumexp minus the true logit: a quarter of log_softmax's time for few classes
    return torch.logsumexp(logits, -1) - picked, (logits.argmax(-1) == y).float()


def _evaluate(net: PopulationNet, X: torch.Tensor, y: torch.Tensor,
              chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode loss and accuracy per member `(K,)`, staying on the device."""
    loss, correct = _sample_metrics(net, X, y, chunk)
    return loss.mean(1), correct.mean(1)


def _optimizer(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, fused=True)
    return torch.optim.Adam(params, lr=config.lr, fused=True)


def _carry_optimizer(old: torch.optim.Optimizer, old_params, new_params, keep: torch.Tensor, config) -> torch.optim.Optimizer:
    """A new optimizer over `new_params` whose state is the old state of the kept members."""
    new = _optimizer(new_params, config)
    for p_old, p_new in zip(old_params, new_params):
        state = old.state.get(p_old)
        if state:
            new.state[p_new] = {k: (v[keep].clone() if torch.is_tensor(v) and v.dim() > 0 else v)
                                for k, v in state.items()}
    return new


def _kept_scale(threshold: int) -> np.float32:
    """What a kept unit is multiplied by: 1 / keep-probability, for a unit dropped below `threshold` of 2^16.

    Example:
        >>> float(_kept_scale(32768)), float(_kept_scale(0))
        (2.0, 1.0)
    """
    return np.float32(DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold))


def _dropout_masks(net: PopulationNet, steps: int, batch: int, scaled: bool = False,
                   out: np.ndarray | None = None) -> list[torch.Tensor] | None:
    """Keep-masks for `steps` steps, `(K, steps, batch, units)` per hidden layer, one draw per member.

    Each member draws 16 random bits per unit from its own dropout stream, a whole number of
    64-bit words per step, so its masks depend neither on the other members nor on how many steps
    are drawn at once. A unit is dropped when its bits fall below `dropout_threshold(rate)`.
    With `scaled`, a kept unit holds 1 / keep-probability (float32) instead of True, ready to multiply.
    `out`, an array of shape `(K, steps, batch, units)` and the right dtype, is filled instead of a
    new one: the engine reuses one per population, sparing the page faults of fresh memory.
    """
    if not net.any_dropout:
        return None
    sizes = net.hidden_sizes()
    units = sum(sizes)
    words = -(-batch * units // 4)  # (64-bit words per step)
    shape, dtype = (net.K, steps, batch, units), np.dtype(np.float32 if scaled else bool)
    if out is None or out.shape != shape or out.dtype != dtype:
        out = np.empty(shape, dtype)
    for k, (stream, m) in enumerate(zip(net.dropout_streams, net.members)):
        if m.dropout == 0:
            out[k] = 1
            continue
        threshold = dropout_threshold(m.dropout)
        bits = stream.random_raw(steps * words).view(np.uint16).reshape(steps, -1)[:, :batch * units]
        np.greater_equal(bits.reshape(steps, batch, units), threshold, out=out[k])  # (steps, batch, units)
        if scaled:
            out[k] *= _kept_scale(threshold)
    masks = torch.from_numpy(out).to(net.device)  # (K, steps, batch, units)
    return list(torch.split(masks, sizes, dim=-1))


COUNTER_MASK_DEVICES = ("cuda",)  # where dropout masks are hashed on the device instead of drawn on the host


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """Wellons' `lowbias32` integer hash of an int32 tensor, in place (multiplies wrap, shifts are logical).

    Example:
        >>> _hash32(torch.tensor([0, 1], dtype=torch.int32)).tolist()
        [0, 1753845952]
    """
    x ^= (x >> 16) & 0xFFFF
    x *= 0x7FEB352D
    x ^= (x >> 15) & 0x1FFFF
    x *= -0x7B935975  # 0x846CA68B as a signed 32-bit integer
    x ^= (x >> 16) & 0xFFFF
    return x


def _counter_masks(net: PopulationNet, first_step: int, steps: int, batch: int) -> list[torch.Tensor]:
    """Scaled keep-masks `(K, steps, batch, units)` per hidden layer, hashed on the net's device.

    Unit `u` of sample `b` at the member's step `t` is kept when the top 16 bits of
    `hash(hash(key ^ hash(t)) + b * units + u)` reach its `dropout_threshold`; `key` comes from the
    member's seed. As with `_dropout_masks`, a member's masks depend neither on the other members
    nor on how many steps are drawn at once, and a GPU draws a thousand members' masks without a
    trip to the host. They are not the host's masks: a member's dropout differs between devices.
    """
    sizes, device = net.hidden_sizes(), net.device
    units = sum(sizes)
    seeds = np.array([m.seed for m in net.members], np.int64) & 0x7FFFFFFF
    thresholds = [dropout_threshold(m.dropout) for m in net.members]
    keys = _hash32(torch.as_tensor(seeds.astype(np.int32) ^ 0x2545F491, device=device))  # (K,)
    limit = torch.tensor(thresholds, dtype=torch.int32, device=device).reshape(-1, 1, 1)
    scale = torch.tensor([_kept_scale(t) for t in thresholds], device=device)
    t = _hash32(torch.arange(first_step, first_step + steps, dtype=torch.int32, device=device))  # (steps,)
    base = _hash32(keys[:, None] ^ t)  # (K, steps)
    bits = _hash32(base[..., None] + torch.arange(batch * units, dtype=torch.int32, device=device))
    kept = ((bits >> 16) & 0xFFFF) >= limit  # (K, steps, batch * units)
    masks = (kept.view(net.K, steps, batch, units).to(torch.float32) * scale.reshape(-1, 1, 1, 1))
    return list(torch.split(masks, sizes, dim=-1))


# ---- memory ------------------------------------------------------------------------------------
def available_memory(device: torch.device) -> int:
    """Bytes free for tensors on `device`: the GPU's free memory, or the host's MemAvailable."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _activation_bytes(arch, settings: MemberSettings, sample_shape: tuple) -> int:
    """Bytes autograd keeps per sample for one member: measured on a two-member probe, batch 2 against 4."""
    probe = arch.make_net([settings, settings], "cpu")
    saved = []
    for batch in (2, 4):
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            probe.forward(torch.zeros((2, batch) + tuple(sample_shape)), train=True)
        saved.append(total)
    return max(1, (saved[1] - saved[0]) // 4)  # (two members, two samples more)


def _state_bytes(arch, settings: MemberSettings) -> tuple[int, int]:
    """Bytes of one member's parameters and of its buffers."""
    probe = arch.make_net([settings], "cpu")
    return tuple(sum(t.numel() * t.element_size() for t in d.values()) for d in (probe.params, probe.buffers))


def member_bytes(arch, settings: MemberSettings, splits: Splits, config: TrainConfig, early_stopping: bool) -> int:
    """Bytes one member needs while training: parameters with gradient, optimizer state and copies, and activations.

    Parameters count five times (weights, gradient, two Adam moments, the final copy), six under
    early stopping (the best copy); a step's activations count twice (kept for backward, and
    their gradients). Blocks of batches and evaluation chunks are sized apart (`BLOCK_BYTES`,
    `EVAL_BYTES`) and do not grow with the population.
    """
    params, buffers = _state_bytes(arch, settings)
    batch = min(config.batch_size, len(splits.y_train))
    return (params * (6 if early_stopping else 5) + buffers * 3
            + 2 * batch * _activation_bytes(arch, settings, splits.input_shape))


def _chunks(positions: list[int], most: int) -> list[list[int]]:
    """`positions` cut into as few near-equal populations of at most `most` members as can be.

    Example:
        >>> _chunks([0, 1, 2, 3, 4], most=2)
        [[0, 1], [2, 3], [4]]
    """
    count = -(-len(positions) // max(1, most))
    return [part.tolist() for part in np.array_split(np.array(positions), count)]


_MALLOC_TUNED = False


def _reuse_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the system at once.

    Every step frees and allocates the same large tensors (gradients, activations, evaluation
    chunks). By default glibc returns most blocks over 128 KB to the system and page-faults them in
    again on next use, which cost 6-8% of W35's time on 2 cores. After this, blocks under 32 MB come
    from the heap and up to 256 MB of free heap is kept. Process-wide and once; Linux with glibc
    only (elsewhere nothing changes).
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 256 << 20)


def flushing_denormals() -> bool:
    """Whether the CPU flushes denormal floats to zero now (`torch.set_flush_denormal`)."""
    return bool((torch.tensor([1e-30]) * 1e-10).item() == 0.0)


@contextmanager
def _denormals_flushed():
    """Flush denormal floats (below 1.2e-38) to zero while training, and restore the setting after.

    Late in training the gradients and Adam moments of weights that hardly move fall into the
    denormal range, where every CPU operation on them is many times slower: W35's epochs went from
    225 ms to 500 ms after epoch 20, and back to 225 ms with flushing.
    """
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


# ---- one population ----------------------------------------------------------------------------
class _EarlyStop:
    """Per-member early-stopping state over the active members, on the host (read once per epoch)."""

    def __init__(self, members: list[Member]):
        rules = [m.arm.get(EarlyStopping) for m in members]
        self.on = np.array([r is not None for r in rules])
        rules = [r or EarlyStopping() for r in rules]
        self.patience = np.array([r.patience for r in rules])
        self.min_delta = np.array([r.min_delta for r in rules])
        self.relative = np.array([r.relative for r in rules])
        self.warmup = np.array([r.warmup for r in rules])
        self.accuracy = np.array([r.monitor == "val_accuracy" for r in rules])
        self.best = np.full(len(members), np.inf)
        self.best_epoch = np.zeros(len(members), dtype=int)
        self.wait = np.zeros(len(members), dtype=int)

    def update(self, epoch: int, val_loss: np.ndarray, val_acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(improved, stop) per member after this epoch."""
        score = np.where(self.accuracy, -val_acc, val_loss)
        delta = np.where(self.relative, np.abs(np.where(np.isfinite(self.best), self.best, 0)) * self.min_delta,
                         self.min_delta)
        improved = np.isfinite(score) & (score < self.best - delta)
        self.best = np.where(improved, score, self.best)
        self.best_epoch = np.where(improved, epoch, self.best_epoch)
        self.wait = np.where(improved, 0, self.wait + 1)
        stop = self.on & (self.wait >= self.patience) & (epoch > self.warmup)
        return improved, stop

    def select(self, keep: np.ndarray) -> None:
        for name in ("on", "patience", "min_delta", "relative", "warmup", "accuracy", "best", "best_epoch", "wait"):
            setattr(self, name, getattr(self, name)[keep])


def _decay_factors(net, decay: list[WeightDecay | None], lr: np.ndarray) -> dict[str, tuple]:
    """Per decayed parameter: the L2 coefficient added to its gradient times it, and the factor
    decoupled decay multiplies it by (with each member's learning rate `lr`), each `(K, 1, ...)`
    or None where no member uses it."""
    on, on_all = net.decay_mask(False), net.decay_mask(True)
    l2 = torch.tensor([d.strength if d and not d.decoupled else 0.0 for d in decay])
    wd = torch.tensor([d.strength if d and d.decoupled else 0.0 for d in decay])
    every = torch.tensor([float(bool(d and d.include_bias_and_norm)) for d in decay])
    rate = torch.as_tensor(lr, dtype=torch.float32)
    factors = {}
    for name, p in net.params.items():
        if not on_all[name]:
            continue
        view = (-1,) + (1,) * (p.dim() - 1)
        gate = torch.ones(len(decay)) if on[name] else every
        penalty, shrink = l2 * gate, wd * gate
        factors[name] = (penalty.reshape(view).to(net.device) if penalty.any() else None,
                         (1 - rate * shrink).reshape(view).to(net.device) if shrink.any() else None)
    return {n: f for n, f in factors.items() if f != (None, None)}


def _step_scales(net, scale: np.ndarray) -> list[torch.Tensor] | None:
    """Per parameter, each member's learning rate over the shared one as `(K, 1, ...)`; None when all are 1.

    Adam's and SGD's steps are proportional to the learning rate, so `old.lerp(new, scale)` is the
    step taken at the member's own rate; a weight of exactly 1 gives `new` bit for bit.
    """
    if (scale == 1).all():
        return None
    weight = torch.as_tensor(scale, device=net.device)
    return [weight.reshape((-1,) + (1,) * (p.dim() - 1)) for p in net.params.values()]


def _eval_bytes(device: torch.device) -> int:
    return EVAL_BYTES if device.type == "cpu" else GPU_EVAL_BYTES


def _eval_chunk(K: int, row_bytes: int, device: torch.device) -> int:
    """Samples per evaluation chunk: as many as the population's activations fit in `_eval_bytes`.

    Example:
        >>> _eval_chunk(1024, 2208, torch.device("cpu")), _eval_chunk(1024, 2208, torch.device("cuda"))
        (7, 118)
    """
    return max(1, _eval_bytes(device) // (K * row_bytes))


def _steps_per_block(K: int, batch: int, sample_size: int, units: int, steps: int) -> int:
    """How many steps' batches and dropout masks to draw at once: as many as fit in `BLOCK_BYTES`."""
    return max(1, min(steps, BLOCK_BYTES // max(1, K * batch * (sample_size + units) * 4)))


def _train_population(arch: Architecture, members: list[Member], splits: Splits, config: TrainConfig,
                      on_epoch: EpochCallback | None, positions: list[int] | None = None,
                      notes: list[str] | None = None) -> list[MemberResult]:
    """Train one population; `positions` are the members' places in the caller's list, for `on_epoch`;
    the net's note, if any, is added to `notes`."""
    device = config.resolved_device()
    net = arch.make_net([member_settings(m) for m in members], device)
    if notes is not None and net.note and net.note not in notes:
        notes.append(net.note)
    K = len(members)
    positions = np.arange(K) if positions is None else np.asarray(positions)
    X = torch.as_tensor(splits.X_train, device=device)
    y = torch.as_tensor(splits.y_train, device=device)
    eval_idx = torch.as_tensor(np.random.default_rng(0).permutation(len(y))[: config.train_eval_size], device=device)
    # validation and the fixed training subset are measured in one pass
    X_eval = torch.cat([torch.as_tensor(splits.X_val, device=device), X[eval_idx]])
    y_eval = torch.cat([torch.as_tensor(splits.y_val, device=device), y[eval_idx]])
    n_val = len(splits.y_val)
    N, B = len(y), min(config.batch_size, len(y))
    steps = -(-N // B)
    sample_size = int(np.prod(splits.input_shape))
    units = sum(net.hidden_sizes())
    row_bytes = 4 * (sample_size + _activation_bytes(arch, member_settings(members[0]), splits.input_shape) // 4)

    decay = [m.arm.get(WeightDecay) for m in members]
    lrs = np.array([config.lr if m.lr is None else m.lr for m in members], np.float32)
    factors = _decay_factors(net, decay, lrs)
    step_scale = _step_scales(net, lrs / np.float32(config.lr))
    augmenter = Augmenter([m.arm.get(Augment) for m in members], net.generators, [m.seed for m in members],
                          splits.kind, device)
    stopper = _EarlyStop(members)
    track_best = bool(stopper.on.any())
    best = {n: t.detach().clone() for n, t in net.state().items()} if track_best else None

    params = list(net.params.values())
    opt = _optimizer(params, config)
    active = np.arange(K)  # original position of each member still training
    final: dict[int, dict[str, torch.Tensor]] = {}
    rows: list[np.ndarray] = []  # per epoch: (active, 5) metrics
    stopped_at, diverged = {}, set()
    mask_buffer = None

    def leave(positions: np.ndarray, restore: np.ndarray) -> None:
        for pos, use_best in zip(positions, restore):
            src = best if use_best else net.state()
            final[int(active[pos])] = {n: t[pos].detach().clone() for n, t in src.items()}

    for epoch in range(1, config.epochs + 1):
        order = torch.stack([torch.randperm(N, generator=g) for g in net.generators]).to(device)  # (K, N)
        loss_sum = torch.zeros(net.K, device=device)
        block = _steps_per_block(net.K, B, sample_size, units, steps)
        for first in range(0, steps, block):
            count = min(block, steps - first)
            idx = order[:, first * B:(first + count) * B]  # (K, count*B, last block may be short)
            X_block, y_block = X[idx], y[idx]  # (K, count*B, *sample), (K, count*B)
            if net.any_dropout and device.type in COUNTER_MASK_DEVICES:
                masks = _counter_masks(net, (epoch - 1) * steps + first, count, B)  # per layer (K, count, B, units)
            else:
                if net.any_dropout and (mask_buffer is None or len(mask_buffer) != net.K):
                    mask_buffer = np.empty((net.K, block, B, units), np.float32)
                out = None if mask_buffer is None else mask_buffer[:, :count]
                masks = _dropout_masks(net, count, B, scaled=True, out=out)  # per layer (K, count, B, units)
            for s in range(count):
                xb, targets = X_block[:, s * B:(s + 1) * B], y_block[:, s * B:(s + 1) * B]  # (K, b, *sample), (K, b)
                if augmenter:
                    xb, targets = augmenter(xb, targets)
                step_masks = None if masks is None else [m[:, s, : xb.shape[1]] for m in masks]
                if net.hand_backward:
                    losses = net.train_step(xb, targets, step_masks)  # (K,), gradients written
                else:
                    losses = _member_losses(net.forward(xb, train=True, masks=step_masks), targets)  # (K,)
                    opt.zero_grad(set_to_none=True)
                    losses.sum().backward()
                with torch.no_grad():
                    for name, (penalty, shrink) in factors.items():
                        p = net.params[name]
                        if penalty is not None:
                            p.grad.add_(p * penalty)
                        if shrink is not None:
                            p.mul_(shrink)
                    before = [p.detach().clone() for p in net.params.values()] if step_scale else None
                opt.step()
                if step_scale:  # a member's own learning rate: its step, stretched
                    with torch.no_grad():
                        for p, old, scale in zip(net.params.values(), before, step_scale):
                            torch.lerp(old, p, scale, out=p)
                loss_sum += losses.detach()
        chunk = _eval_chunk(net.K, row_bytes, device)
        loss, correct = _sample_metrics(net, X_eval, y_eval, chunk)  # (K, n_val + n_fit)
        val_loss, val_acc = loss[:, :n_val].mean(1), correct[:, :n_val].mean(1)
        fit_loss, fit_acc = loss[:, n_val:].mean(1), correct[:, n_val:].mean(1)
        metrics = torch.stack([fit_loss, fit_acc, val_loss, val_acc, loss_sum / steps], 1).cpu().numpy()  # (K, 5)
        rows.append(np.column_stack([active, np.full(len(active), epoch), metrics]))
        improved, stop = stopper.update(epoch, metrics[:, 2], metrics[:, 3])
        if track_best:
            with torch.no_grad():
                better = torch.as_tensor(improved, device=device)
                for n, t in net.state().items():
                    best[n] = torch.where(better.reshape((-1,) + (1,) * (t.dim() - 1)), t, best[n])
        bad = ~np.isfinite(metrics[:, [2, 4]]).all(1)
        leaving = bad | stop
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "epochs": config.epochs, "members": positions[active], "metrics": metrics,
                      "architecture": arch})
        if leaving.any() or epoch == config.epochs:
            done = leaving if epoch < config.epochs else np.ones(len(active), bool)
            gone = np.flatnonzero(done)
            leave(gone, stopper.on[gone] & ~bad[gone])
            for pos in np.flatnonzero(stop & ~bad):
                stopped_at[int(active[pos])] = epoch
            diverged.update(int(active[pos]) for pos in np.flatnonzero(bad))
            keep = np.flatnonzero(~done)
            if len(keep) == 0:
                break
            keep_t = torch.as_tensor(keep, device=device)
            old_params = list(net.params.values())
            net = net.select(keep.tolist())
            opt = _carry_optimizer(opt, old_params, list(net.params.values()), keep_t, config)
            augmenter = augmenter.select(keep.tolist())
            stopper.select(keep)
            if track_best:
                best = {n: t[keep_t] for n, t in best.items()}
            decay, lrs = [decay[i] for i in keep], lrs[keep]
            factors = _decay_factors(net, decay, lrs)
            step_scale = _step_scales(net, lrs / np.float32(config.lr))
            active = active[keep]
    return _finish(arch, members, splits, config, final, rows, stopped_at, diverged, stopper_best_epochs(rows, members))


def stopper_best_epochs(rows: list[np.ndarray], members: list[Member]) -> dict[int, int]:
    """The epoch each member's kept weights come from: its early-stopping best, else lowest validation loss."""
    table = np.concatenate(rows)
    out = {}
    for k, m in enumerate(members):
        mine = table[table[:, 0] == k]
        rule = m.arm.get(EarlyStopping)
        score = -mine[:, 5] if rule and rule.monitor == "val_accuracy" else mine[:, 4]
        finite = np.isfinite(score)
        out[k] = int(mine[finite][np.argmin(score[finite]), 1]) if finite.any() else None
    return out


def _finish(arch, members, splits, config, final, rows, stopped_at, diverged, best_epochs) -> list[MemberResult]:
    """Test every member once with its kept weights, and package the results."""
    device = config.resolved_device()
    K = len(members)
    net = arch.make_net([member_settings(m) for m in members], device)
    with torch.no_grad():
        for n, t in net.params.items():
            t.copy_(torch.stack([final[k][n] for k in range(K)]))
        for n, t in net.buffers.items():
            t.copy_(torch.stack([final[k][n] for k in range(K)]))
    X_test, y_test = torch.as_tensor(splits.X_test, device=device), torch.as_tensor(splits.y_test, device=device)
    test_loss, test_acc = (t.cpu().numpy() for t in _evaluate(net, X_test, y_test))
    table = np.concatenate(rows)
    columns = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss"]
    results = []
    for k, m in enumerate(members):
        mine = table[table[:, 0] == k]
        is_bad = k in diverged
        test = np.full((len(mine), 2), np.nan)  # test metrics on the last row only
        if not is_bad:
            test[-1] = test_loss[k], test_acc[k]
        frame = pd.DataFrame({"member": mine[:, 0].astype(int), "epoch": mine[:, 1].astype(int),
                              **{c: mine[:, 2 + i] for i, c in enumerate(columns)},
                              "test_loss": test[:, 0], "test_accuracy": test[:, 1]})
        module = net.to_module(k)
        results.append(MemberResult(
            member=m, architecture=arch, history=frame, best_epoch=best_epochs[k], stopped_epoch=stopped_at.get(k),
            diverged=is_bad, test_loss=float("nan") if is_bad else float(test_loss[k]),
            test_accuracy=float("nan") if is_bad else float(test_acc[k]),
            num_params=sum(p.numel() for p in module.parameters()), state_dict=module.state_dict()))
    return results


# ---- the entry point ---------------------------------------------------------------------------
def train(splits: Splits, members: list[Member], model: ModelSpec = ModelSpec(), config: TrainConfig = TrainConfig(),
          on_epoch: EpochCallback | None = None) -> TrainResult:
    """Train every member; members of one architecture train together as one population.

    A population that would not fit in `config.memory_budget` is cut into smaller populations
    trained one after another, and so is one whose weights, gradients and optimizer state would
    not stay in a CPU's cache (`CPU_WORKING_SET`); each member's results are the same either way.

    Args:
        splits: the data, already split.
        members: arms and seeds to train.
        model: a `ModelSpec` (default `auto`, by the data's kind), or your own factory: a callable
            returning a fresh `nn.Module` mapping `(B, *sample)` to logits; it receives `dropout=`,
            `batchnorm=` and `width=` keywords when an arm uses those remedies.
        config: settings every member shares. Default `TrainConfig()`.
        on_epoch: called after each epoch of each population with a dict of `epoch`, `epochs`,
            `members` (positions in `members` of those still training), `metrics` (`(K, 5)`: train loss, train accuracy,
            validation loss, validation accuracy, running loss) and `architecture`. Default None.

    Returns:
        A `TrainResult` with one `MemberResult` per member, in order.

    Example:
        >>> from goodfit.data import load, split, Conditions
        >>> s = split(load("wine"), Conditions(), seed=0)
        >>> r = train(s, [Member(Arm("baseline"), 0)], config=TrainConfig(epochs=3))
        >>> r.members[0].history["epoch"].tolist()
        [1, 2, 3]
    """
    if not members:
        raise GoodfitError("no members to train; give at least one arm and one seed")
    for m in members:
        _check_member(m, splits.kind)
    start = time.perf_counter()
    groups: dict[Architecture, list[int]] = {}
    for i, m in enumerate(members):
        groups.setdefault(architecture_of(m, model, splits), []).append(i)
    results: list[MemberResult | None] = [None] * len(members)
    notes: list[str] = []
    device = config.resolved_device()
    if device.type == "cpu":
        _reuse_freed_memory()
    budget = config.memory_budget or available_memory(device) // 2
    data = sum(a.nbytes for a in (splits.X_train, splits.X_val)) + BLOCK_BYTES + _eval_bytes(device)
    with _denormals_flushed():
        for arch, positions in groups.items():
            group = [members[i] for i in positions]
            settings = MemberSettings(0, batchnorm=any(m.arm.get(BatchNorm) for m in group))
            per_member = member_bytes(arch, settings, splits, config, any(m.arm.get(EarlyStopping) for m in group))
            most = max(1, (budget - data) // per_member)
            if device.type == "cpu":
                most = min(most, max(1, CPU_WORKING_SET // (4 * _state_bytes(arch, settings)[0])))
            for chunk in _chunks(positions, most):
                trained = _train_population(arch, [members[i] for i in chunk], splits, config, on_epoch, chunk, notes)
                for pos, r in zip(chunk, trained):
                    results[pos] = r
    return TrainResult(results, time.perf_counter() - start, splits.num_classes, notes)
