"""How often `goodfit.diagnose` names the right regime on synthetic histories of known regime and onset.

Six families of curves, each drawn with random length (20 to 150 epochs), noise, speed and,
for half of them, the number of classes left unknown: plateaus (good fit; in half of them training
accuracy keeps climbing a little while validation stays flat), overfitting (validation loss turning up,
validation accuracy sagging, training accuracy climbing; a quarter of them short and noisy, stopped
about ten epochs after the turn, as early stopping leaves them), memorization (random labels),
underfitting, still improving, and divergence (NaN, infinity, an explosion in the first epoch or
later, training loss climbing back). Prints, per family, how often the verdict is right and, for
overfitting, how often the onset is within max(3, n/10) epochs of the truth; and the false-alarm
rate on plateaus (a plateau called overfitting or memorization).

    python benchmarks/diagnose_accuracy.py            # 200 histories per family, about a minute
    python benchmarks/diagnose_accuracy.py --n 50

To compare with another version of goodfit, put its src/ first on PYTHONPATH.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import pandas as pd

from goodfit.diagnose import diagnose
from goodfit.history import History


def _history(rng, e, classes, **curves) -> History:
    frame = pd.DataFrame({"member": 0, "epoch": e, **curves})
    return History(frame, classes if rng.random() < 0.5 else None)


def _acc_curve(e, start, end, tau):
    return end - (end - start) * np.exp(-e / tau)


def plateau(rng):
    n = int(rng.integers(20, 151))
    e = np.arange(1, n + 1)
    tau = rng.uniform(n / 15, n / 6)
    sigma = rng.uniform(0.005, 0.03)
    level = rng.uniform(0.1, 0.6)
    val = (level + rng.uniform(0.5, 1.5) * np.exp(-e / tau)) * (1 + rng.normal(0, sigma, n))
    train = (level * rng.uniform(0.5, 1.0) + rng.uniform(0.5, 1.5) * np.exp(-e / tau)) * (1 + rng.normal(0, sigma, n))
    top = rng.uniform(0.8, 0.97)
    val_acc = _acc_curve(e, 0.2, top, tau) + rng.normal(0, rng.uniform(0.002, 0.01), n)
    climb = rng.uniform(0.01, 0.04) * (e / n) if rng.random() < 0.5 else 0.0
    train_acc = np.minimum(1, _acc_curve(e, 0.2, top + rng.uniform(0, 0.02), tau) + climb + rng.normal(0, 0.005, n))
    return _history(rng, e, 10, train_loss=train, val_loss=val, train_accuracy=train_acc, val_accuracy=val_acc), None


def overfitting(rng):
    short = rng.random() < 0.25
    onset = int(rng.integers(8, 40))
    n = onset + int(rng.integers(8, 14)) if short else int(rng.integers(max(40, onset + 15), 151))
    e = np.arange(1, n + 1)
    level = rng.uniform(0.3, 0.6)
    sigma = rng.uniform(0.01, 0.03) if short else rng.uniform(0.005, 0.02)
    total_rise = rng.uniform(0.08, 0.15) if short else rng.uniform(0.1, 0.5)
    slope = total_rise * level / (n - onset)
    val = (level + 1.2 * np.exp(-e / (onset / 3)) + slope * np.maximum(0, e - onset)) * (1 + rng.normal(0, sigma, n))
    truth = int(e[np.argmin(level + 1.2 * np.exp(-e / (onset / 3)) + slope * np.maximum(0, e - onset))])
    train = (0.05 + 2.0 * np.exp(-e / (onset / 2))) * (1 + rng.normal(0, sigma, n))
    top = rng.uniform(0.8, 0.92)
    sag = rng.uniform(0.01, 0.05) * np.maximum(0, e - onset) / max(1, n - onset)
    val_acc = _acc_curve(e, 0.3, top, onset / 3) - sag + rng.normal(0, 0.006, n)
    train_acc = np.minimum(1, _acc_curve(e, 0.3, 1.0, onset / 1.5) + rng.normal(0, 0.005, n))
    return _history(rng, e, 10, train_loss=train, val_loss=val, train_accuracy=train_acc, val_accuracy=val_acc), truth


def memorization(rng):
    n = int(rng.integers(40, 151))
    e = np.arange(1, n + 1)
    tau = rng.uniform(n / 8, n / 4)
    train_acc = np.minimum(1, 0.1 + 0.9 * (1 - np.exp(-e / tau)) * 1.05)
    train = 2.3 * np.exp(-e / tau) + 0.01
    val = 2.3 + rng.uniform(0.01, 0.05) * e + rng.normal(0, 0.02, n)
    val_acc = 0.1 + rng.normal(0, 0.01, n)
    return _history(rng, e, 10, train_loss=train, val_loss=val, train_accuracy=train_acc, val_accuracy=val_acc), None


def underfitting(rng):
    n = int(rng.integers(20, 151))
    e = np.arange(1, n + 1)
    level = rng.uniform(0.5, 0.65)
    train_acc = level - 0.05 * np.exp(-e / 3) + rng.normal(0, 0.01, n)
    val_acc = train_acc - rng.uniform(0, 0.02) + rng.normal(0, 0.01, n)
    loss = 0.69 - 0.1 * (level - 0.5) + 0.05 * np.exp(-e / 3)
    return _history(rng, e, 2, train_loss=loss + rng.normal(0, 0.003, n), val_loss=loss + 0.005 + rng.normal(0, 0.003, n),
                    train_accuracy=train_acc, val_accuracy=val_acc), None


def still_improving(rng):
    n = int(rng.integers(15, 100))
    e = np.arange(1, n + 1)
    tau = rng.uniform(n / 1.5, 2 * n)
    val = (0.1 + 2.0 * np.exp(-e / tau)) * (1 + rng.normal(0, 0.005, n))
    train = (0.05 + 2.1 * np.exp(-e / tau)) * (1 + rng.normal(0, 0.005, n))
    acc = 0.95 - 0.85 * np.exp(-e / tau)
    return _history(rng, e, 10, train_loss=train, val_loss=val, train_accuracy=np.minimum(1, acc + 0.01),
                    val_accuracy=acc + rng.normal(0, 0.003, n)), None


def diverged(rng):
    n = int(rng.integers(15, 80))
    e = np.arange(1, n + 1)
    base = 0.1 + 2.0 * np.exp(-e / 5)
    acc = np.minimum(1, 0.95 - 0.85 * np.exp(-e / 5))
    at = int(rng.integers(1, max(2, n // 2)))
    kind = rng.integers(5)
    train, val, tacc, vacc = base.copy(), base + 0.1, acc.copy(), acc - 0.02
    if kind == 0:  # NaN from some epoch on, accuracy still logged at chance
        train[at:], val[at:], tacc[at:], vacc[at:] = np.nan, np.nan, 0.1, 0.1
    elif kind == 1:  # infinity
        train[at] = np.inf
    elif kind == 2:  # explosion in the first epoch, then dead at (or far above) the loss of guessing
        sit = np.log(10) * rng.choice([1.0, 1.02, 3.0, 8.0])
        train[:] = sit + rng.normal(0, 0.01, n)
        train[0] = 10 ** rng.uniform(3, 14)
        val[:] = sit + rng.normal(0, 0.01, n)
        tacc[:] = 0.1 + rng.normal(0, 0.005, n)
        vacc[:] = 0.1 + rng.normal(0, 0.005, n)
    elif kind == 3:  # training loss climbs back up
        train[at:] = np.linspace(train[at], 2.5, n - at)
        val[at:] = train[at:] + 0.2
        tacc[at:] = np.linspace(tacc[at], 0.1, n - at)
        vacc[at:] = tacc[at:] - 0.02
    else:  # one step blows the weights up mid-run, and it never recovers
        train[at:] = 1e6 * rng.uniform(1, 100)
        val[at:] = train[at:]
        tacc[at:], vacc[at:] = 0.1, 0.1
    return _history(rng, e, 10, train_loss=train, val_loss=val, train_accuracy=tacc, val_accuracy=vacc), None


FAMILIES = {"good_fit": plateau, "overfitting": overfitting, "memorization": memorization,
            "underfitting": underfitting, "still_improving": still_improving, "diverged": diverged}


def evaluate(n: int, seed: int = 0) -> dict:
    """Per family: the share of verdicts that are right, what else was said, and (overfitting) onsets in window."""
    out = {}
    for regime, make in FAMILIES.items():
        rng = np.random.default_rng([seed, list(FAMILIES).index(regime)])
        said, onsets = Counter(), []
        for _ in range(n):
            h, truth = make(rng)
            d = diagnose(h)
            said[d.regime] += 1
            if truth is not None and d.regime == regime and d.onset_epoch is not None:
                onsets.append(abs(d.onset_epoch - truth) <= max(3, h.epochs // 10))
        out[regime] = {"right": said[regime] / n, "said": dict(said), "onset_in_window": np.mean(onsets) if onsets else None}
    plateau_said = out["good_fit"]["said"]
    out["plateau_false_alarm"] = (plateau_said.get("overfitting", 0) + plateau_said.get("memorization", 0)) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="histories per family (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    result = evaluate(args.n, args.seed)
    for regime in FAMILIES:
        r = result[regime]
        onset = "" if r["onset_in_window"] is None else f"   onset in window {r['onset_in_window']:.1%}"
        others = ", ".join(f"{k} {v}" for k, v in sorted(r["said"].items(), key=lambda kv: -kv[1]) if k != regime)
        print(f"{regime:16s} right {r['right']:6.1%}{onset}   {('others: ' + others) if others else ''}")
    print(f"plateau false-alarm rate: {result['plateau_false_alarm']:.1%}   "
          f"({args.n} per family, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
