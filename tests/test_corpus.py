"""The corpus of real logs: every file in tests/corpus/ gets its regime, and its onset in its window.

The logs were written by Keras, Lightning, the Hugging Face Trainer, torch's SummaryWriter, MLflow
and fastai training tiny models in regimes made by construction (tests/corpus/make_corpus.py says
how, and regenerates them), classifiers and, by Keras and Lightning, regressions (MSE with MAE, RMSE
or R² beside it); labels.json holds each one's regime and onset window. The diagnosis is given
nothing but the file: no number of classes, no column names, not even the task.
"""
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from goodfit.diagnose import diagnose
from goodfit.history import read_history

CORPUS = Path(__file__).resolve().parent / "corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text())
LARGER_LR = ("larger learning rate", "higher learning rate", "10x higher")


@lru_cache(maxsize=None)
def read(name):
    return read_history(CORPUS / name)


@pytest.mark.parametrize("name", sorted(LABELS))
def test_every_real_log_gets_its_regime_and_its_onset_in_its_window(name):
    label = LABELS[name]
    h = read(name)
    d = diagnose(h)
    assert d.regime == label["regime"], (name, d.regime, d.evidence)
    if label["onset"] is not None:
        low, high = label["onset"]
        assert d.onset_epoch is not None and low <= d.onset_epoch <= high, (name, d.onset_epoch, label["onset"])
    if d.regime == "diverged" or np.nanmax(h.curve("train_loss") if h.has("train_loss") else [0]) > 1e3:
        assert not [a for a in d.advice if any(w in a.reason for w in LARGER_LR)], d.advice


def test_the_corpus_holds_every_format_and_every_regime_and_stays_small():
    formats = {read(name).format for name in LABELS}
    assert formats >= {"keras", "keras-json", "lightning", "tensorboard", "hf-trainer", "mlflow", "fastai", "wandb", "csv"}
    assert {label["regime"] for label in LABELS.values()} == {"overfitting", "memorization", "underfitting", "good_fit",
                                                              "still_improving", "diverged"}
    size = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    assert size < 1_500_000


def test_the_regression_logs_cover_four_regimes_and_never_speak_of_accuracy():
    regression = {name: label for name, label in LABELS.items() if label.get("task") == "regression"}
    assert {label["regime"] for label in regression.values()} == {"overfitting", "good_fit", "underfitting",
                                                                  "still_improving"}
    assert {read(name).format for name in regression} >= {"keras", "keras-json", "lightning", "tensorboard"}
    for name in regression:
        h, d = read(name), diagnose(read(name))
        assert h.score in ("mae", "rmse", "r2"), name
        assert "accuracy" not in " ".join(d.evidence) + " ".join(a.reason for a in d.advice), name


def test_the_issues_keras_regression_log_is_overfitting_since_its_first_epochs():
    d = diagnose(read("keras/regression_overfitting.csv"))
    assert d.regime == "overfitting" and 1 <= d.onset_epoch <= 3 and d.best_epoch == 1
