"""Why a model overfits on the user's own data: small data, noisy labels (corrupted targets for a number),
imbalance, shift, capacity.

Each check trains through the population engine (folds, subsets and seeds as members of one
population) and hands back numbers; `Causes.run` turns them into causes with evidence and the
remedies that answer them, ordered by how much they explain. Like the diagnosis, it formats
nothing beyond its evidence sentences: the CLI and the report render it.

The rooms, in the order a run flows through them:
    members.py     rows cut into members' own splits (folds, subsets), trained and recorded
    labels.py      out-of-fold probabilities and margins: the rows most likely mislabeled
    targets.py     a numeric target's out-of-fold predictions: the rows whose target looks corrupted
    imbalance.py   per-class share and recall
    curve.py       the learning curve, its power law and what more data would add
    shift.py       a classifier telling the test rows from the training rows
    result.py      what was found: each cause with its evidence, and the result's numbers and tables

Rows are named as the user's data has them: 0-based data rows of the file (the line after a CSV's header
is row 0), or, for a study's training set, the file rows its rows came from (`Splits.train_rows`).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from goodfit.causes.curve import FRACTIONS, Curve, errors, fitted_curve
from goodfit.causes.imbalance import ClassRow, class_rows, neglect
from goodfit.causes.labels import LabelScores, best_epochs, label_scores
from goodfit.causes.members import (Part, features, fold_parts, softmax, stratified_folds, stratified_subset,
                                    train_parts, train_side_by_side)
from goodfit.causes.result import Cause, CausesResult, _points, planted_noise  # noqa: F401 - planted_noise: the package's name
from goodfit.causes.shift import Shift, shift_of
from goodfit.causes.targets import CUTOFF, TargetScores, chance, target_scores
from goodfit.data import Dataset, load
from goodfit.data.splits import Splits, strata
from goodfit.engine import TrainConfig
from goodfit.errors import GoodfitError
from goodfit.metrics import METRICS, TASK_METRICS
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, EarlyStopping
from goodfit.words import counted

NAMES = ("small_data", "noisy_labels", "corrupted_targets", "imbalance", "shift", "capacity")
REMEDIES = {
    "small_data": ["augment", "more_data"],
    "noisy_labels": ["early_stopping", "label_smoothing", "fix_listed_rows"],
    "corrupted_targets": ["fix_listed_rows", "huber_loss", "early_stopping"],
    "imbalance": ["class_weights", "balanced_accuracy"],
    "shift": ["more_data_like_the_test_rows", "augment"],
    "capacity": ["larger_model", "higher_learning_rate"],
}
SMALL_GAIN = 1.0  # points at twice the data, the lower end of its interval above zero: small data
NOISE_SHARE = 0.03  # the lower end of the wrong labels' share's interval above this: they are a cause
SHIFT_AUC = 0.6  # the lower end of the train-versus-test AUC's interval above this: shifted
CAPACITY_GAIN = 2.0  # points a four times wider model must add, when training stays close to validation
CLOSE_GAP, FIT_BELOW = 0.05, 0.95  # training within 5 points of validation, and under 95%: the capacity signature
CLASS_METRICS = tuple(m for m in TASK_METRICS["classification"] if METRICS[m].percent)  # a share, as the curve reads it
TARGET_METRICS = tuple(m for m in TASK_METRICS["regression"] if m != "loss")  # rmse, mae, r2
SMALL_CUT = 2.0  # percent of the error (RMSE, MAE, 1 - R²) twice the data must take off: small data, for a number
CORRUPT_SHARE = 0.01  # the lower end of the corrupted targets' share above this: a cause
CAPACITY_CUT = 5.0  # percent of the validation error a four times wider model must take off, for a number
PATIENCE = 8  # epochs without a better held-out loss before a member stops


def _capacity_said(capacity: dict, fit: str, effect: str) -> str:
    """The capacity cause's evidence, for classes and numbers alike: how training and validation `fit`, the model's
    size against the rows, and the `effect` of a wider model."""
    return (f"training stays low and close to validation ({fit}) with {capacity['parameters']:,} parameters for "
            f"{capacity['training_rows']:,} rows, and a model {capacity['wider_width'] // capacity['width']}x as wide "
            f"{effect}")


def training_set(splits: Splits, name: str) -> Dataset:
    """A study's training part as a `Dataset` for `Causes`: its rows and labels as the members train on them
    (after its conditions: label noise included; a numeric target back in its own units), its test part as
    the shift check's test rows. Which rows of the user's file they are is `splits.train_rows` (`Causes(rows=)`).

    Example:
        >>> from goodfit.data import Conditions, split
        >>> ds = training_set(split(load("wine"), Conditions(train_size=60), seed=0), "wine")
        >>> len(ds.y), len(ds.test[0])
        (60, 36)
        >>> s = split(load("diabetes"), seed=0)
        >>> bool(np.allclose(training_set(s, "diabetes").y, load("diabetes").y[s.train_rows]))
        True
    """
    y, y_test = splits.y_train, splits.y_test
    if splits.regression:  # the engine's targets are standardized by the training part; causes speak in the units
        y, y_test = (np.float32(splits.target_mean) + np.float32(splits.target_std) * a for a in (y, y_test))
    return Dataset(name, splits.X_train, y, splits.kind, splits.classes, standardize=False,
                   test=(splits.X_test, y_test), task=splits.task)  # tables are standardized already, by the training part


class Causes:
    """Look for why a model overfits on this data: each check trains through the population engine.

    Args:
        data: a built-in name, a file (CSV, Parquet, NPZ, image folder), a `Dataset`, or data in memory:
            `(X, y)` of arrays, tensors or lists, a DataFrame with `target`, `{"train": (X, y), "test": (X, y)}`
            or a map-style torch dataset (see `goodfit.load`). Default `digits`.
        target: the label column of a CSV or Parquet file or a DataFrame; a numeric target gets corrupted
            targets in place of noisy labels, and no imbalance check. Default None.
        model: `mlp`, `cnn1d`, `cnn2d` or `auto`, a `ModelSpec`, or your own factory returning an `nn.Module`
            (as for `goodfit.train`: every check but shift trains it; capacity, which needs a wider model, is then
            not checked). Default `mlp` (fast, and a data cause shows in a simple model too).
        test: a file of test rows with the same columns, for the shift check; a built-in set with a test
            part of its own uses that. Default None (no shift check).
        folds: folds of the out-of-fold probabilities. Default 5.
        seeds: seeds per fold and per learning-curve size. Default 3.
        epochs: most epochs a fold's member trains (each stops 8 epochs after its best held-out loss);
            a learning-curve member on a share `f` of the rows trains up to `epochs / sqrt(f)`. Default 30.
        metric: `accuracy`, `balanced_accuracy` or `macro_f1` for classes, `rmse`, `mae` or `r2` for a number:
            the learning curve's and capacity's. Default None: accuracy, or RMSE for a number.
        batch_size, lr, device: as for training. Defaults 32, 1e-3, `cpu`.
        train: every training setting as a `TrainConfig`, in place of `batch_size`, `lr` and `device` (its
            epochs are `epochs`'). Default None.
        optimizer, scheduler, scheduler_interval, clip_grad: the training's own (see `TrainConfig`), e.g.
            `optimizer=lambda params: torch.optim.AdamW(params, lr=3e-4)`; every check trains with them.
            Default None.
        rows, test_rows: each row's (and test row's) number in the user's file, 0-based data rows, where the data
            checked is a part of it (a study's training set: `Splits.train_rows`); every row reported is named by
            it. Default None: the rows' own positions.

    Example:
        >>> r = Causes("wine", folds=3, seeds=1, epochs=5).run()
        >>> sorted(r.to_dict())[:3], r.rows
        (['capacity', 'causes', 'checked'], 178)
    """

    def __init__(self, data="digits", target: str | None = None, model: str | ModelSpec = "mlp",
                 test: str | Path | None = None, folds: int = 5, seeds: int = 3, epochs: int = 30,
                 metric: str | None = None, batch_size: int = 32, lr: float = 1e-3, device: str = "cpu",
                 train: TrainConfig | None = None, optimizer=None, scheduler=None, scheduler_interval: str | None = None,
                 clip_grad: float | None = None, rows: np.ndarray | None = None, test_rows: np.ndarray | None = None):
        if int(folds) != folds or not 2 <= folds <= 20:
            raise GoodfitError(f"folds must be a whole number from 2 to 20, got {folds}; e.g. --folds 5")
        if int(seeds) != seeds or seeds < 1:
            raise GoodfitError(f"seeds must be a whole number >= 1, got {seeds}; e.g. --seeds 3")
        self.spec = model if isinstance(model, ModelSpec) or callable(model) else ModelSpec(model)
        config = TrainConfig(batch_size=batch_size, lr=lr, device=device) if train is None else train
        self.config = replace(config, epochs=epochs).with_training(
            optimizer=optimizer, scheduler=scheduler, scheduler_interval=scheduler_interval, clip_grad=clip_grad)
        self.dataset = data if isinstance(data, Dataset) else load(data, target)
        self.data = str(data) if isinstance(data, (str, Path)) else self.dataset.name
        self.regression = self.dataset.task == "regression"
        allowed = TARGET_METRICS if self.regression else CLASS_METRICS
        metric = metric or allowed[0]
        if metric not in allowed:
            raise GoodfitError(f"metric {metric!r} is not one causes can use on {'a numeric target' if self.regression else 'classes'}; "
                               f"use one of {', '.join(allowed)}")
        self.config.loss_for(self.dataset.task)  # a loss of the other task is refused here, before anything trains
        self.test = self._test_rows(test, target)
        self.folds, self.seeds, self.metric = int(folds), list(range(int(seeds))), metric
        self._first_fold = None  # the first fold's members of the noisy-labels check, once trained: the curve's full size
        self.rows, self.test_rows = rows, test_rows
        if self.regression:
            if len(self.dataset.y) < 10 * self.folds:
                raise GoodfitError(f"{self.data} has {len(self.dataset.y)} rows, too few for {self.folds} folds of a "
                                   f"numeric target; give it at least {10 * self.folds} rows, or pass --folds "
                                   f"{max(2, len(self.dataset.y) // 10)}")
            return
        counts = np.bincount(self.dataset.y, minlength=self.dataset.num_classes)
        if counts.min() < self.folds:
            small = self.dataset.classes[int(counts.argmin())]
            raise GoodfitError(f"class {small!r} has {counts.min()} rows, fewer than the {self.folds} folds; "
                               f"give each class at least {self.folds} rows, or pass --folds {max(2, counts.min())}")

    def _test_rows(self, test, target) -> np.ndarray | None:
        ds = self.dataset
        if test is None:
            return None if ds.test is None else np.asarray(ds.test[0], np.float32)
        rows = load(test, target)
        if rows.kind != ds.kind or rows.input_shape != ds.input_shape:
            raise GoodfitError(f"the test rows ({rows.kind}, {rows.input_shape}) do not match the data "
                               f"({ds.kind}, {ds.input_shape}); give a test file with the same columns")
        return np.asarray(rows.X, np.float32)

    def run(self, on_event: Callable[[str], None] | None = None) -> CausesResult:
        """Run every check; `on_event` gets a few words as each begins (for a progress line)."""
        say = on_event or (lambda text: None)
        start = time.perf_counter()
        ds = self.dataset
        X, y = features(ds), ds.y
        notes = []
        if self.regression:
            say(f"corrupted targets: {self.folds} folds x {counted(len(self.seeds), 'seed')}")
            labels, classes = self._targets(X, y), []
        else:
            say(f"noisy labels: {self.folds} folds x {counted(len(self.seeds), 'seed')}")
            labels = self._labels(X, y)
            classes = class_rows(y, labels.probabilities.argmax(1), ds.classes)
        say(f"learning curve: {len(FRACTIONS)} sizes x {counted(len(self.seeds), 'seed')}")
        curve, full = self._curve(X, y)
        say("capacity")
        capacity = self._capacity(X, y, full, notes, labels.share)
        shift = None
        if self.test is not None:
            say("shift: train against test")
            shift = self._shift()
        else:
            notes.append("shift not checked: no test rows (pass --test FILE)")
        causes = self._causes(labels, classes, curve, capacity, shift)
        self._caveats(causes, notes)
        checked = (["small_data", "corrupted_targets"] if self.regression else ["small_data", "noisy_labels", "imbalance"]
                   ) + ["capacity"] + (["shift"] if shift else [])
        return CausesResult(causes, labels, classes, ds.classes, curve, self.metric, capacity, shift, notes, len(y),
                            time.perf_counter() - start, self.data, checked, self.rows, self.test_rows)

    def _arm(self, patience: int = PATIENCE) -> Arm:
        return Arm("early_stopping", (EarlyStopping(patience=patience),))

    def label_scores(self) -> LabelScores:
        """The noisy-labels check alone: every row's scores and the rows judged mislabeled."""
        return self._labels(features(self.dataset), self.dataset.y)

    def target_scores(self) -> TargetScores:
        """The corrupted-targets check alone (a numeric target): every row's scores and the rows judged corrupted."""
        return self._targets(features(self.dataset), self.dataset.y)

    def learning_curve(self) -> Curve:
        """The small-data check alone: the learning curve over shares of the rows and its power law."""
        return self._curve(features(self.dataset), self.dataset.y)[0]

    def _labels(self, X: np.ndarray, y: np.ndarray) -> LabelScores:
        parts = [(part, seed) for part in fold_parts(y, self.folds, seed=0) for seed in self.seeds]
        trained = train_parts(X, y, self.dataset, parts, self.spec, self.config, self._arm(), record=True)
        self._first_fold = trained.result.members[:len(self.seeds)]
        return label_scores(trained, y, self.dataset.num_classes)

    def _targets(self, X: np.ndarray, y: np.ndarray) -> TargetScores:
        parts = [(part, seed) for part in fold_parts(strata(y, "regression"), self.folds, seed=0) for seed in self.seeds]
        trained = train_parts(X, y, self.dataset, parts, self.spec, self.config, self._arm(), record=True)
        self._first_fold = trained.result.members[:len(self.seeds)]
        return target_scores(trained, y)

    def _curve(self, X: np.ndarray, y: np.ndarray) -> tuple[Curve, list]:
        """Each share of the pool (all rows but a held-out fifth), several seeds each drawing its own subset.

        The fifth is the first of 5 folds as the noisy-labels check deals them: with its default 5 folds, that
        fold's members trained on the whole pool with the same settings and seeds, so once that check has run they
        are the curve's full size (alone or in a crowd, a member trains alike)."""
        y = strata(y, self.dataset.task)  # what the subsets keep the shares of: classes, or a number's quantile bins
        held_out = stratified_folds(y, 5, seed=0)[0]
        pool = np.setdiff1d(np.arange(len(y)), held_out)
        jobs = []
        for fraction in FRACTIONS:
            size = int(round(fraction * len(pool)))
            parts = []
            for seed in self.seeds:
                rng = np.random.default_rng([seed, int(fraction * 1000)])
                rows = pool if fraction == 1.0 else stratified_subset(pool, y, size, rng)
                parts.append((Part(rows, held_out), seed))
            stretch = fraction ** -0.5  # a smaller set takes more epochs, each of fewer steps
            jobs.append((parts, replace(self.config, epochs=math.ceil(self.config.epochs * stretch)),
                         self._arm(math.ceil(PATIENCE * stretch))))
        last = len(jobs) - 1  # the whole pool
        results = {last: self._first_fold} if self._first_fold is not None and self.folds == 5 else {}
        todo = [i for i in range(len(jobs)) if i not in results]
        trained = train_side_by_side(X, self.dataset.y, self.dataset, [jobs[i] for i in todo], self.spec)
        results |= {i: t.result.members for i, t in zip(todo, trained)}
        points = [(len(part.train), float(r.scores[f"val_{self.metric}"]))
                  for i, (parts, _, _) in enumerate(jobs) for (part, _), r in zip(parts, results[i])]
        full = (jobs[last][0], results[last], jobs[last][1])
        return fitted_curve(points, held_out=len(held_out), metric=self.metric), full

    def _capacity(self, X: np.ndarray, y: np.ndarray, full: tuple, notes: list[str], noise: float) -> dict:
        """Training against validation at full size; where training stays low and close, a 4x wider model.

        Low is against what the labels allow: with a share `noise` of them wrong, a model that learns the
        rest reaches `1 - noise` on the given labels, and only under `FIT_BELOW` of that is it held back. A numeric
        target is judged the same way by R² (the share of the target's variance the model explains); what the
        wider model gains is then the share of the error (RMSE, MAE or 1 - R²) it takes off, in percent."""
        parts, results, config = full
        fit = "r2" if self.regression else "accuracy"
        train_score = float(np.mean([r.scores[f"train_{fit}"] for r in results]))
        val_score = float(np.mean([r.scores[f"val_{fit}"] for r in results]))
        params = int(results[0].num_params)
        out = {"parameters": params, "training_rows": int(len(parts[0][0].train)), f"train_{fit}": round(train_score, 4),
               f"val_{fit}": round(val_score, 4)}
        if not (train_score < FIT_BELOW * (1 - noise) and train_score - val_score < CLOSE_GAP):
            return out
        if not isinstance(self.spec, ModelSpec):
            notes.append("training stayed close to validation, but a model of your own factory cannot be made wider "
                         "here: capacity not checked")
            return out
        arch = self.spec.resolve(self.dataset.kind, self.dataset.input_shape, self.dataset.num_outputs)
        wider = ModelSpec(arch.arch, arch.width * 4, arch.depth)
        trained = train_parts(X, y, self.dataset, parts, wider, config, self._arm(math.ceil(PATIENCE)))
        wide = float(np.mean([r.scores[f"val_{self.metric}"] for r in trained.result.members]))
        base = float(np.mean([r.scores[f"val_{self.metric}"] for r in results]))
        out |= {"wider_width": arch.width * 4, "width": arch.width}
        if self.regression:
            now, then = errors([base, wide], self.metric)
            out |= {f"val_{self.metric}": round(base, 6), f"wider_val_{self.metric}": round(wide, 6),
                    "wider_error_cut_percent": round(100 * (now - then) / now, 2)}
        else:
            out["wider_gain_points"] = round(100 * (wide - base), 2)
        shown = (lambda v: f"R² {v:.3f}") if self.regression else (lambda v: f"{v:.1%}")
        notes.append(f"training stayed close to validation ({shown(train_score)} against {shown(val_score)}): "
                     f"a model {4}x as wide was trained to see whether capacity holds it back")
        return out

    def _shift(self) -> Shift:
        ds = self.dataset
        both = np.concatenate([np.asarray(ds.X, np.float32), self.test])
        is_test = np.r_[np.zeros(len(ds.X), np.int64), np.ones(len(self.test), np.int64)]
        joint = Dataset("train+test", both, is_test, ds.kind, ("train", "test"), standardize=ds.standardize)
        X = features(joint)
        parts = [(part, seed) for part in fold_parts(is_test, self.folds, seed=2) for seed in self.seeds[:2]]
        config = replace(self.config, loss="auto")  # train against test is a question of classes, whatever the target
        spec = self.spec if isinstance(self.spec, ModelSpec) else ModelSpec("auto")  # a factory's outputs are its task's
        trained = train_parts(X, is_test, joint, parts, spec, config, self._arm(), record=True,
                              classes=("train", "test"))
        p_test, seen = np.zeros(len(is_test)), np.zeros(len(is_test))
        for part, logits, best in zip(trained.parts, trained.outputs, best_epochs(trained, is_test)):
            p_test[part.held_out] += softmax(logits[best - 1, part.held_out])[:, 1]
            seen[part.held_out] += 1
        return shift_of(is_test, p_test / np.maximum(seen, 1))

    def _causes(self, labels: LabelScores | TargetScores, classes: list[ClassRow], curve: Curve, capacity: dict,
                shift: Shift | None) -> list[Cause]:
        metric = METRICS[self.metric]
        found = []
        gain, low, high = (100 * v for v in curve.gain_2x)
        if self.regression:
            found += self._target_causes(labels, curve, capacity)
        elif gain >= SMALL_GAIN and low > 0:
            found.append(Cause("small_data", (
                f"the learning curve still rises: {metric.label} {curve.metric[0]:.1%} with {curve.sizes[0]} rows, "
                f"{curve.metric[-1]:.1%} with {curve.sizes[-1]}; doubling the data would add about {_points(gain)} "
                f"points ({_points(low)} to {_points(high)}), four times the data about "
                f"{_points(100 * (curve.at_4x - curve.metric[-1]))}"), REMEDIES["small_data"], gain))
        if not self.regression and labels.share_interval[0] > NOISE_SHARE:
            top = ", ".join(f"file row {self._row(r)} ({self.dataset.classes[labels.given[r]]}, likely "
                            f"{self.dataset.classes[labels.likely[r]]})" for r in labels.flagged[:3])
            found.append(Cause("noisy_labels", (
                f"about {labels.share:.1%} of the labels look wrong ({labels.share_interval[0]:.1%} to "
                f"{labels.share_interval[1]:.1%}; {len(labels.flagged)} of {len(labels.given)} rows): the out-of-fold "
                f"models give these labels as little probability as they give a row's other classes, and the model "
                f"learns them late; "
                f"the clearest: {top}"), REMEDIES["noisy_labels"], 100 * labels.share))
        lost = neglect(classes)
        if lost:
            cut = [r for r in classes if r.cut]
            largest = max(r.share for r in classes)
            named = ", ".join(f"{r.name} ({r.share:.1%} of rows, recall {r.recall:.0%}, "
                              f"{lost[r.name]:.0f} points below the others)" for r in cut)
            points = max(0.1, sum(max(0.0, v) for v in lost.values()) / len(classes))
            found.append(Cause("imbalance", (
                f"{len(cut)} class{'es' if len(cut) > 1 else ''} under a third of the largest class's "
                f"{largest:.1%} share: {named}"), REMEDIES["imbalance"], points))
        if shift is not None and shift.interval[0] > SHIFT_AUC:
            found.append(Cause("shift", (
                f"a classifier tells the test rows from the training rows with AUC {shift.auc:.2f} "
                f"({shift.interval[0]:.2f} to {shift.interval[1]:.2f}; 0.5 is chance); least like training: test rows "
                f"{', '.join(str(self._test_row(r)) for r, _ in shift.unlike[:5])}"), REMEDIES["shift"],
                100 * (shift.auc - 0.5)))
        wider = capacity.get("wider_gain_points")
        if wider is not None and wider >= CAPACITY_GAIN:
            found.append(Cause("capacity", _capacity_said(
                capacity, f"train accuracy {capacity['train_accuracy']:.1%}, validation {capacity['val_accuracy']:.1%}",
                f"adds {wider:+.1f} points"), REMEDIES["capacity"], wider))
        return sorted(found, key=lambda c: -c.points)

    def _row(self, r: int) -> int:
        return int(r if self.rows is None else self.rows[r])

    def _test_row(self, r: int) -> int:
        return int(r if self.test_rows is None else self.test_rows[r])

    def _target_causes(self, scores: TargetScores, curve: Curve, capacity: dict) -> list[Cause]:
        """A numeric target's causes: small data (its error still falls), corrupted targets, capacity; `points`
        are percent (of the error taken off, of the rows corrupted), to order them among the others."""
        metric, found = METRICS[self.metric], []
        value = metric.value
        now, mid, *ends = errors([curve.metric[-1] + g for g in (0.0, *curve.gain_2x)], self.metric)
        cut = 100 * (now - mid) / now  # percent of the error twice the data takes off; its surer end above zero:
        if cut >= SMALL_CUT and max(ends) < now:
            fall = "rise" if metric.higher_is_better else "fall"
            found.append(Cause("small_data", (
                f"the learning curve still {fall}s ({metric.label}, "
                f"{'higher' if metric.higher_is_better else 'lower'} is better): {value(curve.metric[0])} with "
                f"{curve.sizes[0]} rows, {value(curve.metric[-1])} with {curve.sizes[-1]}; doubling the data would "
                f"bring it to about {value(curve.at_2x)} ({value(curve.interval_2x[0])} to "
                f"{value(curve.interval_2x[1])} on new rows), a {fall} of {metric.change(curve.gain_2x[0])} that takes "
                f"about {cut:.0f}% off the error, four times the data to about {value(curve.at_4x)}"),
                REMEDIES["small_data"], cut))
        low = scores.share_interval[0]
        if low > CORRUPT_SHARE:
            top = ", ".join(f"file row {self._row(r)} (given {value(scores.given[r])}, likely {value(scores.likely[r])})"
                            for r in scores.flagged[:3])
            found.append(Cause("corrupted_targets", (
                f"about {scores.share:.1%} of the targets look corrupted ({scores.count:.0f} of {len(scores.given)} rows, "
                f"{scores.interval[0]:.0f} to {scores.interval[1]:.0f}): {len(scores.flagged)} lie more than {CUTOFF:g} "
                f"typical errors ({CUTOFF * scores.scale:.3g}) from what the out-of-fold models predict, where chance "
                f"would put about {chance() * len(scores.given):.0f}; the furthest: {top}"),
                REMEDIES["corrupted_targets"], 100 * scores.share))
        wider = capacity.get("wider_error_cut_percent")
        if wider is not None and wider >= CAPACITY_CUT:
            found.append(Cause("capacity", _capacity_said(
                capacity, f"R² {capacity['train_r2']:.3f} in training, {capacity['val_r2']:.3f} on validation",
                f"takes {wider:.0f}% off the validation {metric.label} ({value(capacity[f'val_{self.metric}'])} to "
                f"{value(capacity[f'wider_val_{self.metric}'])})"), REMEDIES["capacity"], wider))
        return found

    def _caveats(self, causes: list[Cause], notes: list[str]) -> None:
        if any(c.name == "capacity" for c in causes) and len(causes) > 1:
            weak = ("predictions are weak evidence of corrupted targets" if self.regression else
                    "probabilities are weak evidence of wrong labels")
            notes.append(f"the other checks used the same model, which lacks capacity: its {weak}; rerun with a larger "
                         "model (--width) to trust them")
