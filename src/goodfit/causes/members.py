"""How every check of `goodfit causes` trains: rows of the user's data cut into members' own splits
(folds, subsets), all trained through the population engine, each member's outputs on every row
recorded at each epoch it trains.

Rows are the data's own (0-based, in file order); nothing here judges.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from goodfit.data import Dataset
from goodfit.data.splits import Splits
from goodfit.engine import Member, TrainConfig, TrainResult, train
from goodfit.engine.loop import predictions
from goodfit.engine.memory import torch_threads
from goodfit.errors import GoodfitError
from goodfit.models import ModelSpec
from goodfit.remedies import Arm


def features(dataset: Dataset) -> np.ndarray:
    """The inputs as the engine takes them: float32, tables standardized over all rows (their labels play no part).

    Example:
        >>> from goodfit.data import load
        >>> X = features(load("wine"))
        >>> X.shape, bool(abs(X.mean()) < 1e-5)
        ((178, 13), True)
    """
    X = np.asarray(dataset.X, np.float32)
    if dataset.standardize and dataset.kind == "table":
        std = X.std(0)
        X = (X - X.mean(0)) / np.where(std > 0, std, 1.0)
    return np.ascontiguousarray(X, dtype=np.float32)


def fold_parts(y: np.ndarray, k: int, seed: int) -> list["Part"]:
    """Each fold held out once, the other folds its training rows."""
    folds = stratified_folds(y, k, seed)
    return [Part(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), fold) for i, fold in enumerate(folds)]


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """`k` folds of row indices, each class dealt round the folds in a shuffled order.

    Example:
        >>> folds = stratified_folds(np.array([0] * 6 + [1] * 4), 2, seed=0)
        >>> [sorted(np.bincount(np.array([0] * 6 + [1] * 4)[f]).tolist()) for f in folds]
        [[2, 3], [2, 3]]
    """
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        for i, row in enumerate(rows):
            folds[(start + i) % k].append(int(row))
        start += len(rows)  # the next class begins where this one stopped, so fold sizes stay within one
    return [np.sort(np.array(f, dtype=np.int64)) for f in folds]


def stratified_subset(rows: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` of `rows`, each class keeping its share (at least two rows where it has them).

    Example:
        >>> y = np.array([0] * 80 + [1] * 20)
        >>> np.bincount(y[stratified_subset(np.arange(100), y, 10, np.random.default_rng(0))]).tolist()
        [8, 2]
    """
    labels = y[rows]
    picked = []
    for c in np.unique(labels):
        mine = rows[labels == c]
        take = min(len(mine), max(2, int(round(size * len(mine) / len(rows)))))
        picked.append(rng.choice(mine, take, replace=False))
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True)
class Part:
    """One member's data: the rows it trains on and the rows it is measured on."""

    train: np.ndarray
    held_out: np.ndarray


@dataclass
class Trained:
    """A population's members with their parts, results and (when recorded) outputs.

    `outputs[i]` is member i's logits on every row at each epoch it trained, `(epochs, N, C)`; for a numeric
    target, `(epochs, N, 1)` standardized: `target_mean + target_std * output` is in the target's units.
    """

    parts: list[Part]
    members: list[Member]
    result: TrainResult
    outputs: list[np.ndarray] | None
    target_mean: float = 0.0
    target_std: float = 1.0


def train_parts(X: np.ndarray, y: np.ndarray, dataset: Dataset, parts: list[tuple[Part, int]], model: ModelSpec,
                config: TrainConfig, arm: Arm = Arm("baseline"), record: bool = False,
                classes: tuple[str, ...] | None = None) -> Trained:
    """Train one member per `(part, seed)`, each on its own split, as one population where sizes agree.

    Args:
        X, y: every row's inputs and labels (or numeric targets, in their units: standardized here over every row).
        dataset: where the rows come from (its kind, classes and task).
        parts: each member's training and held-out rows, and its seed.
        model, config, arm: what every member trains as.
        record: keep each member's logits on every row at each epoch. Default False.
        classes: the class names, when they are not the data set's (a check's own labels). Default None.
    """
    classes = dataset.classes if classes is None else classes
    regression = dataset.task == "regression"
    center, scale = (float(y.mean()), float(y.std()) or 1.0) if regression else (0.0, 1.0)
    y = np.asarray((y - center) / scale, np.float32) if regression else y
    members, splits, expanded = [], [], []
    for part, seed in parts:
        if not regression and len(np.unique(y[part.train])) < 2:
            raise GoodfitError(f"a part of {len(part.train)} training rows holds a single class; "
                               "give more rows of each class (at least 10 per class)")
        held_out = part.held_out
        splits.append(Splits(X[part.train], y[part.train], X[held_out], y[held_out], X[held_out], y[held_out],
                             dataset.kind, classes, np.zeros(len(part.train), bool), dataset.task, center, scale))
        members.append(Member(arm, int(seed)))
        expanded.append(part)
    outputs: dict[int, list[torch.Tensor]] = {}
    every = torch.as_tensor(X)
    labels = torch.zeros(len(X), dtype=torch.long)

    def on_epoch(info: dict) -> None:
        out = predictions(info["net"], every, labels)  # (K, N, C)
        for k, position in enumerate(info["members"]):
            outputs.setdefault(int(position), []).append(out[k].clone())

    result = train(splits, members, model, config, on_epoch=on_epoch if record else None)
    recorded = [torch.stack(outputs[i]).numpy() for i in range(len(members))] if record else None
    return Trained(expanded, members, result, recorded, center, scale)


def train_side_by_side(X: np.ndarray, y: np.ndarray, dataset: Dataset,
                       jobs: list[tuple[list[tuple[Part, int]], TrainConfig, Arm]], model: ModelSpec) -> list[Trained]:
    """Several `train_parts` calls, each `(parts, config, arm)`, side by side: on a CPU with several threads, one
    thread each, costliest first (training rows times epochs); otherwise one after another. Returns them in order.

    A call's arithmetic then runs on one thread, so its numbers do not depend on the others' timing. A few small
    members (a learning curve's seeds at one size) use a second thread poorly, as the engine found for its own
    populations (`engine.memory.PARALLEL_BYTES`).
    """
    def run(job: tuple, single: bool) -> Trained:
        if single:  # a worker's own thread; `torch_threads` restores the count when all are done
            torch.set_num_threads(1)
        parts, config, arm = job
        return train_parts(X, y, dataset, parts, model, config, arm)

    threads = torch.get_num_threads() if jobs and jobs[0][1].device == "cpu" else 1
    if threads < 2 or len(jobs) < 2:
        return [run(job, False) for job in jobs]

    cost = [len(parts[0][0].train) * config.epochs for parts, config, _ in jobs]
    order = sorted(range(len(jobs)), key=lambda j: -cost[j])
    with torch_threads(threads), ThreadPoolExecutor(threads) as pool:
        done = dict(zip(order, pool.map(lambda j: run(jobs[j], True), order)))
    return [done[j] for j in range(len(jobs))]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)])).round(2).tolist()
        [0.25, 0.75]
    """
    z = logits - logits.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)
