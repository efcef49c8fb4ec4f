"""Planted corrupted targets: goodfit causes' corrupted rows against cleanlab's regression finder.

On each data set, the targets of 5% and 10% of the rows (chosen at random) are corrupted at known rows, in
one of two ways: `swap` gives a row another random row's target (a value the target takes, often close to
its own: some of these cannot be told from noise, and both methods are scored on all of them), `shift` adds
3 to 5 of the target's standard deviations, up or down. Both methods see only the corrupted targets.
cleanlab 2.x's `cleanlab.regression.learn.CleanLearning(model).find_label_issues(X, y)` runs with its
defaults (5 folds, its search of the share of issues, epistemic and aleatoric uncertainty) and a
scikit-learn model: `HistGradientBoostingRegressor` on one thread (the strongest tried: F1 0.40 and 0.49 on
friedman's swap cells against 0.23 and 0.16 with `LinearRegression`, the same on diabetes), or another with
`--cleanlab-model linear|mlp`; goodfit runs `Causes(...).target_scores()`: 5 folds x 3 seeds of its MLP as
one population, out-of-fold predictions at each member's best held-out error, rows over 3 robust standard
deviations flagged. Prints precision, recall and F1 of each per cell and planting, the mean F1 difference
per cell, and goodfit's estimated count of corrupted targets (with its 90% interval) against the planted
count. On the clean sets (nothing planted) it prints how many rows each flags.

    python benchmarks/causes_regression.py                # diabetes, friedman, make_regression; 1 planting
    python benchmarks/causes_regression.py --plantings 3 --sets diabetes
    python benchmarks/causes_regression.py --cleanlab-model linear   # cleanlab on a linear model (seconds)

Results: benchmarks/results/2026-12-07-causes-regression.txt.

The target (issue 34): goodfit's F1 at least cleanlab's + 0.05 in every cell.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from goodfit.causes import Causes
from goodfit.causes.members import features
from goodfit.data import Dataset, load

RATES = (0.05, 0.10)
KINDS = ("swap", "shift")


def data_set(name: str) -> Dataset:
    """A built-in regression set, or `make_regression`: 1,000 rows, 20 features (10 informative), noise 20."""
    if name != "make_regression":
        return load(name)
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=1000, n_features=20, n_informative=10, noise=20.0, random_state=0)
    return Dataset(name, X.astype(np.float32), y.astype(np.float32), "table", (), task="regression")


def planted(ds: Dataset, rate: float, kind: str, seed: int) -> tuple[Dataset, np.ndarray]:
    """`ds` with `rate` of its targets corrupted at random rows (`swap` or `shift`), and which rows."""
    rng = np.random.default_rng(seed)
    y = np.asarray(ds.y, np.float64).copy()
    wrong = np.zeros(len(y), bool)
    wrong[rng.permutation(len(y))[:int(round(rate * len(y)))]] = True
    if kind == "swap":
        other = rng.integers(0, len(y) - 1, len(y))
        other += other >= np.arange(len(y))  # any row but its own
        y = np.where(wrong, y[other], y)
    else:
        y = np.where(wrong, y + rng.choice([-1, 1], len(y)) * rng.uniform(3, 5, len(y)) * y.std(), y)
    return Dataset(f"{ds.name}-{kind}", ds.X, y.astype(np.float32), ds.kind, (), task="regression"), wrong


def scores(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, float]:
    hits = (flagged & wrong).sum()
    precision, recall = hits / max(flagged.sum(), 1), hits / max(wrong.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def cleanlab_flags(ds: Dataset, model: str) -> np.ndarray:
    from cleanlab.regression.learn import CleanLearning
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPRegressor

    estimator = {"hgb": lambda: HistGradientBoostingRegressor(random_state=0),
                 "linear": LinearRegression,
                 "mlp": lambda: MLPRegressor((256, 256), max_iter=300, early_stopping=True, random_state=0)}[model]()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # on a shared 2-core machine, the boosting's threads fight each other (10 minutes a cell)
        found = CleanLearning(estimator, seed=0).find_label_issues(features(ds), np.asarray(ds.y, np.float64))
    return found["is_label_issue"].to_numpy().astype(bool)


def goodfit_run(ds: Dataset, seeds: int, epochs: int):
    s = Causes(ds, folds=5, seeds=seeds, epochs=epochs).target_scores()
    flagged = np.zeros(len(ds.y), bool)
    flagged[s.flagged] = True
    return flagged, s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="diabetes,friedman,make_regression")
    parser.add_argument("--plantings", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3, help="goodfit's seeds per fold")
    parser.add_argument("--epochs", type=int, default=30, help="goodfit's most epochs per member")
    parser.add_argument("--cleanlab-model", default="hgb", choices=("hgb", "linear", "mlp"))
    parser.add_argument("--skip-clean", action="store_true", help="leave out the clean sets")
    args = parser.parse_args()
    print(f"{'cell':<28} {'planting':>8} | {'goodfit P':>9} {'R':>5} {'F1':>5} {'count (90%)':>16} | "
          f"{'cleanlab P':>10} {'R':>5} {'F1':>5} | {'s gf':>5} {'s cl':>5}")
    diffs = {}
    for name in args.sets.split(","):
        base = data_set(name)
        if not args.skip_clean:
            t = time.perf_counter()
            flagged, s = goodfit_run(base, args.seeds, args.epochs)
            t_gf, t = time.perf_counter() - t, time.perf_counter()
            cl = cleanlab_flags(base, args.cleanlab_model)
            print(f"{name + ' clean':<28} {'-':>8} | flags {flagged.sum():>4} of {len(flagged):<5} "
                  f"count {s.count:.0f} ({s.interval[0]:.0f}-{s.interval[1]:.0f}) | cleanlab flags {cl.sum():>4} "
                  f"| {t_gf:5.0f} {time.perf_counter() - t:5.0f}", flush=True)
        for rate in RATES:
            for kind in KINDS:
                cell = f"{name} {kind} {rate:.0%}"
                for planting in range(args.plantings):
                    ds, wrong = planted(base, rate, kind, seed=planting)
                    t = time.perf_counter()
                    flagged, s = goodfit_run(ds, args.seeds, args.epochs)
                    t_gf, t = time.perf_counter() - t, time.perf_counter()
                    cl = cleanlab_flags(ds, args.cleanlab_model)
                    t_cl = time.perf_counter() - t
                    g, c = scores(flagged, wrong), scores(cl, wrong)
                    diffs.setdefault(cell, []).append(g[2] - c[2])
                    count = f"{s.count:.0f} ({s.interval[0]:.0f}-{s.interval[1]:.0f})/{wrong.sum()}"
                    print(f"{cell:<28} {planting:>8} | {g[0]:9.3f} {g[1]:5.3f} {g[2]:5.3f} {count:>16} | "
                          f"{c[0]:10.3f} {c[1]:5.3f} {c[2]:5.3f} | {t_gf:5.0f} {t_cl:5.0f}", flush=True)
    print("\nmean F1 difference (goodfit - cleanlab), target >= +0.05:")
    for cell, d in diffs.items():
        print(f"  {cell:<28} {np.mean(d):+.3f}  {'met' if np.mean(d) >= 0.05 else 'NOT met'}")


if __name__ == "__main__":
    main()
