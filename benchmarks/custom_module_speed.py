"""How much slower a user's own MLP module trains than goodfit's built-in MLP, the same members alike.

Digits (60/20/20 split), 35 baseline members (seeds 0-34), 10 epochs, Adam, batch 32: once as the
user's `nn.Sequential` 64-256-256-10 and once as `ModelSpec("mlp", 256, 2)`. After one untimed
epoch of each, the two alternate three times; their median wall times and the ratio are printed. Both
now convert into the same fused chain (`goodfit.nn.layers.dense`): 2.82 s against 2.84 s on 2 cores.

    python benchmarks/custom_module_speed.py            # own MLP module vs built-in MLP: 1.0x
    python benchmarks/custom_module_speed.py --members 4 --epochs 1 --train-size 200
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from goodfit.data import Conditions, load, split
from goodfit.engine import Member, TrainConfig, train
from goodfit.models import ModelSpec
from goodfit.remedies import Arm


def own_mlp() -> nn.Module:
    """The user's module: the built-in MLP's layers, written as people write them."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def main(argv: list[str] | None = None) -> float:
    """Time both, print the ratio line, and return the ratio of median wall times (own over built-in)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=35)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=None, help="training samples (default: 60%% of digits)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    splits = split(load("digits"), Conditions(train_size=args.train_size), seed=0)
    members = [Member(Arm("baseline"), seed) for seed in range(args.members)]
    models = {"own": own_mlp, "built-in": ModelSpec("mlp", 256, 2)}
    for model in models.values():  # warm-up, not counted
        train(splits, members, model, TrainConfig(epochs=1))
    seconds = {name: [] for name in models}
    for _ in range(args.runs):
        for name, model in models.items():
            start = time.perf_counter()
            train(splits, members, model, TrainConfig(epochs=args.epochs))
            seconds[name].append(time.perf_counter() - start)
    own, builtin = statistics.median(seconds["own"]), statistics.median(seconds["built-in"])
    print(f"{args.members} members, {args.epochs} epochs, median of {args.runs}, torch {torch.__version__} "
          f"on {torch.get_num_threads()} threads: own module {own:.2f} s, built-in {builtin:.2f} s")
    ratio = own / builtin
    print(f"own MLP module vs built-in MLP: {ratio:.1f}x")
    return ratio


if __name__ == "__main__":
    main()
