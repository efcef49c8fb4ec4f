"""The reference: a well-tuned classical model from scikit-learn on the same splits and seeds as the members.

Per condition and seed it trains on the split the member of that seed trains on (`splits_for(plan, c, seed)`)
and is scored on the same test rows with the engine's own scores (`goodfit.engine.scores`); the model is
picked once per condition, by its mean validation score over the seeds, so the test part is used once.
Numbers only: the table's row and the verdict's words are `goodfit.report`'s; scikit-learn is imported
inside the functions that fit.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from goodfit.data.splits import Splits
from goodfit.engine import TrainConfig
from goodfit.engine.scores import scores
from goodfit.metrics import Metric
from goodfit.models import AUTO
from goodfit.study.units import splits_for

LOGISTIC_C = (0.001, 0.01, 0.1, 1.0, 10.0)  # inverse L2 strengths of the logistic regression, on standardized inputs
RIDGE_ALPHA = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)  # L2 strengths of the ridge regression
ITERATIONS = 500  # lbfgs steps of the logistic regression; one that has not converged is still scored on validation
WORDS = {"image": "images", "sequence": "sequences"}


@dataclass(frozen=True)
class Candidate:
    """One classical model the reference may pick: its family, and the strength of its L2 penalty where it has one.

    Example:
        >>> Candidate("ridge", 10.0).name, Candidate("logistic regression", 0.01).name, Candidate("gradient boosting").name
        ('ridge, alpha=10', 'logistic regression, C=0.01', 'gradient boosting')
    """

    family: str  # "logistic regression", "ridge" or "gradient boosting"
    strength: float | None = None  # C of the logistic regression, alpha of the ridge; None for gradient boosting

    @property
    def name(self) -> str:
        setting = {"logistic regression": "C", "ridge": "alpha"}.get(self.family)
        return self.family if setting is None else f"{self.family}, {setting}={self.strength:g}"

    def build(self, regression: bool, seed: int):
        """The scikit-learn estimator, inputs standardized first for the linear models."""
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.family == "gradient boosting":
            return (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(random_state=seed)
        linear = (Ridge(alpha=self.strength) if regression else
                  LogisticRegression(C=self.strength, max_iter=ITERATIONS))
        return make_pipeline(StandardScaler(), linear)


def candidates(task: str, kind: str) -> list[Candidate]:
    """What the reference picks from: the linear model over its strengths, and gradient boosting on tables
    (on flattened pixels or steps a linear model is the classical yardstick, and trees there cost more than
    the study's network).

    Example:
        >>> [c.name for c in candidates("regression", "table")][-2:]
        ['ridge, alpha=1000', 'gradient boosting']
        >>> len(candidates("classification", "image"))
        5
    """
    linear = ([Candidate("ridge", a) for a in RIDGE_ALPHA] if task == "regression" else
              [Candidate("logistic regression", c) for c in LOGISTIC_C])
    return linear + ([Candidate("gradient boosting")] if kind == "table" else [])


def skipped(plan: dict, dataset: dict) -> str | None:
    """Why the study has no reference, in the words of a note ("no reference: images, ..."), or None when it has one.

    A table always has one; images and sequences only where the study's network is the MLP, which reads them
    flattened as a classical model does; a training function's study never (it holds the data).

    Example:
        >>> skipped({"model": {"arch": "auto"}}, {"kind": "image"})
        'no reference: images, which the cnn2d network reads as images; a classical model on flattened values is no yardstick for it'
        >>> skipped({"model": {"arch": "mlp"}}, {"kind": "image"}) is None
        True
    """
    kind = dataset.get("kind")
    if plan.get("fit") is not None or kind == "function":
        return "no reference: your training function holds the data, which goodfit does not see"
    if kind == "table":
        return None
    model, words = plan["model"], WORDS.get(kind, kind)
    if "factory" in model:
        reader = "your module"
    else:
        arch = AUTO.get(kind) if model.get("arch", "auto") == "auto" else model["arch"]
        if arch == "mlp":
            return None
        reader = f"the {arch} network"
    return (f"no reference: {words}, which {reader} reads as {words}; a classical model on flattened values is no "
            "yardstick for it")


def _flat(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), -1)  # (N, features): pixels or steps flattened, a table as it is


def _outputs(model, X: np.ndarray, splits: Splits) -> torch.Tensor:
    """The model's predictions as a member's outputs `(1, N, C)`: log-probabilities of every class (a class the
    training part lacked gets none), or the standardized number."""
    if splits.regression:
        return torch.as_tensor(model.predict(_flat(X)), dtype=torch.float32)[None, :, None]
    proba = np.zeros((len(X), splits.num_classes))
    proba[:, model.classes_] = model.predict_proba(_flat(X))
    return torch.as_tensor(np.log(np.clip(proba, 1e-12, None)), dtype=torch.float32)[None]


def _one_thread():
    """scikit-learn's thread pools (OpenMP, BLAS) held to one thread: on a machine the study shares, several spin
    against each other (gradient boosting took 30 times longer on 2 busy cores), and one gives the same numbers
    everywhere."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _scored(model, X: np.ndarray, y: np.ndarray, splits: Splits, loss) -> dict[str, float]:
    """Every metric of the task, as a member's are computed (`engine.scores`), in the target's units."""
    with _one_thread():
        out = _outputs(model, X, splits)
    got = scores(out, torch.as_tensor(y), loss, splits.target_std)
    return {name: float(v[0]) for name, v in got.items()}


def _fitted(candidate: Candidate, splits: Splits, seed: int):
    """The candidate fitted on the split's training part, as its members see it (label noise included)."""
    with _one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a linear model that did not converge in ITERATIONS steps is still scored
        return candidate.build(splits.regression, seed).fit(_flat(splits.X_train), splits.y_train)


def _condition(plan: dict, condition: int, kind: str, metric: Metric, loss) -> dict:
    """One condition's reference: every candidate fitted on each seed's training part and scored on its
    validation part; the best by mean validation score (ties: the first, the more regularized) scored on test."""
    seeds = plan["seeds"]
    splits = {s: splits_for(plan, condition, s) for s in seeds}
    task = splits[seeds[0]].task
    fitted, validation = {}, {}
    for candidate in candidates(task, kind):
        fitted[candidate] = {s: _fitted(candidate, splits[s], s) for s in seeds}
        validation[candidate] = {s: _scored(fitted[candidate][s], splits[s].X_val, splits[s].y_val, splits[s], loss)
                                 for s in seeds}
    mean = {c: float(np.mean([v[s][metric.name] for s in seeds])) for c, v in validation.items()}
    best = max(mean, key=lambda c: metric.gain(mean[c]) if np.isfinite(mean[c]) else -np.inf)
    test = {s: _scored(fitted[best][s], splits[s].X_test, splits[s].y_test, splits[s], loss) for s in seeds}
    # no time taken here: results.json is the same for the same command, but for its top-level seconds
    return {"condition": condition, "name": best.name, "family": best.family, "strength": best.strength,
            "seeds": list(seeds), "validation": {c.name: v for c, v in mean.items()},
            "val": {name: [validation[best][s][name] for s in seeds] for name in validation[best][seeds[0]]},
            "test": {name: [test[s][name] for s in seeds] for name in test[seeds[0]]}}


def reference_of(plan: dict, dataset: dict, metric: Metric) -> dict:
    """The study's reference: per condition the classical model picked on validation and its scores per seed on
    the same validation and test rows as the members of that seed, or the note that says why there is none.

    Args:
        plan: the study's plan (`Study.plan`).
        dataset: its data's description (`Study.dataset_info`): its kind decides whether a reference makes sense.
        metric: the metric the study judges by, which picks the model on validation.

    Returns:
        `{"metric", "conditions": [{"condition", "name", "family", "strength", "seeds", "validation" (each
        candidate's mean validation score), "val" and "test" (each metric per seed)}]}`, or
        `{"note": ...}` (`skipped`).

    Example:
        >>> from goodfit.metrics import METRICS
        >>> from goodfit.study import Study
        >>> s = Study("diabetes", seeds=2, epochs=1)
        >>> ref = reference_of(s.plan, s.dataset_info, METRICS["rmse"])
        >>> ref["conditions"][0]["name"], [round(v, 1) for v in ref["conditions"][0]["test"]["rmse"]]
        ('ridge, alpha=100', [53.4, 53.4])
    """
    note = skipped(plan, dataset)
    if note is not None:
        return {"note": note}
    loss = TrainConfig(loss=plan["train"].get("loss", "auto")).loss_for(dataset["task"])
    return {"metric": metric.name,
            "conditions": [_condition(plan, c, dataset["kind"], metric, loss) for c in range(len(plan["conditions"]))]}
