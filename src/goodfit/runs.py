"""One training run's folder: `history.csv`, `model.pt` and `config.json`.

Takes a `TrainResult` and the settings that made it; writes files, trains nothing.
"""
from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from goodfit.atomic import write_atomic
from goodfit.engine import TrainResult
from goodfit.errors import GoodfitError


def check_out(out: str | Path) -> Path:
    """The output folder as a path, checked but not created: not a file, and under a folder that can be written.

    A run creates its folder only once it has something to write, so a run that fails first
    leaves no empty folder behind.

    Example:
        >>> check_out("/tmp/goodfit-not-made-yet/run").name
        'run'
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise GoodfitError(f"output path {str(path)!r} is a file; pass --out with a folder name")
    above = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    if above is None or not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
        raise GoodfitError(f"cannot create output folder {str(path)!r}: {str(above)!r} is not a writable folder; "
                           "pass another --out")
    return path


def prepare_out(out: str | Path) -> Path:
    """The output folder, created; refuses a path that is a file."""
    path = check_out(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GoodfitError(f"cannot create output folder {str(path)!r}: {err.strerror}; pass another --out") from None
    return path


@dataclass(frozen=True)
class RunRecord:
    """How a `goodfit train` run was made and what it gave: the one type that owns its `config.json`.

    Readers (`history.read_run_config`, `diagnose.context_from_config`) take the JSON by these names.

    Example:
        >>> r = RunRecord("goodfit train", "wine", None, {}, {}, 0, {}, {}, {"name": "baseline"}, [0], {})
        >>> sorted(r.to_dict())[:3]
        ['architecture', 'arm', 'command']
    """

    command: str
    data: str
    target: str | None
    dataset: dict  # the data set's description
    conditions: dict  # train size, label noise, imbalance
    split_seed: int
    splits: dict  # sizes and class counts of the splits
    model: dict  # the `ModelSpec` asked for
    arm: dict  # the remedies
    seeds: list
    train: dict  # the `TrainConfig`
    architecture: dict = field(default_factory=dict)  # the resolved architecture of the first member
    num_params: int = 0
    num_classes: int = 0
    results: list = field(default_factory=list)  # per seed: best and stopped epoch, divergence, test metrics
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)

    def with_result(self, result: TrainResult) -> "RunRecord":
        """This record completed with what training gave."""
        first = result.members[0]
        return replace(
            self, architecture=first.architecture.to_dict(), num_params=first.num_params,
            num_classes=result.num_classes, seconds=round(result.seconds, 3), notes=list(result.notes),
            results=[{"seed": r.member.seed, "best_epoch": r.best_epoch, "stopped_epoch": r.stopped_epoch,
                      "diverged": r.diverged, **_test_scores(r)} for r in result.members],
            versions={"torch": torch.__version__, "python": platform.python_version()})

    def to_dict(self) -> dict:
        return asdict(self)


def _test_scores(r) -> dict[str, float | None]:
    """A member's test metrics with its kept weights, those of its task only (`test_rmse`, ... for a number);
    a metric that is not finite (a diverged member's) is None, which JSON can hold.

    Example:
        >>> from types import SimpleNamespace
        >>> _test_scores(SimpleNamespace(scores={"val_rmse": 2.0, "test_rmse": 3.0, "test_loss": float("nan")}))
        {'test_rmse': 3.0, 'test_loss': None}
    """
    return {k: (float(v) if math.isfinite(v) else None) for k, v in r.scores.items() if k.startswith("test_")}


def save_run(out: str | Path, result: TrainResult, record: RunRecord) -> dict[str, Path]:
    """Write the run's files; returns their paths.

    Args:
        out: the output folder.
        result: what `engine.train` returned.
        record: how the run was made; completed with the result and written as `config.json`.

    Returns:
        Paths of `history`, `model` and `config`.
    """
    path = prepare_out(out)
    files = {"history": path / "history.csv", "model": path / "model.pt", "config": path / "config.json"}
    write_atomic(files["history"], lambda p: result.history().to_csv(p))
    write_atomic(files["model"], lambda p: torch.save(result.members[0].state_dict, p))
    if len(result.members) > 1:
        (path / "models").mkdir(exist_ok=True)
        for r in result.members:
            write_atomic(path / "models" / f"seed_{r.member.seed}.pt", lambda p, state=r.state_dict: torch.save(state, p))
    text = json.dumps(record.with_result(result).to_dict(), indent=2, default=str) + "\n"
    write_atomic(files["config"], lambda p: p.write_text(text))
    return files
