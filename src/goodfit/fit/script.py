"""A training function from a file: `goodfit study --script train.py` loads the file's `fit(settings, seed)`."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable

from goodfit.errors import GoodfitError


def load_fit(path: str | Path, name: str = "fit") -> Callable:
    """The function `name` of the Python file at `path`, run as a module of its own (its folder first on the
    import path, as `python path` would have it); sent to worker processes by value.

    Example:
        >>> import tempfile, os
        >>> f = os.path.join(tempfile.mkdtemp(), "train.py")
        >>> _ = open(f, "w").write("def fit(settings, seed):\\n    return None\\n")
        >>> load_fit(f).__name__
        'fit'
    """
    path = Path(path)
    if not path.is_file():
        raise GoodfitError(f"--script {str(path)!r} is no file; give the Python file that defines fit(settings, seed)")
    module_name = path.name  # `train.py`: never imported by name, and its functions read `train.py:fit`
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's file: say where it failed
        raise GoodfitError(f"--script {path} failed to load: {type(err).__name__}: {err}") from None
    fit = getattr(module, name, None)
    if not callable(fit):
        found = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise GoodfitError(f"--script {path} defines no function {name}(settings, seed); it defines "
                           f"{', '.join(found) or 'no function'}")
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)  # workers cannot import it by name: it travels with the unit
    return fit
