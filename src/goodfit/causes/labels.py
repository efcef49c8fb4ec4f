"""Noisy labels: out-of-fold probabilities from K folds x seeds trained as one population, each row's
margin over the epochs it trained (area under the margin), how many labels are wrong, and which.

Each member's epochs count up to its best held-out loss: after that it begins to learn the wrong
labels by heart, which blurs both signals. A row's score is the mean of two percentile ranks: how
little out-of-fold probability its given label gets, and how low its margin stays while trained on.

How many are wrong is a mixture estimate, not a count of rows the model gets wrong (on hard data
most of those are hard, not mislabeled). A label changed to another class at random is, to the
out-of-fold models that never trained on its row, just another class of that row: the probability
the models give each row's *other* classes is a sample of what wrong labels look like, on the very
rows and models at hand. Each label's fit (its probability over the row's largest) is compared
with that reference: below a cut `t`, a share `pi` of wrong labels puts `pi * F_ref(t)` of the rows,
and right labels put some more, so `F_given(t) / F_ref(t)` bounds `pi` from above at every cut and
is closest where right labels seldom fall (the lowest fits). The cut is the one whose bound, with
its sampling error added, is smallest; a bootstrap over rows at that cut gives the interval. That many of the
best-scored rows are judged mislabeled. It assumes a wrong label is any other class alike; labels
swapped between two look-alike classes fit better than the reference and are undercounted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from goodfit.causes.members import Trained, softmax

CUTS = np.linspace(0.01, 0.5, 50)  # quantiles of the reference fit where the share is bounded
Z = 2.0  # standard errors of F_given at the cut that is chosen
BOOTSTRAP = 200  # resamples of the rows for the share's interval
LEVEL = 0.9


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
        flagged: rows judged mislabeled, best first: the estimated share of the rows, best scored.
        share_interval: the estimated share's 90% interval. Default (0, 1): unknown.
    """

    given: np.ndarray
    likely: np.ndarray
    probabilities: np.ndarray
    self_confidence: np.ndarray
    margin: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    share_interval: tuple[float, float] = (0.0, 1.0)

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


def label_fit(probabilities: np.ndarray) -> np.ndarray:
    """How well each class fits each row: its probability over the row's largest, 1 for the best class `(N, C)`.

    Example:
        >>> label_fit(np.array([[0.5, 0.25, 0.25]])).tolist()
        [[1.0, 0.5, 0.5]]
    """
    return probabilities / probabilities.max(1, keepdims=True)


def below_cuts(probabilities: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At each of `CUTS` (quantiles of the other classes' fit), whether each row's label fits below the cut, and
    the share of the row's other classes that do: `(N, T)` each, their means over rows `F_given` and `F_ref`."""
    N, C = probabilities.shape
    fit = label_fit(probabilities)
    given = fit[np.arange(N), y]
    others = np.ones_like(fit, bool)
    others[np.arange(N), y] = False
    reference = fit[others].reshape(N, C - 1)  # what a label changed at random would fit
    cuts = np.quantile(reference, CUTS)
    return (given[:, None] <= cuts).astype(float), np.stack([(reference <= t).mean(1) for t in cuts], 1)


def best_cut(given: np.ndarray, reference: np.ndarray, n: int) -> int:
    """The cut whose bound `F_given / F_ref` is smallest with `F_given` at its Wilson upper limit (`Z` standard
    errors: a cut that few rows fall below cannot win by chance); `given`, `reference` `(T,)` over `n` rows.

    Example:
        >>> best_cut(np.array([0.0005, 0.06, 0.2]), np.array([0.02, 1.0, 1.0]), 2_000)  # one row below the first
        1
    """
    z2 = Z * Z
    upper = (given + z2 / (2 * n) + Z * np.sqrt(given * (1 - given) / n + z2 / (4 * n * n))) / (1 + z2 / n)
    return int(np.argmin(upper / reference))


def noise_share(probabilities: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """The share of wrong labels and its `LEVEL` interval (a bootstrap over rows), from out-of-fold probabilities.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 10, 2000)
        >>> p = rng.dirichlet(np.ones(10), 2000)
        >>> p[np.arange(2000), y] += 1.0  # the models favour every label, some more than others
        >>> p /= p.sum(1, keepdims=True)
        >>> wrong = rng.permutation(2000)[:200]  # then 10% of the labels change to another class
        >>> y[wrong] = (y[wrong] + rng.integers(1, 10, 200)) % 10
        >>> share, (low, high) = noise_share(p, y)
        >>> round(share, 2), low < 0.1 < high  # a wrong row's own class is among its reference: a little over 0.1
        (0.11, True)
    """
    given, reference = below_cuts(probabilities, y)
    N = len(y)
    cut = best_cut(given.mean(0), reference.mean(0), N)
    given, reference = given[:, cut], reference[:, cut]
    weights = np.random.default_rng(seed).multinomial(N, np.full(N, 1 / N), size=BOOTSTRAP)  # (B, N)
    shares = np.clip(weights @ given / (weights @ reference), 0.0, 1.0)
    share = float(np.clip(given.mean() / reference.mean(), 0.0, 1.0))
    low, high = np.quantile(shares, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return share, (float(min(low, share)), float(max(high, share)))


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
    share, interval = noise_share(probs, y)
    flagged = np.argsort(-score, kind="stable")[:int(round(share * N))]
    others = probs.copy()
    others[np.arange(N), y] = -1
    likely = probs.argmax(1)
    likely[flagged] = others[flagged].argmax(1)
    return LabelScores(y, likely, probs, confidence, margin, score, flagged, interval)
