"""Each member's scores from its outputs, on the device, read once: the task's metrics of
`goodfit.metrics.TASK_METRICS` (accuracy, balanced accuracy and macro F1 for classes; RMSE, MAE and
R² in the target's own units for regression) and the mean loss.
"""
from __future__ import annotations

import numpy as np
import torch

from goodfit.nn.losses import Loss


def scores(out: torch.Tensor, y: torch.Tensor, loss: Loss, target_std: float = 1.0) -> dict[str, np.ndarray]:
    """The task's metrics per member `(K,)` from outputs `(K, N, C)` and targets `(N,)` or `(K, N)`.

    Regression targets and outputs are standardized; `target_std` turns errors into the target's units
    (R² needs none). R² is one minus the squared error over the targets' own variance (targets all alike:
    1 for a perfect prediction, else 0, as scikit-learn's `r2_score`).

    Example:
        >>> out = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 0.0]]])  # predicts 0, 1, 0, 0
        >>> s = scores(out, torch.tensor([0, 1, 1, 1]), Loss())
        >>> [round(float(s[m][0]), 4) for m in ("accuracy", "balanced_accuracy", "macro_f1")]  # as scikit-learn's
        [0.5, 0.6667, 0.5]
        >>> r = scores(torch.tensor([[[0.5], [1.0]]]), torch.tensor([0.0, 2.0]), Loss("mse"), target_std=2.0)
        >>> [round(float(r[m][0]), 4) for m in ("rmse", "mae", "r2")]
        [1.5811, 1.5, 0.375]
    """
    y = y.expand(out.shape[:2])
    values = {"loss": loss.per_sample(out, y).mean(1)}
    if loss.regression:
        error = out[..., 0] - y
        mse = error.square().mean(1)
        variance = y.var(1, unbiased=False)
        r2 = 1 - mse / variance.clamp_min(1e-12)
        # targets all alike: R² is 1 for a perfect prediction and 0 otherwise, as scikit-learn's r2_score says
        r2 = torch.where(variance > 0, r2, (mse == 0).to(r2.dtype))
        values |= {"rmse": mse.sqrt() * target_std, "mae": error.abs().mean(1) * target_std, "r2": r2}
    else:
        K, N, C = out.shape
        pred = out.argmax(-1)
        confusion = torch.zeros(K, C * C, device=out.device).scatter_add_(
            1, y * C + pred, torch.ones_like(pred, dtype=torch.float)).reshape(K, C, C)  # [true, predicted]
        hits, actual, predicted = confusion.diagonal(dim1=1, dim2=2), confusion.sum(2), confusion.sum(1)
        present = actual > 0
        recall = torch.where(present, hits / actual.clamp_min(1), 0)
        seen = present | (predicted > 0)  # as scikit-learn: classes in the targets or the predictions
        f1 = torch.where(seen, 2 * hits / (actual + predicted).clamp_min(1), 0)
        values |= {"accuracy": hits.sum(1) / N, "balanced_accuracy": recall.sum(1) / present.sum(1),
                   "macro_f1": f1.sum(1) / seen.sum(1)}
    return {name: v.cpu().numpy() for name, v in values.items()}
