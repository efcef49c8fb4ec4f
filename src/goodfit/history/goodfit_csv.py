"""goodfit's own runs: the canonical `history.csv` that `History.to_csv` writes, and the `config.json`
beside it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history.table import History


def read_goodfit_csv(path: str | Path, num_classes: int | None = None) -> History:
    """Read a history CSV written by `History.to_csv`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "h.csv")
        >>> History(pd.DataFrame({"member": [0], "epoch": [1], "val_loss": [0.5]})).to_csv(p)
        >>> read_goodfit_csv(p).curve("val_loss").tolist()
        [0.5]
    """
    frame = pd.read_csv(path)
    return History(frame, num_classes, str(path))


def read_run_config(path: str | Path) -> dict:
    """The `config.json` that goodfit writes beside a run's `history.csv`, or {} when there is none.

    Args:
        path: the history file, any file of the run folder, or the folder itself.

    Returns:
        The parsed JSON object, or an empty dict.

    Example:
        >>> read_run_config("/nonexistent/history.csv")
        {}
    """
    config = Path(path) / "config.json" if Path(path).is_dir() else Path(path).with_name("config.json")
    if not config.is_file():
        return {}
    try:
        loaded = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError):
        raise GoodfitError(f"{str(config)!r} is not valid JSON; fix or remove it") from None
    return loaded if isinstance(loaded, dict) else {}
