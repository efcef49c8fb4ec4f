"""Noisy labels: out-of-fold probabilities from K folds x seeds trained as one population, each row's
margin over the epochs it trained (area under the margin), and the rows most likely mislabeled.

Each member's epochs count up to its best held-out loss: after that it begins to learn the wrong
labels by heart, which blurs both signals. A row's score is the mean of two percentile ranks: how
little out-of-fold probability its given label gets, and how low its margin stays while trained on.
How many rows are wrong is cleanlab's estimate (its confident joint) on the out-of-fold probabilities;
that many of the best-scored rows are judged mislabeled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from goodfit.causes.members import Trained, softmax


@dataclass(frozen=True)
class LabelScores:
    """Every row's evidence, in row order, and which rows are judged mislabeled.

    Attributes:
        given: the label as given `(N,)`.
        likely: the most probable label out of fold; for a flagged row, the most probable other than the given `(N,)`.
        probabilities: out-of-fold probabilities `(N, C)`, each row's mean over its held-out members.
        self_confidence: the out-of-fold probability of the given label `(N,)`.
        margin: the mean margin (given logit minus the largest other) while trained on `(N,)`.
        score: in [0, 1], higher is more likely mislabeled `(N,)`.
        flagged: rows judged mislabeled, best first.
    """

    given: np.ndarray
    likely: np.ndarray
    probabilities: np.ndarray
    self_confidence: np.ndarray
    margin: np.ndarray
    score: np.ndarray
    flagged: np.ndarray

    @property
    def share(self) -> float:
        """The estimated share of wrong labels."""
        return len(self.flagged) / len(self.given)


def best_epochs(trained: Trained, y: np.ndarray) -> list[int]:
    """Each member's epoch (1-based) of lowest loss on its held-out rows, by its recorded outputs."""
    best = []
    for part, logits in zip(trained.parts, trained.outputs):
        held = logits[:, part.held_out]  # (E, n, C)
        log_p = held - np.logaddexp.reduce(held, -1, keepdims=True)
        loss = -np.take_along_axis(log_p, y[part.held_out][None, :, None], -1)[..., 0].mean(1)  # (E,)
        best.append(int(np.argmin(loss)) + 1)
    return best


def margins(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per epoch and row, the given label's logit minus the largest other `(E, n)`.

    Example:
        >>> margins(np.array([[[2.0, 0.5, 1.0]]]), np.array([0])).tolist()
        [[1.0]]
    """
    given = np.take_along_axis(logits, y[None, :, None], -1)[..., 0]
    others = logits.copy()
    np.put_along_axis(others, y[None, :, None], -np.inf, -1)
    return given - others.max(-1)


def issue_count(y: np.ndarray, probabilities: np.ndarray) -> int:
    """cleanlab's estimate of how many labels are wrong (rows its confident joint prunes)."""
    from cleanlab.filter import find_label_issues

    return int(find_label_issues(y, probabilities, filter_by="prune_by_noise_rate").sum())


def label_scores(trained: Trained, y: np.ndarray, num_classes: int) -> LabelScores:
    """Score every row from a population of folds x seeds (recorded), and judge the worst as mislabeled."""
    N = len(y)
    probs, seen = np.zeros((N, num_classes)), np.zeros(N)
    margin, trained_on = np.zeros(N), np.zeros(N)
    for part, logits, best in zip(trained.parts, trained.outputs, best_epochs(trained, y)):
        kept = logits[:best]  # (best, N, C): the epochs before it learns wrong labels by heart
        probs[part.held_out] += softmax(kept[:, part.held_out]).mean(0)
        seen[part.held_out] += 1
        margin[part.train] += margins(kept[:, part.train], y[part.train]).mean(0)
        trained_on[part.train] += 1
    probs /= np.maximum(seen, 1)[:, None]
    margin /= np.maximum(trained_on, 1)
    confidence = probs[np.arange(N), y]
    score = (rankdata(-confidence) + rankdata(-margin)) / (2 * N)  # mean percentile rank, 1 is the worst row
    flagged = np.argsort(-score, kind="stable")[:issue_count(y, probs)]
    others = probs.copy()
    others[np.arange(N), y] = -1
    likely = probs.argmax(1)
    likely[flagged] = others[flagged].argmax(1)
    return LabelScores(y, likely, probs, confidence, margin, score, flagged)
