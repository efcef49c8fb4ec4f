"""The CSVs the Weights & Biases app exports: a run's history (`_step`, `_runtime`, `_timestamp`) or a
chart panel (`Step`, `<run> - <key>` and its `__MIN`/`__MAX`), as one run's columns.
"""
from __future__ import annotations

import pandas as pd

from goodfit.errors import GoodfitError


def _wandb_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A W&B chart-panel export (`Step`, `<run> - <key>`, `<key>__MIN`/`__MAX`) as one run's columns."""
    if "_step" in frame.columns:
        return frame.drop(columns=[c for c in ("_runtime", "_timestamp") if c in frame.columns])
    keep = {c: c.split(" - ", 1) for c in frame.columns if " - " in c and not c.endswith(("__MIN", "__MAX"))}
    runs = sorted({run for run, _ in keep.values()})
    if len(runs) > 1:
        raise GoodfitError(f"{source} holds {len(runs)} runs ({', '.join(runs)}); export the chart of one run")
    out = frame[["Step"] + list(keep)].rename(columns={c: key for c, (_, key) in keep.items()})
    out.attrs.update(frame.attrs)
    return out
