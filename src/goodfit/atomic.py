"""Writing an output file so that a crash or a full disk never leaves half of it.

Every file goodfit writes for a person goes through `write_atomic`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from goodfit.errors import GoodfitError


def write_atomic(path: Path, write: Callable[[Path], None] | str, hint: str = "") -> None:
    """Write through a temporary file in the same folder, then `os.replace` it onto `path`.

    Args:
        path: the file to write.
        write: the text to write, or a function that writes the file at the path it is given.
        hint: what to run afterwards to write it again, appended to the error. Default none.

    Raises:
        GoodfitError: when the disk is full or the folder is not writable; `path` keeps its
            previous content and no temporary file is left behind.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> write_atomic(p, "hello"); p.read_text()
        'hello'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if isinstance(write, str):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(write)
                f.flush()
                os.fsync(f.fileno())
        else:
            write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        reason = err.strerror or str(err)
        raise GoodfitError(f"cannot write {path}: {reason}; free disk space or make {path.parent} writable"
                           + (f", then {hint}" if hint else "")) from None
