"""What a recipe costs against its study: both as commands, side by side in one run, with ratios.

    python benchmarks/recipe_cost.py                 # digits at 40 epochs and MNIST-1D at 100 (issue 26's target: <= 1.5x)
    python benchmarks/recipe_cost.py --quick         # digits at 8 epochs, in seconds

For each data set it runs, in fresh folders and in this order, `goodfit study` with the 8 default
arms on one clean condition and `goodfit recipe` with its defaults (27 candidates, eta 3, top 3,
5 fresh seeds) at the same length, each as its own process (imports, data and reports included:
the user's whole job), then prints both wall times, the training seconds each reports, and the
ratios. It also counts the member-epochs each trains, from the plans, so a ratio can be read
against the work: a recipe that trained as many member-epochs as its study and cost much more
spends it outside training.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = {"digits": ["--data", "digits", "--model", "mlp", "--train-size", "300"],
        "mnist1d": ["--data", "mnist1d", "--model", "mlp"]}


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "goodfit", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"goodfit {' '.join(args)} failed: {r.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def member_epochs_of_recipe(results: dict) -> int:
    """Member-epochs the search and the confirmation planned: every arm of each rung, its seeds, its length."""
    plan = results["plan"]
    rungs = plan["rungs"]
    searched = sum((n + 1 + (6 if i == len(rungs) - 1 else 0)) * epochs * len(plan["search_seeds"])
                   for i, (n, epochs) in enumerate(rungs))  # candidates, the baseline, the singles in the last
    confirmed = len(results["confirmation"]["plan"]["arms"]) * len(plan["seeds"]) * plan["epochs"]
    return searched + confirmed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="digits at 8 epochs only")
    args = p.parse_args()
    cases = [("digits", 8)] if args.quick else [("digits", 40), ("mnist1d", 100)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, epochs in cases:
            common = RUNS[name] + ["--epochs", str(epochs)]
            study_out, recipe_out = Path(tmp) / f"{name}-study", Path(tmp) / f"{name}-recipe"
            study_wall = timed(["study", *common, "--label-noise", "0", "--out", str(study_out), "--json"])
            recipe_wall = timed(["recipe", *common, "--out", str(recipe_out), "--json"])
            study = json.loads((study_out / "results.json").read_text())
            recipe = json.loads((recipe_out / "results.json").read_text())
            study_train, recipe_train = study["seconds"], recipe["seconds"]  # training time, every unit
            study_work = len(study["plan"]["arms"]) * len(study["plan"]["seeds"]) * epochs
            recipe_work = member_epochs_of_recipe(recipe)
            print(f"{name}, {epochs} epochs: study {study_wall:.1f} s wall ({study_train:.1f} s training, "
                  f"{study_work} member-epochs); recipe {recipe_wall:.1f} s wall ({recipe_train:.1f} s training, "
                  f"{recipe_work} member-epochs)")
            print(f"{name}: recipe/study wall ratio {recipe_wall / study_wall:.2f}x, training ratio "
                  f"{recipe_train / study_train:.2f}x, member-epoch ratio {recipe_work / study_work:.2f}x", flush=True)


if __name__ == "__main__":
    main()
