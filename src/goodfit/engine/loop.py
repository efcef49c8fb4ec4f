"""The training loop of one population. It knows no remedy by name: at each point of a step it calls
the pieces (`Population.call`), and members leave through one `select`.

Per epoch: each member's own minibatch order, blocks of gathered batches, one forward and backward
pass for all members, one fused optimizer step, then one evaluation of validation and a fixed
training subset, read to the host once.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.memory import activation_bytes, eval_chunk, steps_per_block
from goodfit.engine.members import member_settings
from goodfit.engine.piece import Step
from goodfit.engine.population import Population
from goodfit.engine.results import CLASSIFICATION, REGRESSION, EpochMetrics, MemberResult, member_history
from goodfit.engine.scores import scores
from goodfit.nn.losses import Loss

EpochCallback = Callable[[dict], None]


def member_losses(out: torch.Tensor, targets, loss: Loss = Loss()) -> torch.Tensor:
    """Mean training loss per member `(K,)`; targets are labels or numbers `(K, B)`, or a mixup triple."""
    return loss.per_sample(out, targets).mean(1)


def sample_metrics(net, X: torch.Tensor, y: torch.Tensor, chunk: int = 1024,
                   loss: Loss = Loss()) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode loss per member and sample `(K, N)`, with each prediction's correctness (classes) or its
    error, prediction minus target (regression), staying on the device.

    `X (N, *sample)` and `y (N,)` are shared by all members, or each member's own, `(K, N, ...)` and `(K, N)`.
    """
    out = predictions(net, X, y, chunk)
    y = y.expand(net.K, -1)
    if loss.regression:
        return loss.per_sample(out, y), out[..., 0] - y
    return loss.per_sample(out, y), (out.argmax(-1) == y).float()


