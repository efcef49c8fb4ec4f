"""One training run's folder: `history.csv`, `model.pt` and `config.json`.

Takes a `TrainResult` and the settings that made it; writes files, trains nothing.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from goodfit.atomic import write_atomic
from goodfit.engine import TrainConfig, TrainResult
from goodfit.errors import GoodfitError


def prepare_out(out: str | Path) -> Path:
    """The output folder, created; refuses a path that is a file."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise GoodfitError(f"output path {str(path)!r} is a file; pass --out with a folder name")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GoodfitError(f"cannot create output folder {str(path)!r}: {err.strerror}; pass another --out") from None
    return path


def save_run(out: str | Path, result: TrainResult, settings: dict, config: TrainConfig) -> dict[str, Path]:
    """Write the run's files; returns their paths.

    Args:
        out: the output folder.
        result: what `engine.train` returned.
        settings: how the run was made (data, conditions, model, arm, seeds, command), stored in `config.json`.
        config: the shared training settings.

    Returns:
        Paths of `history`, `model` and `config`.
    """
    path = prepare_out(out)
    files = {"history": path / "history.csv", "model": path / "model.pt", "config": path / "config.json"}
    write_atomic(files["history"], lambda p: result.history().to_csv(p))
    first = result.members[0]
    write_atomic(files["model"], lambda p: torch.save(first.state_dict, p))
    if len(result.members) > 1:
        (path / "models").mkdir(exist_ok=True)
        for r in result.members:
            write_atomic(path / "models" / f"seed_{r.member.seed}.pt", lambda p, state=r.state_dict: torch.save(state, p))
    record = {
        **settings,
        "architecture": first.architecture.to_dict(),
        "num_params": first.num_params,
        "train": config.to_dict(),
        "num_classes": result.num_classes,
        "results": [{"seed": r.member.seed, "best_epoch": r.best_epoch, "stopped_epoch": r.stopped_epoch,
                     "diverged": r.diverged, "test_loss": r.test_loss, "test_accuracy": r.test_accuracy}
                    for r in result.members],
        "seconds": round(result.seconds, 3),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    write_atomic(files["config"], lambda p: p.write_text(json.dumps(record, indent=2, default=str) + "\n"))
    return files
