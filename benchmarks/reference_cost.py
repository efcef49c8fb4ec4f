"""What the classical reference costs a study, and what it scores: side by side in one run, with ratios.

    python benchmarks/reference_cost.py               # the default study (goodfit study's demo) without and with it
    python benchmarks/reference_cost.py --cases       # the reference alone on diabetes and two scikit-learn tables

The cost: `Study.default()` (digits, the MLP, 300 samples, clean and 20% wrong labels, 8 arms x 5 seeds,
100 epochs) run in this process into fresh folders, first with `reference=False`, then with the reference,
`--repeats` times in that order; wall and CPU seconds (this process, all its threads) of each, the median over
repeats, and the ratio. Then `reference_of` alone on the same plan (median of 3): the added work itself, which
a loaded machine measures more steadily than the difference of two study runs.
The cases: the reference picked on validation and its test score per seed on diabetes and on
`make_regression` / `make_classification` tables, split as `goodfit study` splits them (no network trained).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work) -> tuple[float, float]:
    """Wall and CPU seconds of `work()`."""
    wall, cpu = time.perf_counter(), _cpu()
    work()
    return time.perf_counter() - wall, _cpu() - cpu


def cost(repeats: int) -> None:
    from goodfit.study import Study
    from goodfit.study.reference import reference_of
    from goodfit.study.result import judged_metric

    rows = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for reference in (False, True):
                study = Study.default(reference=reference)
                out = Path(tmp) / f"{r}-{reference}"
                rows[reference].append(timed(lambda: study.run(out, progress=False)))
                print(f"repeat {r}, reference={reference}: {rows[reference][-1][0]:.1f} s wall, "
                      f"{rows[reference][-1][1]:.1f} s CPU", flush=True)
    study = Study.default()
    alone = [timed(lambda: reference_of(study.plan, study.dataset_info, judged_metric(study.plan, study.dataset_info)))
             for _ in range(3)]
    median = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    without, with_ = (median(rows[False], 0), median(rows[False], 1)), (median(rows[True], 0), median(rows[True], 1))
    ref = (median(alone, 0), median(alone, 1))
    print(f"\ndefault study without the reference: {without[0]:.1f} s wall, {without[1]:.1f} s CPU")
    print(f"default study with the reference:    {with_[0]:.1f} s wall, {with_[1]:.1f} s CPU "
          f"(x{with_[0] / without[0]:.3f} wall, x{with_[1] / without[1]:.3f} CPU)")
    print(f"the reference alone (10 condition x seed fits of 5 models each): {ref[0]:.2f} s wall, {ref[1]:.2f} s CPU "
          f"= {ref[0] / without[0]:.1%} of the study's wall time, {ref[1] / without[1]:.1%} of its CPU")


def cases() -> None:
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression

    from goodfit.study import Study
    from goodfit.study.reference import reference_of
    from goodfit.study.result import judged_metric

    X, y = make_regression(n_samples=1000, n_features=20, n_informative=10, noise=25.0, random_state=0)
    Xc, yc = make_classification(n_samples=3000, n_features=20, n_informative=5, flip_y=0.1, random_state=0)
    tables = {"diabetes": "diabetes",
              "make_regression (1000 x 20, noise 25)": pd.DataFrame(X).add_prefix("f").assign(y=y),
              "make_classification (3000 x 20, 10% flipped)": pd.DataFrame(Xc).add_prefix("f").assign(y=yc)}
    for name, data in tables.items():
        study = Study.default(data=data, target=None if isinstance(data, str) else "y", reference=True)
        metric = judged_metric(study.plan, study.dataset_info)
        wall = time.perf_counter()
        kept = reference_of(study.plan, study.dataset_info, metric)["conditions"][0]
        scores = np.array(kept["test"][metric.name])
        print(f"{name}: reference ({kept['name']}), test {metric.label} {metric.value(scores.mean())} "
              f"(seeds {', '.join(metric.value(v) for v in scores)}), {time.perf_counter() - wall:.1f} s; "
              "validation: " + ", ".join(f"{c} {metric.value(v)}" for c, v in kept["validation"].items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", action="store_true", help="the reference's scores on three tables, no study")
    p.add_argument("--repeats", type=int, default=1, help="study runs each way (median). Default 1")
    args = p.parse_args()
    cases() if args.cases else cost(args.repeats)


if __name__ == "__main__":
    main()
