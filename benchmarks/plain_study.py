"""goodfit's default study written in plain PyTorch, one model after another, as a careful user would.

    python benchmarks/plain_study.py                        # 8 arms x 5 seeds, 100 epochs
    python benchmarks/plain_study.py --epochs 2 --seeds 2   # the same on a tiny scale, in seconds

Digits, 300 training samples, each seed on its own train/validation split of the pool and one test
set (split seed 0, as `goodfit study` splits them; `--one-split` trains every seed on split 0), an
MLP 64-256-256-10 built with
`nn.Sequential`, Adam lr 1e-3, batch 32. After every epoch the model is evaluated on the
validation set and on a fixed training subset (loss and accuracy), as goodfit does. The arms are
those of `goodfit study` at its strengths: baseline, dropout 0.3, an L2 penalty of 1e-3 on the
weights, early stopping after 10 epochs without a lower validation loss (best weights restored),
augmentation (rotation up to 10 degrees, zoom and shift up to 0.1, Gaussian noise 0.05), batch
norm, a model shrunk to 64 hidden units, and all six together. It prints each arm's mean test
accuracy, then one JSON line with the same figures for `bench_engine.py` to read.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SPLITS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
TRAIN_EVAL = 512  # size of the fixed training subset evaluated each epoch, as goodfit's (all 300 samples here)
AUGMENT = (10.0, 0.1, 0.1, 0.05)  # rotate (degrees), zoom, shift (fraction of the image), noise (std)


@dataclass(frozen=True)
class Remedies:
    """What one arm of the study changes from the baseline."""

    dropout: float = 0.0  # rate of nn.Dropout after each hidden ReLU
    l2: float = 0.0  # L2 penalty on the weights (not biases or batch-norm scales)
    patience: int = 0  # epochs without a lower validation loss before stopping; 0: no early stopping
    augment: tuple = ()  # AUGMENT's strengths, or () for none
    batchnorm: bool = False  # BatchNorm1d after each hidden Linear
    width: int = 256  # hidden units per layer


ARMS = {
    "baseline": Remedies(),
    "dropout": Remedies(dropout=0.3),
    "l2": Remedies(l2=1e-3),
    "augment": Remedies(augment=AUGMENT),
    "batchnorm": Remedies(batchnorm=True),
    "shrink": Remedies(width=64),  # a quarter of the units
    "early_stopping": Remedies(patience=10),
    "all": Remedies(dropout=0.3, l2=1e-3, patience=10, augment=AUGMENT, batchnorm=True, width=64),
}


@dataclass(frozen=True)
class Training:
    """A user's own training in place of Adam at a constant rate: their optimizer (taking the parameters or
    groups), their scheduler (taking the optimizer, stepped per epoch) and a gradient-norm clip."""

    optimizer: object
    scheduler: object = None
    clip: float | None = None


def mlp(inputs: int, width: int, classes: int, dropout: float = 0.0, batchnorm: bool = False) -> nn.Sequential:
    """Two hidden layers of `width` units, each Linear, BatchNorm1d (which makes the Linear's bias
    redundant), ReLU, Dropout, then the output layer."""
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in in (inputs, width):
        layers.append(nn.Linear(fan_in, width, bias=not batchnorm))
        layers += [nn.BatchNorm1d(width)] if batchnorm else []
        layers.append(nn.ReLU())
        layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(width, classes))


def augment_images(x: torch.Tensor, rotate: float, zoom: float, shift: float, noise: float) -> torch.Tensor:
    """A batch of images `(B, C, H, W)`, each rotated, zoomed and shifted by its own random amounts
    (one `affine_grid` and `grid_sample` for the whole batch), plus Gaussian noise."""
    u = torch.rand(len(x), 4, device=x.device) * 2 - 1  # (B, 4) uniform in [-1, 1)
    angle = u[:, 0] * math.radians(rotate)
    scale = 1 + u[:, 1] * zoom
    tx, ty = u[:, 2] * shift * 2, u[:, 3] * shift * 2  # grid coordinates span 2 across the image
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    moved = F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)  # (B, C, H, W)
    return moved + noise * torch.randn_like(moved)


def fit(model: nn.Module, data, epochs: int, *, l2: float = 0.0, patience: int = 0, augment: tuple = (),
        batch_size: int = 32, lr: float = 1e-3, fused: bool = False, device: str = "cpu",
        training: "Training | None" = None) -> tuple[float, list]:
    """Train `model` with Adam and return its test accuracy and its history.

    `data` maps each name in `SPLITS` to an array. After every epoch the model is evaluated on the
    validation set and the fixed training subset; the history holds, per epoch, validation loss
    and accuracy and training loss and accuracy. `l2` is added to the weights' gradients times the
    weights (Adam's `weight_decay`, the gradient of l2 / 2 * |w|^2); `patience` stops training when
    validation loss has not fallen for that many epochs and restores the weights of the best one;
    `augment` holds `augment_images`'s strengths; `fused` picks Adam's fused kernel. `training` replaces
    Adam by the user's optimizer, scheduler (stepped after each epoch) and gradient clipping.
    """
    X, y = torch.as_tensor(data["X_train"], device=device), torch.as_tensor(data["y_train"], device=device)
    X_val, y_val = torch.as_tensor(data["X_val"], device=device), torch.as_tensor(data["y_val"], device=device)
    subset = torch.as_tensor(np.random.default_rng(0).permutation(len(y))[:TRAIN_EVAL], device=device)
    X_fit, y_fit = X[subset], y[subset]
    model = model.to(device)
    params = model.parameters()
    if l2:  # weights are the parameters of two or more dimensions; biases and batch-norm scales have one
        params = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": l2},
                  {"params": [p for p in model.parameters() if p.dim() < 2]}]
    opt = torch.optim.Adam(params, lr=lr, fused=fused or None) if training is None else training.optimizer(params)
    schedule = training.scheduler(opt) if training is not None and training.scheduler else None
    clip = training.clip if training is not None else None
    history, best, best_loss, waited = [], None, math.inf, 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y), device=device)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb = augment_images(X[idx], *augment) if augment else X[idx]  # (b, C, H, W)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
        if schedule is not None:
            schedule.step()
        model.eval()
        with torch.no_grad():
            val, train = model(X_val), model(X_fit)
            metrics = [F.cross_entropy(val, y_val), (val.argmax(1) == y_val).float().mean(),
                       F.cross_entropy(train, y_fit), (train.argmax(1) == y_fit).float().mean()]
            history.append(torch.stack(metrics).tolist())  # one read of the four figures
        if patience:
            if history[-1][0] < best_loss:
                best_loss, waited = history[-1][0], 0
                best = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if waited >= patience:
                    break
    if best is not None:
        model.load_state_dict(best)
    with torch.no_grad():
        X_test, y_test = torch.as_tensor(data["X_test"], device=device), torch.as_tensor(data["y_test"], device=device)
        return (model(X_test).argmax(1) == y_test).float().mean().item(), history


def default_splits(seeds: int = 5, resample: bool = True) -> dict:
    """The data as `goodfit study` splits it by default (digits, 300 training samples, split seed 0):
    with `resample` each seed's own train/validation split, under `NAME.SEED` (`X_train.3`); without,
    one split."""
    from goodfit.data import Conditions, load, split
    from goodfit.study import DEFAULT_STUDY

    pool, conditions = load(DEFAULT_STUDY["data"]), Conditions(train_size=DEFAULT_STUDY["train_size"])
    if not resample:
        s = split(pool, conditions, seed=0)
        return {k: getattr(s, k) for k in SPLITS}
    out = {}
    for seed in range(seeds):
        s = split(pool, conditions, seed=0, resample=seed)
        out.update({f"{k}.{seed}": getattr(s, k) for k in SPLITS})
    return out


def seed_splits(data: dict, seed: int) -> dict:
    """The arrays a seed trains on: its own (`X_train.SEED`), or the one split all share (`X_train`)."""
    return {k: data[f"{k}.{seed}"] if f"{k}.{seed}" in data else data[k] for k in SPLITS}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="Epochs per model (default 100).")
    parser.add_argument("--seeds", type=int, default=5, help="Seeds per arm: 0, 1, ... (default 5).")
    parser.add_argument("--data", help="An .npz holding the arrays X_train, y_train, X_val, y_val, X_test, y_test, "
                                       "or each seed's own as X_train.0, y_train.0, ... (default: digits split as "
                                       "`goodfit study` splits them).")
    parser.add_argument("--one-split", action="store_true", help="Without --data: every seed on split 0.")
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)  # as goodfit trains: denormals late in training slow every step
    data = dict(np.load(args.data)) if args.data else default_splits(args.seeds, not args.one_split)
    first = seed_splits(data, 0)
    inputs, classes = math.prod(first["X_train"].shape[1:]), int(first["y_train"].max()) + 1
    accuracy, epochs_run = {}, {}
    for name, arm in ARMS.items():
        accs, runs = [], []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            model = mlp(inputs, arm.width, classes, arm.dropout, arm.batchnorm)
            acc, history = fit(model, seed_splits(data, seed), args.epochs, l2=arm.l2, patience=arm.patience,
                               augment=arm.augment)
            accs.append(acc)
            runs.append(len(history))
        accuracy[name], epochs_run[name] = float(np.mean(accs)), float(np.mean(runs))
    print(f"{'arm':<16}{'mean test acc':>14}{'epochs run':>12}")
    for name in ARMS:
        print(f"{name:<16}{accuracy[name]:>14.3f}{epochs_run[name]:>12.1f}")
    record = {"members": len(ARMS) * args.seeds, "epochs": args.epochs, "arms": accuracy}
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
