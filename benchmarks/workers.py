"""A study of a training function with `workers=2` against `workers=1`, side by side in one sitting.

    python benchmarks/workers.py                 # 4 arms x 3 seeds, 40 epochs each; both sides twice, alternating
    python benchmarks/workers.py --epochs 5 --repeats 1

The members are calls of a plain PyTorch loop as a user writes it (`fit(settings, seed)`: an MLP 64-256-256-10
on 300 digits, Adam, batch 32, one thread, validation each epoch, early stopping and dropout from the settings),
so each is single-threaded: `workers=1` trains them one after another in this process, `workers=2` in two
spawned processes at once, each pinned to one thread. Prints both medians and their ratio (target: at most
0.6 on 2 cores), and the share of the CPUs other processes used meanwhile (`*` above 10%).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from goodfit.study import Study

sys.path.insert(0, str(Path(__file__).parent))
from own_module import DISTURBED, timed  # noqa: E402  (the same measure of time and of other processes' load)

ARMS = ["baseline", "dropout=0.3", "decay=0.05", "early_stopping=5"]


def fit(settings, seed):
    """One member in a plain loop: single-threaded, as a worker process pins it."""
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    parts = {"train": slice(0, 300), "val": slice(300, 600), "test": slice(600, 1000)}
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(settings.dropout or 0.0), nn.Linear(256, 256),
                          nn.ReLU(), nn.Dropout(settings.dropout or 0.0), nn.Linear(256, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=settings.weight_decay or 0.0)
    Xt, yt = X[parts["train"]], y[parts["train"]]
    rows, best, waited = [], (np.inf, None), 0
    for epoch in range(1, settings.epochs + 1):
        model.train()
        for idx in torch.randperm(len(yt)).split(32):
            opt.zero_grad()
            F.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            row = {"epoch": epoch}
            for name in ("train", "val"):
                out = model(X[parts[name]])
                prefix = "" if name == "train" else "val_"
                row[f"{prefix}loss"] = F.cross_entropy(out, y[parts[name]]).item()
                row[f"{prefix}accuracy"] = (out.argmax(1) == y[parts[name]]).float().mean().item()
        rows.append(row)
        if settings.early_stopping is not None:
            if row["val_loss"] < best[0]:
                best, waited = (row["val_loss"], {k: v.clone() for k, v in model.state_dict().items()}), 0
            else:
                waited += 1
                if waited >= settings.early_stopping:
                    break
    if best[1] is not None:
        model.load_state_dict(best[1])
    with torch.no_grad():
        rows[-1]["test_accuracy"] = (model(X[parts["test"]]).argmax(1) == y[parts["test"]]).float().mean().item()
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="Timed runs of each side (default 2).")
    parser.add_argument("--epochs", type=int, default=40, help="Epochs per member (default 40).")
    parser.add_argument("--seeds", type=int, default=3, help="Seeds per arm (default 3).")
    args = parser.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    print(f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}; {len(ARMS)} arms x {args.seeds} seeds, "
          f"{args.epochs} epochs, median of {args.repeats}")
    seconds, loads, tables = {1: [], 2: []}, [], {}
    for _ in range(args.repeats):
        for workers in (1, 2):
            study = Study(fit=fit, arms=ARMS, seeds=args.seeds, epochs=args.epochs)
            took, other, result = timed(lambda: study.run(workers=workers if workers > 1 else None))
            seconds[workers].append(took)
            loads.append(other)
            tables[workers] = result.table()["test_accuracy"].round(6).tolist()
    one, two = (statistics.median(seconds[w]) for w in (1, 2))
    mark = " *" if max(loads) > DISTURBED else ""
    print(f"workers=1: {one:.1f} s  (each: {', '.join(f'{s:.1f}' for s in seconds[1])})")
    print(f"workers=2: {two:.1f} s  (each: {', '.join(f'{s:.1f}' for s in seconds[2])})")
    print(f"workers=2 over workers=1: {two / one:.2f}x{mark}; the same results: {tables[1] == tables[2]}")
    if mark:
        print(f"  * other processes used {max(loads):.0%} of the CPUs meanwhile")
    return {"seconds": seconds, "ratio": two / one, "same": tables[1] == tables[2], "other_load": max(loads)}


if __name__ == "__main__":
    main()
