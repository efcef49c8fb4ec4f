"""The population engine: trains K members at once, one forward and backward pass for all.

Members that share an architecture train in one `PopulationNet`; each keeps its own generator,
dropout rate, weight decay, augmentation, early-stopping state and width. A single model is a
population of one. The engine records metrics and never formats text.
"""
from __future__ import annotations

import time
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
from goodfit.nn.population import Architecture, MemberSettings, PopulationNet
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

OPTIMIZERS = ("adam", "sgd")


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
    """One training run of a study: an arm and a seed.

    Example:
        >>> Member(Arm("baseline"), seed=3).seed
        3
    """

    arm: Arm
    seed: int


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
    """All members' results, in the order the members were given, and the wall time."""

    members: list[MemberResult]
    seconds: float
    num_classes: int

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


def _evaluate(net: PopulationNet, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode loss and accuracy per member `(K,)`, staying on the device."""
    logits = net.predict(X)  # (K, N, C)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(net.K), reduction="none")
    return loss.reshape(net.K, -1).mean(1), (logits.argmax(-1) == y).float().mean(1)


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


def _dropout_masks(net: PopulationNet, steps: int, batch: int) -> list[torch.Tensor] | None:
    """Keep-masks for a whole epoch, `(K, steps, batch, units)` per hidden layer, one draw per member."""
    if not net.any_dropout:
        return None
    sizes = net.hidden_sizes()
    masks = torch.ones((net.K, steps, batch, sum(sizes)), dtype=torch.bool)
    for k, (g, m) in enumerate(zip(net.generators, net.members)):
        if m.dropout > 0:
            masks[k] = torch.rand((steps, batch, sum(sizes)), generator=g) >= m.dropout
    masks = masks.to(net.device)
    return list(torch.split(masks, sizes, dim=-1))


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


def _train_population(arch: Architecture, members: list[Member], splits: Splits, config: TrainConfig,
                      on_epoch: EpochCallback | None) -> list[MemberResult]:
    device = config.resolved_device()
    net = arch.make_net([member_settings(m) for m in members], device)
    K = len(members)
    X = torch.as_tensor(splits.X_train, device=device)
    y = torch.as_tensor(splits.y_train, device=device)
    X_val, y_val = torch.as_tensor(splits.X_val, device=device), torch.as_tensor(splits.y_val, device=device)
    eval_idx = torch.as_tensor(np.random.default_rng(0).permutation(len(y))[: config.train_eval_size], device=device)
    X_fit, y_fit = X[eval_idx], y[eval_idx]
    N, B = len(y), min(config.batch_size, len(y))
    steps = -(-N // B)

    decay = [m.arm.get(WeightDecay) for m in members]
    l2 = torch.tensor([d.strength if d and not d.decoupled else 0.0 for d in decay], device=device)
    wd = torch.tensor([d.strength if d and d.decoupled else 0.0 for d in decay], device=device)
    decay_on, decay_all = net.decay_mask(False), net.decay_mask(True)
    per_member_all = torch.tensor([bool(d and d.include_bias_and_norm) for d in decay], device=device)
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

    def leave(positions: np.ndarray, restore: np.ndarray) -> None:
        for pos, use_best in zip(positions, restore):
            src = best if use_best else net.state()
            final[int(active[pos])] = {n: t[pos].detach().clone() for n, t in src.items()}

    for epoch in range(1, config.epochs + 1):
        order = torch.stack([torch.randperm(N, generator=g) for g in net.generators]).to(device)  # (K, N)
        masks = _dropout_masks(net, steps, B)
        loss_sum = torch.zeros(net.K, device=device)
        for s in range(steps):
            idx = order[:, s * B:(s + 1) * B]  # (K, b)
            xb, targets = X[idx], y[idx]  # (K, b, *sample), (K, b)
            if augmenter:
                xb, targets = augmenter(xb, targets)
            step_masks = None if masks is None else [m[:, s, : idx.shape[1]] for m in masks]
            losses = _member_losses(net.forward(xb, train=True, masks=step_masks), targets)  # (K,)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            with torch.no_grad():
                for name, p in net.params.items():
                    if not decay_all[name]:
                        continue
                    view = (-1,) + (1,) * (p.dim() - 1)
                    gate = 1.0 if decay_on[name] else per_member_all.float().reshape(view)
                    if l2.any():
                        p.grad.add_(p * (l2.reshape(view) * gate))
                    if wd.any():
                        p.mul_(1 - config.lr * wd.reshape(view) * gate)
            opt.step()
            loss_sum += losses.detach()
        val_loss, val_acc = _evaluate(net, X_val, y_val)
        fit_loss, fit_acc = _evaluate(net, X_fit, y_fit)
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
            on_epoch({"epoch": epoch, "epochs": config.epochs, "members": active.copy(), "metrics": metrics,
                      "architecture": arch})
        if leaving.any() or epoch == config.epochs:
            done = leaving if epoch < config.epochs else np.ones(len(active), bool)
            positions = np.flatnonzero(done)
            leave(positions, stopper.on[positions] & ~bad[positions])
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
            l2, wd, per_member_all = l2[keep_t], wd[keep_t], per_member_all[keep_t]
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
    columns = ["member", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss"]
    results = []
    for k, m in enumerate(members):
        frame = pd.DataFrame(table[table[:, 0] == k], columns=columns).astype({"member": int, "epoch": int})
        is_bad = k in diverged
        frame["test_loss"], frame["test_accuracy"] = np.nan, np.nan
        frame.loc[frame.index[-1], ["test_loss", "test_accuracy"]] = (
            (np.nan, np.nan) if is_bad else (float(test_loss[k]), float(test_acc[k])))
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

    Args:
        splits: the data, already split.
        members: arms and seeds to train.
        model: a `ModelSpec` (default `auto`, by the data's kind), or your own factory: a callable
            returning a fresh `nn.Module` mapping `(B, *sample)` to logits; it receives `dropout=`,
            `batchnorm=` and `width=` keywords when an arm uses those remedies.
        config: settings every member shares. Default `TrainConfig()`.
        on_epoch: called after each epoch of each population with a dict of `epoch`, `epochs`,
            `members` (positions still training), `metrics` (`(K, 5)`: train loss, train accuracy,
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
    for arch, positions in groups.items():
        for pos, r in zip(positions, _train_population(arch, [members[i] for i in positions], splits, config, on_epoch)):
            results[pos] = r
    return TrainResult(results, time.perf_counter() - start, splits.num_classes)
