"""The training loop of one population. It knows no remedy by name: at each point of a step it calls
the pieces (`Population.call`), and members leave through one `select`.

Per epoch: each member's own minibatch order, blocks of gathered batches, one forward and backward
pass for all members (hand-written for MLPs, autograd otherwise), one fused optimizer step, then one
evaluation of validation and a fixed training subset, read to the host once.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.memory import activation_bytes, eval_chunk, steps_per_block
from goodfit.engine.members import member_settings
from goodfit.engine.piece import Step
from goodfit.engine.population import Population
from goodfit.engine.results import EpochMetrics, MemberResult, member_history

EpochCallback = Callable[[dict], None]


def member_losses(logits: torch.Tensor, targets) -> torch.Tensor:
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


def sample_metrics(net, X: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode loss and correctness per member and sample `(K, N)`, staying on the device.

    `X (N, *sample)` and `y (N,)` are shared by all members, or each member's own, `(K, N, ...)` and `(K, N)`.
    """
    if y.dim() == 1:  # shared: every member sees the same samples (a view, no copy)
        X = X.expand((net.K,) + X.shape)
    with torch.no_grad():
        logits = torch.cat([net.forward(X[:, i:i + chunk], train=False) for i in range(0, X.shape[1], chunk)], 1)
    picked = logits.gather(-1, y.expand(net.K, -1)[..., None])[..., 0]  # (K, N)
    # cross-entropy as logsumexp minus the true logit: a quarter of log_softmax's time for few classes
    return torch.logsumexp(logits, -1) - picked, (logits.argmax(-1) == y).float()


def _tensors(splits: Splits | list[Splits], names: tuple[str, ...], device) -> list[torch.Tensor]:
    """The named arrays on `device`: one `Splits`'s as they are, or members' own stacked `(K, N, ...)`."""
    if isinstance(splits, list):
        return [torch.as_tensor(np.stack([getattr(s, name) for s in splits]), device=device) for name in names]
    return [torch.as_tensor(getattr(splits, name), device=device) for name in names]


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
        subset = torch.as_tensor(np.random.default_rng(0).permutation(n_train)[: config.train_eval_size],
                                 device=device)
        # validation and the fixed training subset are measured in one pass
        axis = 1 if self.own else 0
        self.X_eval = torch.cat([X_val, self.X.index_select(axis, subset)], axis)
        self.y_eval = torch.cat([y_val, self.y.index_select(axis, subset)], axis)
        self.n_val = len(splits.y_val)
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
    block = steps_per_block(net.K, B, data.sample_size, sum(net.hidden_sizes()), steps)
    for first in range(0, steps, block):
        count = min(block, steps - first)
        idx = order[:, first * B:(first + count) * B]  # (K, count*B), the last block may be short
        X_block, y_block = data.batches(idx)  # (K, count*B, *sample), (K, count*B)
        X_block = run.call(Step("block", net, epoch, first=(epoch - 1) * steps + first, count=count, batch=B,
                                x=X_block, targets=y_block)).x  # a piece may change the block's inputs
        for s in range(count):
            step = run.call(Step("batch", net, epoch, index=s, batch=B, x=X_block[:, s * B:(s + 1) * B],
                                 targets=y_block[:, s * B:(s + 1) * B]))  # (K, b, *sample), (K, b)
            if net.hand_backward:
                losses = net.train_step(step.x, step.targets, step.masks)  # (K,), gradients written
            else:
                losses = member_losses(net.forward(step.x, train=True, masks=step.masks), step.targets)  # (K,)
                run.opt.zero_grad()
                losses.sum().backward()
            step.at = "gradient"
            run.call(step)
            run.opt.step()
            step.at = "step"
            run.call(step)
            loss_sum += losses.detach()
    return loss_sum / steps


def step_seconds(arch, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                 steps: int = 3) -> float:
    """Seconds one training step of these members takes together: forward, backward and optimizer on each
    member's first batch, the median of `steps` after one untimed. Trains a copy: nothing of it is kept."""
    run = Population(arch, members, splits, config)
    data = _Data(run)
    x, y = data.batches(torch.arange(data.B, device=run.device).expand(run.net.K, -1))
    sync = torch.cuda.synchronize if run.device.type == "cuda" else (lambda: None)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        losses = member_losses(run.net.forward(x, train=True), y)
        run.opt.zero_grad()
        losses.sum().backward()
        run.opt.step()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _evaluate(run: Population, data: _Data, epoch: int, running: torch.Tensor) -> EpochMetrics:
    chunk = eval_chunk(run.net.K, data.row_bytes, run.device)
    loss, correct = sample_metrics(run.net, data.X_eval, data.y_eval, chunk)  # (K, n_val + n_fit)
    n = data.n_val
    named = torch.stack([loss[:, n:].mean(1), correct[:, n:].mean(1), loss[:, :n].mean(1), correct[:, :n].mean(1),
                         running]).cpu().numpy()  # (5, K): read once an epoch
    return EpochMetrics(epoch, run.positions.copy(), *named)


def train_population(arch, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                     on_epoch: EpochCallback | None = None,
                     positions: list[int] | None = None) -> tuple[list[MemberResult], str | None]:
    """Train one population; returns each member's result in order, and the net's note (or None).

    `positions` are the members' places in the caller's list, as `on_epoch` reports them.
    """
    run = Population(arch, members, splits, config, positions)
    first_positions, note = run.positions.copy(), getattr(run.net, "note", None)
    data = _Data(run)
    epochs: list[EpochMetrics] = []
    final, best_epoch, stopped, diverged = {}, {}, {}, set()
    for epoch in range(1, config.epochs + 1):
        running = _train_epoch(run, data, epoch)
        metrics = _evaluate(run, data, epoch, running)
        epochs.append(metrics)
        step = run.call(Step("epoch", run.net, epoch, metrics=metrics, stop=np.zeros(run.net.K, bool),
                             diverged=~metrics.finite))
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "epochs": config.epochs, "members": run.positions.copy(), "metrics": metrics,
                      "architecture": arch})
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
        if len(keep) == 0:
            break
        run.select(keep)
        data.select(keep)
    return _results(arch, members, splits, config, first_positions, epochs, final, best_epoch, stopped,
                    diverged), note


def _results(arch, members, splits, config, positions, epochs, final, best_epoch, stopped,
             diverged) -> list[MemberResult]:
    """Test every member once with its kept weights, and package the results."""
    device = config.resolved_device()
    net = arch.make_net([member_settings(m) for m in members], device)
    with torch.no_grad():
        for name, t in {**net.params, **net.buffers}.items():
            t.copy_(torch.stack([final[int(p)][name] for p in positions]))
    loss, correct = sample_metrics(net, *_tensors(splits, ("X_test", "y_test"), device))
    test_loss, test_acc = loss.mean(1).cpu().numpy(), correct.mean(1).cpu().numpy()
    results = []
    for k, (m, position) in enumerate(zip(members, positions)):
        position = int(position)
        bad = position in diverged
        module = net.to_module(k)
        results.append(MemberResult(
            member=m, architecture=arch,
            history=member_history(epochs, position, None if bad else (float(test_loss[k]), float(test_acc[k]))),
            best_epoch=best_epoch.get(position), stopped_epoch=stopped.get(position), diverged=bad,
            test_loss=float("nan") if bad else float(test_loss[k]),
            test_accuracy=float("nan") if bad else float(test_acc[k]),
            num_params=sum(p.numel() for p in module.parameters()), state_dict=module.state_dict()))
    return results
