"""Per-layer weight statistics and the heavy-tail exponent alpha, from a state dict alone.

Reads tensors, never data or a model object. Alpha follows WeightWatcher (Martin & Mahoney):
fit a power law p(x) ~ x^-alpha to the tail of the eigenvalues of W^T W / N, choosing the tail's
start xmin by the smallest Kolmogorov-Smirnov distance (Clauset, Shalizi & Newman 2009).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from goodfit.errors import GoodfitError

if TYPE_CHECKING:  # torch is imported where a tensor is read, so reading a log never pays for it
    import torch

MIN_EIGENVALUES = 10  # fewer: no power-law fit (WeightWatcher's default min_evals)
MIN_TAIL = 5  # the fitted tail keeps at least this many eigenvalues
OVER_TRAINED = 2.0  # alpha below: over-trained (too heavy a tail)
UNDER_TRAINED = 6.0  # alpha above: under-trained (close to random)


@dataclass(frozen=True)
class LayerStats:
    """One weight matrix's norms and spectral tail.

    Args:
        name: the state-dict key.
        shape: the tensor's shape; convolution kernels are read as (out, in * kernel).
        frobenius: Frobenius norm.
        spectral: largest singular value.
        eigenvalues: how many eigenvalues W^T W / N has (the smaller side of the matrix).
        alpha: power-law exponent of the eigenvalue tail; None when the layer is too small to fit.
        xmin: where the fitted tail starts; None with alpha.
        ks: Kolmogorov-Smirnov distance of the fit (lower is a better fit); None with alpha.
        verdict: `well trained` (2 <= alpha <= 6), `over-trained` (< 2), `under-trained` (> 6),
            `too small to fit`, or `non-finite weights` (NaN or infinite: the norms are NaN).

    Example:
        >>> LayerStats("fc.weight", (3, 4), 1.0, 0.9, 3, None, None, None, "too small to fit").alpha is None
        True
    """

    name: str
    shape: tuple[int, ...]
    frobenius: float
    spectral: float
    eigenvalues: int
    alpha: float | None
    xmin: float | None
    ks: float | None
    verdict: str

    def to_dict(self) -> dict:
        out = {**asdict(self), "shape": list(self.shape)}
        return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in out.items()}


@dataclass(frozen=True)
class WeightReport:
    """All weight matrices of a state dict, in its order, and the median alpha over fitted layers.

    Example:
        >>> WeightReport(()).median_alpha is None
        True
    """

    layers: tuple[LayerStats, ...]

    @property
    def fitted(self) -> tuple[LayerStats, ...]:
        return tuple(layer for layer in self.layers if layer.alpha is not None)

    @property
    def median_alpha(self) -> float | None:
        alphas = [layer.alpha for layer in self.fitted]
        return float(np.median(alphas)) if alphas else None

    @property
    def verdict(self) -> str:
        """The verdict of the median alpha, or `too small to fit` when no layer could be fitted."""
        return _verdict(self.median_alpha)

    def to_dict(self) -> dict:
        return {"layers": [layer.to_dict() for layer in self.layers], "median_alpha": self.median_alpha,
                "verdict": self.verdict}


def _verdict(alpha: float | None) -> str:
    if alpha is None:
        return "too small to fit"
    return "over-trained" if alpha < OVER_TRAINED else "under-trained" if alpha > UNDER_TRAINED else "well trained"


def power_law_fit(eigenvalues: np.ndarray, min_tail: int = MIN_TAIL) -> tuple[float, float, float]:
    """Fit p(x) ~ x^-alpha to the upper tail of positive values, choosing xmin by the KS distance.

    For each candidate xmin (each value that leaves at least `min_tail` values at or above it), the
    continuous maximum-likelihood exponent is alpha = 1 + n / sum(ln(x / xmin)); the candidate whose
    fitted CDF is closest to the empirical one (Kolmogorov-Smirnov distance D) wins.

    Args:
        eigenvalues: the values; zeros and negatives are dropped.
        min_tail: fewest values the tail may keep. Default `MIN_TAIL` (5).

    Returns:
        (alpha, xmin, D).

    Raises:
        GoodfitError: fewer than `min_tail` distinct positive values.

    Example:
        >>> x = (1 - np.random.default_rng(0).random(5000)) ** (-1 / 2.5)  # alpha = 3.5, xmin = 1
        >>> alpha, xmin, d = power_law_fit(x)
        >>> round(alpha, 1)
        3.5
    """
    x = np.sort(np.asarray(eigenvalues, dtype=float))
    x = x[x > 0]
    if len(np.unique(x)) < min_tail:
        raise GoodfitError(f"need at least {min_tail} distinct positive eigenvalues to fit a power law, got {len(x)}")
    logs = np.log(x)
    best = (np.inf, np.nan, np.nan)
    for i in range(len(x) - min_tail + 1):
        if i and x[i] == x[i - 1]:
            continue
        tail_logs = logs[i:] - logs[i]
        total = tail_logs.sum()
        if total <= 0:
            continue
        n = len(tail_logs)
        alpha = 1 + n / total
        fitted = 1 - np.exp((1 - alpha) * tail_logs)  # CDF of the power law at each tail value
        d = max(np.max(np.arange(1, n + 1) / n - fitted), np.max(fitted - np.arange(n) / n))
        if d < best[0]:
            best = (d, alpha, x[i])
    return float(best[1]), float(best[2]), float(best[0])


def layer_stats(name: str, weight: torch.Tensor) -> LayerStats:
    """Norms and heavy-tail alpha of one weight tensor of 2 or more dimensions.

    Args:
        name: what to call it (its state-dict key).
        weight: shape (out, in) or (out, in, *kernel); a kernel is folded into the columns.

    Returns:
        The `LayerStats`; alpha is None below `MIN_EIGENVALUES` eigenvalues.

    Example:
        >>> import torch
        >>> s = layer_stats("fc.weight", torch.eye(3))
        >>> s.spectral, s.eigenvalues, s.verdict
        (1.0, 3, 'too small to fit')
    """
    import torch

    w = weight.detach().to(torch.float64).reshape(weight.shape[0], -1)  # (out, in * kernel)
    if not torch.isfinite(w).all():  # a diverged run saves NaN or infinite weights: nothing to fit
        return LayerStats(name, tuple(weight.shape), float("nan"), float("nan"), min(w.shape), None, None, None,
                          "non-finite weights")
    if w.shape[0] < w.shape[1]:
        w = w.T  # (N, M) with N >= M: M eigenvalues
    n, m = w.shape
    singular = torch.linalg.svdvals(w).numpy()
    eig = singular ** 2 / n  # eigenvalues of W^T W / N
    alpha = xmin = ks = None
    if m >= MIN_EIGENVALUES and len(np.unique(eig[eig > 0])) >= MIN_TAIL:
        alpha, xmin, ks = power_law_fit(eig)
    return LayerStats(name, tuple(weight.shape), float(np.sqrt((singular ** 2).sum())), float(singular.max(initial=0.0)),
                      m, alpha, xmin, ks, _verdict(alpha))


def weight_stats(state_dict: dict) -> WeightReport:
    """Statistics of every weight matrix (tensors of 2 or more dimensions) in a state dict.

    Args:
        state_dict: name to tensor, as `module.state_dict()` returns; other entries are skipped.

    Returns:
        The `WeightReport`.

    Raises:
        GoodfitError: no tensor of 2 or more dimensions.

    Example:
        >>> import torch
        >>> sd = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3)).state_dict()
        >>> [(s.name, s.eigenvalues, s.alpha is not None) for s in weight_stats(sd).layers]
        [('0.weight', 32, True), ('2.weight', 3, False)]
    """
    import torch

    if not isinstance(state_dict, dict):
        raise GoodfitError(f"expected a state dict (name to tensor), got {type(state_dict).__name__}; "
                           "save with torch.save(model.state_dict(), path)")
    layers = tuple(layer_stats(str(k), v) for k, v in state_dict.items()
                   if isinstance(v, torch.Tensor) and v.dim() >= 2 and v.is_floating_point() and v.numel() > 0)
    if not layers:
        raise GoodfitError("the state dict holds no weight matrix (no floating tensor of 2 or more dimensions)")
    return WeightReport(layers)


def read_weights(path: str | Path) -> WeightReport:
    """Load a saved state dict (`torch.load(path, weights_only=True)`) and compute its `weight_stats`.

    Args:
        path: a `.pt` file holding a state dict, such as goodfit's `model.pt`.

    Returns:
        The `WeightReport`.

    Raises:
        GoodfitError: a missing, unreadable or corrupted file, or one that holds no state dict.
            Whatever the loader raises on a damaged file (torch's unpickler has raised
            IndexError, KeyError, TypeError, ... on random bytes) becomes this one-line error.

    Example:
        >>> import tempfile, os, torch
        >>> p = os.path.join(tempfile.mkdtemp(), "model.pt")
        >>> torch.save(torch.nn.Linear(20, 16).state_dict(), p)
        >>> read_weights(p).layers[0].eigenvalues
        16
    """
    p = Path(path)
    if not p.is_file():
        raise GoodfitError(f"no file at {str(p)!r}; pass a saved state dict such as runs/one/model.pt")
    import torch

    try:
        with warnings.catch_warnings():  # a damaged file can make torch warn before it fails: the error says it all
            warnings.simplefilter("ignore")
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle a damaged file is the user's file, not a bug
        first = (str(err).strip().splitlines() or [""])[0]
        why = f"{type(err).__name__}: {first}" if first else type(err).__name__
        raise GoodfitError(f"cannot load {str(p)!r} as a PyTorch state dict ({why[:120]}); "
                           "is it a file written by torch.save(model.state_dict(), ...)?") from None
    return weight_stats(state)


def weights_vs_curves(regime: str, report: WeightReport) -> str:
    """One sentence on whether the weight spectra agree with the curve diagnosis, stating any disagreement.

    Args:
        regime: the curve diagnosis' regime.
        report: the weights' statistics.

    Returns:
        The sentence.

    Example:
        >>> r = WeightReport((LayerStats("w", (64, 64), 1.0, 1.0, 64, 1.5, 0.1, 0.05, "over-trained"),))
        >>> weights_vs_curves("overfitting", r)
        'weights agree: median alpha 1.50 over 1 layer(s) reads over-trained, as the curves say overfitting.'
    """
    alpha = report.median_alpha
    if alpha is None:
        return "weights cannot say: no layer has enough eigenvalues for a power-law fit."
    said = f"median alpha {alpha:.2f} over {len(report.fitted)} layer(s) reads {report.verdict}"
    expected = {"overfitting": "over-trained", "memorization": "over-trained", "underfitting": "under-trained",
                "good_fit": "well trained", "still_improving": None, "diverged": None}.get(regime)
    if expected is None or expected == report.verdict:
        return f"weights agree: {said}, as the curves say {regime}." if expected else \
            f"weights: {said}; the curves say {regime}, on which alpha has no fixed reading."
    return (f"weights disagree: {said}, while the curves say {regime}. The curves measure generalization directly; "
            "alpha is a rough guide, calibrated on large layers.")
