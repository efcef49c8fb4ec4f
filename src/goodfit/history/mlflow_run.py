"""An MLflow run folder (`mlruns/<experiment>/<run>`) from its file store: one file per metric under
`metrics/`, a line `timestamp value step` per logged point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.history.series import history_from_series
from goodfit.history.table import History


def read_mlflow(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read an MLflow run folder (`mlruns/<experiment>/<run>`): one file per metric under `metrics/`.

    Each line of a metric file is `timestamp value step`; a name with slashes is a path under
    `metrics/`. Steps become epochs as `history_from_series` says.

    Example:
        >>> import tempfile, os
        >>> run = tempfile.mkdtemp()
        >>> os.makedirs(os.path.join(run, "metrics"))
        >>> for name, values in (("train_loss", [0.9, 0.6, 0.4]), ("val_loss", [1.0, 0.8, 0.7])):
        ...     _ = open(os.path.join(run, "metrics", name), "w").write(
        ...         "".join(f"{1700000000000 + e} {v} {e}\\n" for e, v in enumerate(values)))
        >>> read_mlflow(run).curve("val_loss").tolist()
        [1.0, 0.8, 0.7]
    """
    p = Path(path)
    metrics = p / "metrics" if (p / "metrics").is_dir() else p if p.name == "metrics" else None
    if metrics is None:
        runs = sorted(d.name for d in p.iterdir() if (d / "metrics").is_dir()) if p.is_dir() else []
        if runs:
            raise GoodfitError(f"{str(p)!r} is an MLflow experiment with {len(runs)} run(s) "
                               f"({', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}); pass the folder of one")
        raise GoodfitError(f"{str(p)!r} has no metrics folder; pass an MLflow run folder (mlruns/<experiment>/<run>)")
    series = {}
    for f in sorted(q for q in metrics.rglob("*") if q.is_file()):
        rows = []
        for line_no, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                stamp, value = float(parts[0]), float(parts[1])
                step = float(parts[2]) if len(parts) > 2 else float(line_no - 1)
            except (ValueError, IndexError):
                raise GoodfitError(f"{str(f)!r} line {line_no}: expected 'timestamp value step', got {line[:60]!r}") from None
            rows.append((step, value, stamp / 1000))
        if rows:
            arr = np.array(rows)
            series[f.relative_to(metrics).as_posix()] = (arr[:, 0], arr[:, 1], arr[:, 2])
    if not series:
        raise GoodfitError(f"{str(metrics)!r} holds no metric files")
    return history_from_series(series, str(p), num_classes, "mlflow", **columns)