def predictions(net, X: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Eval-mode outputs `(K, N, C)` of every member; `X` and `y` as for `sample_metrics`."""
    if y.dim() == 1:  # shared: every member sees the same samples (a view, no copy)
        X = X.expand((net.K,) + X.shape)
    with torch.no_grad():
        return torch.cat([net.forward(X[:, i:i + chunk], train=False) for i in range(0, X.shape[1], chunk)], 1)


def _tensors(splits: Splits | list[Splits], names: tuple[str, ...], device) -> list[torch.Tensor]:
    """The named arrays on `device`: one `Splits`'s as they are, or members' own stacked `(K, N, ...)`."""
    if isinstance(splits, list):
        return [torch.as_tensor(np.stack([getattr(s, name) for s in splits]), device=device) for name in names]
    return [torch.as_tensor(getattr(splits, name), device=device) for name in names]


def _target_std(splits: Splits | list[Splits], device) -> torch.Tensor | float:
    """Regression targets' training standard deviation: one for all, or each member's own split's `(K,)`."""
    if isinstance(splits, list):
        return torch.tensor([s.target_std for s in splits], device=device)
    return splits.target_std


def _fit_subset(n_train: int, config: TrainConfig, device) -> torch.Tensor:
    """The fixed training rows measured in eval mode, the same for every member and epoch."""
    return torch.as_tensor(np.random.default_rng(0).permutation(n_train)[: config.train_eval_size], device=device)


class _Data:
    """The population's tensors on its device: training set, and validation plus a fixed training subset.

    Shared by all members, or with members' own splits (`own`) each member's, stacked on a first
    axis that follows the members as they leave (`select`).
    """

    def __init__(self, run: Population):
        splits, config, device = run.splits, run.config, run.device
        self.own = run.own_splits is not None
        self.X, self.y, X_val, y_val = _tensors(run.own_splits or splits, ("X_train", "y_train", "X_val", "y_val"),
                                                device)
        n_train = self.y.shape[-1]
        subset = _fit_subset(n_train, config, device)
        # validation and the fixed training subset are measured in one pass
        axis = 1 if self.own else 0
        self.X_eval = torch.cat([X_val, self.X.index_select(axis, subset)], axis)
        self.y_eval = torch.cat([y_val, self.y.index_select(axis, subset)], axis)
        self.n_val = len(splits.y_val)
        self.target_std = _target_std(run.own_splits or splits, device)
        self.N, self.B = n_train, min(config.batch_size, n_train)
        self.steps = -(-self.N // self.B)
        self.sample_size = int(np.prod(splits.input_shape))
        self.row_bytes = 4 * (self.sample_size + activation_bytes(run.arch, member_settings(run.members[0]),
                                                                  splits.input_shape) // 4)

    def select(self, keep: np.ndarray) -> None:
        """Keep the data of the members at positions `keep` (members' own data only)."""
        if self.own:
            index = torch.as_tensor(keep, device=self.X.device)
            self.X, self.y, self.X_eval, self.y_eval = (t.index_select(0, index)
                                                        for t in (self.X, self.y, self.X_eval, self.y_eval))
            self.target_std = self.target_std[index]

    def batches(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's samples at its indices `idx (K, n)`: `(K, n, *sample)` and `(K, n)`."""
        if self.own:
            rows = torch.arange(len(idx), device=idx.device)[:, None]
            return self.X[rows, idx], self.y[rows, idx]
        return self.X[idx], self.y[idx]


def _train_epoch(run: Population, data: _Data, epoch: int) -> torch.Tensor:
    """One pass over the training set for every member; returns each member's mean minibatch loss `(K,)`."""
    net, B, steps = run.net, data.B, data.steps
    order = torch.stack([torch.randperm(data.N, generator=g) for g in net.generators]).to(run.device)  # (K, N)
    loss_sum = torch.zeros(net.K, device=run.device)
    block = steps_per_block(net.K, B, data.sample_size, sum(net.mask_sizes()), steps)
    rates = run.schedule.rates_now()  # (groups, K), this step's rates in each optimizer group
    for first in range(0, steps, block):
        count = min(block, steps - first)
        idx = order[:, first * B:(first + count) * B]  # (K, count*B), the last block may be short
        X_block, y_block = data.batches(idx)  # (K, count*B, *sample), (K, count*B)
        block_step = run.call(Step("block", net, epoch, first=(epoch - 1) * steps + first, count=count, batch=B,
                                   x=X_block, targets=y_block))  # a piece may change the block's inputs and labels
        X_block, y_block = block_step.x, block_step.targets
        for s in range(count):
            step = run.call(Step("batch", net, epoch, index=s, batch=B, x=X_block[:, s * B:(s + 1) * B],
                                 targets=y_block[:, s * B:(s + 1) * B]))  # (K, b, *sample), (K, b)
            losses = member_losses(net.forward(step.x, train=True, masks=step.masks), step.targets, run.loss)  # (K,)
            run.opt.zero_grad()
            losses.sum().backward()
            step.at, step.rates = "gradient", rates
            run.call(step)
            run.opt.step(run.schedule.settings())
            step.at = "step"
            run.call(step)
            loss_sum += losses.detach()
            run.schedule.advance("step")
            rates = run.schedule.rates_now() if run.schedule.schedulers else rates
    return loss_sum / steps


def step_seconds(arch, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                 steps: int = 3) -> float:
    """Seconds one training step of these members takes together: forward, backward and optimizer on each
    member's first batch, the median of `steps` after one untimed. Trains a copy: nothing of it is kept."""
    run = Population(arch, members, splits, config)
    own, B = run.own_splits or [run.splits] * run.net.K, min(config.batch_size, len(run.splits.y_train))
    x, y = (torch.as_tensor(np.stack([getattr(s, name)[:B] for s in own]), device=run.device)
            for name in ("X_train", "y_train"))  # (K, B, *sample), (K, B)
    sync = torch.cuda.synchronize if run.device.type == "cuda" else (lambda: None)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        losses = member_losses(run.net.forward(x, train=True), y, run.loss)
        run.opt.zero_grad()
        losses.sum().backward()
        run.opt.step(run.schedule.settings())
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _evaluate(run: Population, data: _Data, epoch: int, running: torch.Tensor, lr: np.ndarray) -> EpochMetrics:
    """The epoch's metrics by name (`results.CLASSIFICATION` or `REGRESSION`), then each member's rate `lr`."""
    chunk = eval_chunk(run.net.K, data.row_bytes, run.device)
    n = data.n_val
    if run.loss.regression:
        out = predictions(run.net, data.X_eval, data.y_eval, chunk)  # (K, n_val + n_fit, 1)
        fit, val = (scores(out[:, part], data.y_eval[..., part], run.loss, data.target_std)
                    for part in (slice(n, None), slice(n)))
        values = {f"{where}_{name}": v for where, got in (("train", fit), ("val", val)) for name, v in got.items()}
        values["running_loss"] = running.cpu().numpy()
        return EpochMetrics(epoch, run.positions.copy(), {**{name: values[name] for name in REGRESSION}, "lr": lr})
    loss, correct = sample_metrics(run.net, data.X_eval, data.y_eval, chunk, run.loss)  # (K, n_val + n_fit)
    named = torch.stack([loss[:, n:].mean(1), correct[:, n:].mean(1), loss[:, :n].mean(1), correct[:, :n].mean(1),
                         running]).cpu().numpy()  # (5, K): read once an epoch
    return EpochMetrics(epoch, run.positions.copy(), {**dict(zip(CLASSIFICATION, named)), "lr": lr})


@dataclass
class Paused:
    """A population as its last epoch left it, before its members were tested: net, optimizer, pieces'
    state and the epochs so far. Training it on is training its members for longer (`Continuation`)."""

    run: Population
    data: _Data
    epochs: list[EpochMetrics]
    epoch: int

    def resumed(self, keep: list[int], positions: list[int]) -> "Paused":
        """The members at `keep` (indices into `run.members`) only, numbered `positions` in a new caller's
        list; their epochs so far renumbered to match. Takes the run over: use each `Paused` once."""
        old = self.run.positions[keep]
        renumber = dict(zip(old.tolist(), positions))
        if len(keep) < len(self.run.members):
            self.run.select(np.asarray(keep))
            self.data.select(np.asarray(keep))
        self.run.positions = np.asarray(positions)
        epochs = [EpochMetrics(m.epoch, np.array([renumber.get(int(p), -1) for p in m.members]), m.values)
                  for m in self.epochs]
        return Paused(self.run, self.data, epochs, self.epoch)


def train_population(arch, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                     on_epoch: EpochCallback | None = None, positions: list[int] | None = None,
                     paused: Paused | None = None, pause: bool = False
                     ) -> tuple[list[MemberResult], str | None, Paused | None]:
    """Train one population; returns each member's result in order, the net's note (or None) and, with
    `pause`, the population after its last epoch (`Paused`, else None).

    `positions` are the members' places in the caller's list, as `on_epoch` reports them. With `paused`
    (whose members are `members`, numbered `positions`), training goes on from its last epoch to
    `config.epochs`, as if it had never stopped.
    """
    if paused is None:
        run = Population(arch, members, splits, config, positions)
        data, epochs, start = _Data(run), [], 1
    else:
        run, data, epochs, start = paused.run, paused.data, list(paused.epochs), paused.epoch + 1
    first_positions, note = run.positions.copy(), getattr(run.net, "note", None)
    final, best_epoch, stopped, diverged = {}, {}, {}, set()
    held = None
    for epoch in range(start, config.epochs + 1):
        lr = run.schedule.lrs()  # the rate the epoch starts at, as Lightning's LearningRateMonitor logs it
        running = _train_epoch(run, data, epoch)
        metrics = _evaluate(run, data, epoch, running, lr)
        epochs.append(metrics)
        run.schedule.advance("epoch", metrics.val_loss)
        step = run.call(Step("epoch", run.net, epoch, metrics=metrics, stop=np.zeros(run.net.K, bool),
                             diverged=~metrics.finite))
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "epochs": config.epochs, "members": run.positions.copy(), "metrics": metrics,
                      "architecture": arch, "net": run.net})
        leaving = step.stop | step.diverged | (epoch == config.epochs)
        if not leaving.any():
            continue
        rows = np.flatnonzero(leaving)
        index = torch.as_tensor(rows, device=run.device)
        left = run.call(Step("leave", run.net, epoch, leaving=leaving, diverged=step.diverged,
                             kept={name: t[index].clone() for name, t in run.net.state().items()}))
        for j, k in enumerate(rows):
            position = int(run.positions[k])
            final[position] = {name: t[j] for name, t in left.kept.items()}
            best_epoch[position] = int(left.best_epoch[j]) or None
            if step.diverged[k]:
                diverged.add(position)
            elif step.stop[k]:
                stopped[position] = epoch
        keep = np.flatnonzero(~leaving)
        if epoch == config.epochs and pause:
            going_on = np.flatnonzero(~(step.stop | step.diverged))  # those a longer run would still train
            if len(going_on):
                held = Paused(run, data, epochs, epoch).resumed(going_on.tolist(), run.positions[going_on].tolist())
        if len(keep) == 0:
            break
        run.select(keep)
        data.select(keep)
    results = _results(arch, members, splits, config, first_positions, epochs, final, best_epoch, stopped, diverged)
    return results, note, held


def _results(arch, members, splits, config, positions, epochs, final, best_epoch, stopped,
             diverged) -> list[MemberResult]:
    """Test every member once with its kept weights, and package the results."""
    device = config.resolved_device()
    net = arch.make_net([member_settings(m) for m in members], device)
    with torch.no_grad():
        for name, t in {**net.params, **net.buffers}.items():
            t.copy_(torch.stack([final[int(p)][name] for p in positions]))
    first = splits[0] if isinstance(splits, list) else splits
    loss, std = config.loss_for(first.task), _target_std(splits, device)
    X_train, y_train = _tensors(splits, ("X_train", "y_train"), device)
    subset = _fit_subset(y_train.shape[-1], config, device)
    axis = 1 if isinstance(splits, list) else 0
    parts = {"train": (X_train.index_select(axis, subset), y_train.index_select(axis, subset)),
             "val": _tensors(splits, ("X_val", "y_val"), device), "test": _tensors(splits, ("X_test", "y_test"), device)}
    outputs = {where: predictions(net, X, y) for where, (X, y) in parts.items()}  # with the kept weights
    got = {f"{where}_{name}": v for where, (X, y) in parts.items() for name, v in scores(outputs[where], y, loss, std).items()}
    own = splits if isinstance(splits, list) else [splits]
    if all(s.y_train_clean is not None for s in own):  # label noise: the same predictions against the true labels
        clean = _tensors(splits, ("y_train_clean",), device)[0].index_select(axis, subset)
        got["train_clean_accuracy"] = scores(outputs["train"], clean, loss, std)["accuracy"]
    results = []
    for k, (m, position) in enumerate(zip(members, positions)):
        position = int(position)
        bad = position in diverged
        mine = {name: float("nan") if bad else float(v[k]) for name, v in got.items()}
        test = {name: v for name, v in mine.items() if name.startswith("test_")}
        module = net.to_module(k)
        results.append(MemberResult(
            member=m, architecture=arch, history=member_history(epochs, position, None if bad else test),
            best_epoch=best_epoch.get(position), stopped_epoch=stopped.get(position), diverged=bad,
            test_loss=mine["test_loss"], test_accuracy=mine.get("test_accuracy", float("nan")),
            num_params=sum(p.numel() for p in module.parameters() if p.requires_grad),
            frozen_params=sum(p.numel() for p in module.parameters() if not p.requires_grad),
            state_dict=module.state_dict(), scores=mine))
    return results
