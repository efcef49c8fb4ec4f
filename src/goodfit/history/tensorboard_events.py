"""TensorBoard event files (SummaryWriter, Lightning's TensorBoardLogger, the HF Trainer, Keras' callback):
their scalars as series; the `tensorboard` package is imported only when such a file is read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from goodfit.errors import GoodfitError
from goodfit.history.columns import _SPLIT_WORDS, _tokens
from goodfit.history.series import history_from_series
from goodfit.history.table import History


def _split_dir(name: str) -> bool:
    return any(t in _SPLIT_WORDS for t in _tokens(name))


def read_tensorboard(path: str | Path, num_classes: int | None = None, **columns: str | None) -> History:
    """Read the scalars of TensorBoard event files: one events file, or a run folder and its subfolders.

    Reads what `torch.utils.tensorboard.SummaryWriter`, Lightning's `TensorBoardLogger`, the
    Hugging Face Trainer and Keras' `TensorBoard` callback write. A scalar in a subfolder is named
    `subfolder/tag` (Keras writes `train/epoch_loss` and `validation/epoch_loss`; `add_scalars`
    writes `Loss_train/Loss`). Several runs side by side (the same tags under folders that name no
    split, such as `version_0` and `version_1`) are an error that lists them. Needs the
    `tensorboard` package (`pip install "goodfit[tensorboard]"`); steps become epochs as
    `history_from_series` says.

    Args:
        path: an `events.out.tfevents.*` file or a folder holding some.
        num_classes: number of classes, for chance level. Default None (unknown).
        **columns: series names for `train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`, `epoch`.

    Returns:
        The `History`.

    Example:
        >>> import tempfile
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> folder = tempfile.mkdtemp()
        >>> with SummaryWriter(folder) as w:
        ...     for epoch, (t, v) in enumerate([(0.9, 1.0), (0.6, 0.8), (0.4, 0.7)]):
        ...         w.add_scalar("Loss/train", t, epoch)
        ...         w.add_scalar("Loss/val", v, epoch)
        >>> read_tensorboard(folder).curve("val_loss").tolist()
        [1.0, 0.8, 0.7]
    """
    p = Path(path)
    root = p if p.is_dir() else p.parent
    files = sorted(p.rglob("events.out.tfevents*")) if p.is_dir() else [p]
    if not files:
        raise GoodfitError(f"{str(p)!r} holds no TensorBoard event files (events.out.tfevents.*)")
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
        from tensorboard.util import tensor_util
    except ImportError:
        raise GoodfitError("reading TensorBoard event files needs the tensorboard package: "
                           'pip install "goodfit[tensorboard]"') from None
    points: dict[str, dict[float, tuple[float, float]]] = {}
    tags_by_dir: dict[str, set[str]] = {}
    for f in files:
        prefix = f.parent.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix
        try:
            for event in EventFileLoader(str(f)).Load():
                if not event.HasField("summary"):
                    continue
                for v in event.summary.value:
                    if v.HasField("simple_value"):  # a float32: 7 digits are all it holds
                        value = float(f"{v.simple_value:.7g}")
                    elif v.HasField("tensor") and v.metadata.plugin_data.plugin_name in ("scalars", ""):
                        array = tensor_util.make_ndarray(v.tensor)
                        if array.size != 1 or array.dtype.kind not in "fiu":
                            continue
                        value = float(array.reshape(-1)[0])
                        value = float(f"{value:.7g}") if array.dtype.itemsize <= 4 else value
                    else:
                        continue
                    name = f"{prefix}/{v.tag}" if prefix else v.tag
                    tags_by_dir.setdefault(prefix, set()).add(v.tag)
                    points.setdefault(name, {})[float(event.step)] = (value, float(event.wall_time))
        except Exception as err:  # noqa: BLE001 - a damaged event file is the user's file, not a bug
            first = (str(err).strip().splitlines() or [""])[0][:120]
            raise GoodfitError(f"cannot read {str(f)!r} as a TensorBoard event file ({type(err).__name__}"
                               f"{': ' + first if first else ''})") from None
    runs = [d for d in tags_by_dir if d and not _split_dir(d.split("/")[-1])]
    shared = [d for d in runs if any(tags_by_dir[d] & tags_by_dir[o] for o in runs if o != d)]
    if len(shared) > 1:
        raise GoodfitError(f"{str(p)!r} holds {len(shared)} runs ({', '.join(sorted(shared))}); pass the folder of one")
    if not points:
        raise GoodfitError(f"{str(p)!r}: its event files hold no scalars (nothing logged with add_scalar, or the "
                           "files are damaged)")
    series = {}
    for name, at in points.items():
        steps = np.array(sorted(at))
        series[name] = (steps, np.array([at[s][0] for s in steps]), np.array([at[s][1] for s in steps]))
    return history_from_series(series, str(p), num_classes, "tensorboard", **columns)
