"""Wrong labels counted, not hard ones: `goodfit causes`' noisy-labels check on planted noise, easy and hard data.

Each cell is a data set with a share of its labels changed at known rows (each to another class at
random); every method sees only the changed labels. The cells (issue 34): scikit-learn's
`make_classification` (5,000 rows, 40 features of which 10 informative, 10 classes; `class_sep` 0.5, 1
and 2, where goodfit's MLP reaches about 45%, 60% and 90% on clean labels) at 0%, 5% and 20%, digits
(1,200 rows) at 10% and 20%, breast_cancer at 0% and 10%. Per cell:

- goodfit: `Causes(ds).label_scores()`: the estimated share with its 90% interval, the rows flagged
  (that share of the best scored), precision / recall / F1, and whether `noisy_labels` would be named
  (the interval's lower end above `NOISE_SHARE`);
- today's count: cleanlab's `prune_by_noise_rate` on the same out-of-fold probabilities, as goodfit
  counted before (that many of the same best-scored rows);
- cleanlab with the best model we could give it: `find_label_issues` on 5-fold `cross_val_predict`
  probabilities of scikit-learn's `HistGradientBoostingClassifier` (early stopping on a tenth of each fold;
  tables standardized, digits' pixels as they are).

    python benchmarks/causes_noise.py                 # the grid, one planting each
    python benchmarks/causes_noise.py --cells mc1.0:0.05 digits:0.1
    python benchmarks/causes_noise.py --speed FILE.csv --target y   # the whole `goodfit causes` on a file, timed

Targets: hard data (class_sep 1, 5%): F1 >= 0.6 and the share within 1.5x of the planted; clean
data (0%): under 2% flagged and no noisy_labels cause; digits 10%/20%: F1 >= 0.93.
Speed: a 10,000-row, 40-feature table through the whole command in <= 60 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

from goodfit.causes import NOISE_SHARE, Causes
from goodfit.causes.members import features
from goodfit.data import Dataset, load

GRID = ["mc1.0:0.05", "mc1.0:0", "mc0.5:0", "mc2.0:0", "mc0.5:0.05", "mc2.0:0.05", "mc0.5:0.2", "mc1.0:0.2", "mc2.0:0.2",
    "digits:0.1", "digits:0.2", "breast_cancer:0", "breast_cancer:0.1"]


def planted(y: np.ndarray, classes: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`y` with `noise` of its labels changed to another class at random rows, and which rows."""
    rng = np.random.default_rng(seed + 100)
    wrong = np.zeros(len(y), bool)
    wrong[rng.permutation(len(y))[:int(round(noise * len(y)))]] = True
    return np.where(wrong, (y + rng.integers(1, classes, len(y))) % classes, y), wrong


def table(sep: float, rows: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=rows, n_features=40, n_informative=10, n_classes=10, class_sep=sep,
                               random_state=seed)
    return X.astype(np.float32), y


def cell(spec: str, seed: int = 0) -> tuple[Dataset, np.ndarray]:
    """The cell's data set with its labels changed, and which rows were changed."""
    name, noise = spec.split(":")
    if name.startswith("mc"):
        X, y = table(float(name[2:]), seed=seed)
        y, wrong = planted(y, 10, float(noise), seed)
        return Dataset(name, X, y, "table", tuple(str(c) for c in range(10))), wrong
    ds = load(name)
    keep = np.sort(np.random.default_rng(seed).permutation(len(ds.y))[:1200]) if name == "digits" else np.arange(len(ds.y))
    y, wrong = planted(ds.y[keep], ds.num_classes, float(noise), seed)
    return Dataset(name, ds.X[keep], y, ds.kind, ds.classes, ds.feature_names, ds.standardize), wrong


def prf(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, float]:
    hits = (flagged & wrong).sum()
    precision, recall = hits / max(flagged.sum(), 1), hits / max(wrong.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def top(score: np.ndarray, count: int) -> np.ndarray:
    flagged = np.zeros(len(score), bool)
    flagged[np.argsort(-score, kind="stable")[:count]] = True
    return flagged


def cleanlab_hgb(ds: Dataset) -> np.ndarray:
    from cleanlab.filter import find_label_issues
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    X = features(ds).reshape(len(ds.X), -1)
    probs = cross_val_predict(HistGradientBoostingClassifier(early_stopping=True, random_state=0), X, ds.y,
                              cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    return find_label_issues(ds.y, probs)


def grid(cells: list[str]) -> None:
    from cleanlab.filter import find_label_issues
    print(f"{'cell':18} {'planted':>7} | {'goodfit share [90%]':>24} {'P / R / F1':>18} {'cause':>5} {'s':>4} | "
          f"{'today: share':>12} {'F1':>5} | {'cleanlab+HGB share':>18} {'F1':>5} {'s':>4}")
    for spec in cells:
        ds, wrong = cell(spec)
        start = time.perf_counter()
        s = Causes(ds).label_scores()
        ours_s = time.perf_counter() - start
        flagged = top(s.score, len(s.flagged))
        p, r, f1 = prf(flagged, wrong)
        today = int(find_label_issues(ds.y, s.probabilities, filter_by="prune_by_noise_rate").sum())
        today_f1 = prf(top(s.score, today), wrong)[2]
        start = time.perf_counter()
        theirs = cleanlab_hgb(ds)
        theirs_s = time.perf_counter() - start
        low, high = s.share_interval
        print(f"{spec:18} {wrong.mean():7.1%} | {s.share:7.1%} [{low:5.1%}, {high:5.1%}] {flagged.sum():5d} "
              f"{p:.2f} / {r:.2f} / {f1:.3f} {'yes' if low > NOISE_SHARE else 'no':>5} {ours_s:4.0f} | "
              f"{today / len(wrong):12.1%} {today_f1:.3f} | {theirs.mean():18.1%} {prf(theirs, wrong)[2]:.3f} "
              f"{theirs_s:4.0f}", flush=True)


def speed(path: str, target: str, runs: int) -> None:
    """The whole `goodfit causes` on a file, `runs` times: wall and CPU seconds of each, and the median."""
    goodfit = os.path.join(os.path.dirname(sys.executable), "goodfit")
    walls = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([goodfit, "causes", "--data", path, "--target", target, "--json"], check=True,
                       stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print(f"goodfit causes --data {path}: {walls[-1]:.1f} s wall, {cpu:.1f} s CPU; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"median {np.median(walls):.1f} s wall over {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="*", default=GRID, help="cells as NAME:NOISE (mc0.5..mc2.0, digits, breast_cancer)")
    parser.add_argument("--speed", help="a CSV file to time the whole command on instead of the grid")
    parser.add_argument("--target", default="y", help="its label column")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of the command")
    args = parser.parse_args()
    import cleanlab
    import torch
    print(f"cleanlab {cleanlab.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs")
    if args.speed:
        speed(args.speed, args.target, args.runs)
    else:
        grid(args.cells)


if __name__ == "__main__":
    main()
