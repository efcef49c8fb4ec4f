"""The default study with a fine-tuning script's training against the default study, side by side in one sitting.

    python benchmarks/user_training.py                # each side 3 times, alternating; medians and their ratio
    python benchmarks/user_training.py --repeats 1
    python benchmarks/user_training.py --epochs 5     # a short version (seconds)

One side is `goodfit study` as it runs with no options (`Study.default()`: digits, the MLP, 300 training
samples, clean and 20% wrong labels, 8 arms x 5 seeds, 100 epochs, Adam at a constant rate); the other the same
study with `--optimizer adamw --schedule cosine --warmup 5 --clip-grad 1` (AdamW with torch's weight decay 0.01,
5 epochs of linear warm-up, cosine annealing per epoch, each member's gradients clipped to norm 1). The target:
the second within 10% of the first, since both keep the population's fused path. Prints each side's median
wall time, the ratio, and the share of the CPUs other processes used meanwhile (`*` above 10%).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

from goodfit import Study, TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from own_module import DISTURBED, timed  # noqa: E402  (the same measure of time and of other processes' load)

FINE_TUNING = dict(optimizer="adamw", scheduler="cosine", warmup=5, clip_grad=1.0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="Timed runs of each side (default 3).")
    parser.add_argument("--epochs", type=int, default=100, help="Epochs per member (default 100, the default study's).")
    args = parser.parse_args(argv)
    warmup = min(FINE_TUNING["warmup"], args.epochs // 3)
    sides = {"default": TrainConfig(), "adamw+cosine+warmup+clip": TrainConfig(**{**FINE_TUNING, "warmup": warmup})}
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    print(f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}; the default study at {args.epochs} epochs, "
          f"median of {args.repeats}")
    Study.default(epochs=1, seeds=1, train=sides["adamw+cosine+warmup+clip"].with_training(warmup=0)).run()  # warm-up
    seconds = {name: [] for name in sides}
    loads = []
    for _ in range(args.repeats):
        for name, config in sides.items():
            took, other, _ = timed(lambda: Study.default(epochs=args.epochs, train=config).run())
            seconds[name].append(took)
            loads.append(other)
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    ratio = medians["adamw+cosine+warmup+clip"] / medians["default"]
    mark = " *" if max(loads) > DISTURBED else ""
    for name, median in medians.items():
        print(f"{name:>26}: {median:.1f} s  (each: {', '.join(f'{s:.1f}' for s in seconds[name])})")
    print(f"user's training over the default: {ratio:.3f}x{mark}")
    if mark:
        print(f"  * other processes used {max(loads):.0%} of the CPUs meanwhile")
    return {"seconds": seconds, "ratio": ratio, "other_load": max(loads)}


if __name__ == "__main__":
    main()
