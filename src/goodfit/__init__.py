"""goodfit: is my network memorizing, since when, and which regularization fixes it on my data?

The flow: data -> remedies -> engine -> history -> diagnose / stats / weights -> study -> recipe -> report.

Names are imported on first use, so `import goodfit` (and `goodfit diagnose`, which reads a log)
does not pay for torch and the engine until something needs them.
"""
from importlib import import_module

__version__ = "0.1.0"

_HOMES = {
    "Conditions": "goodfit.data", "Dataset": "goodfit.data", "load": "goodfit.data", "split": "goodfit.data",
    "Diagnosis": "goodfit.diagnose", "diagnose": "goodfit.diagnose", "diagnose_seeds": "goodfit.diagnose",
    "Member": "goodfit.engine", "TrainConfig": "goodfit.engine", "train": "goodfit.engine",
    "GoodfitError": "goodfit.errors",
    "History": "goodfit.history", "read_history": "goodfit.history",
    "lint": "goodfit.lint",
    "auto": "goodfit.models", "cnn1d": "goodfit.models", "cnn2d": "goodfit.models", "mlp": "goodfit.models",
    "Arm": "goodfit.remedies", "Augment": "goodfit.remedies", "BatchNorm": "goodfit.remedies",
    "Dropout": "goodfit.remedies", "EarlyStopping": "goodfit.remedies", "Shrink": "goodfit.remedies",
    "WeightDecay": "goodfit.remedies",
    "Study": "goodfit.study", "StudyResult": "goodfit.study",
    "plot": "goodfit.report.notebook", "show": "goodfit.report.notebook", "verdict_of": "goodfit.report",
    "write_outputs": "goodfit.report.outputs",
    "Monitor": "goodfit.integrations", "hf_callback": "goodfit.integrations", "keras_callback": "goodfit.integrations",
    "lightning_callback": "goodfit.integrations",
    "hf": "goodfit.adapters",  # a module: goodfit.hf.fit(make_trainer)
    "keras": "goodfit.adapters",  # a module: goodfit.keras.fit(make_model, x, y, validation_data)
    "lightning": "goodfit.adapters",  # a module: goodfit.lightning.fit(make_module)
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """Import a public name from its module the first time it is asked for (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module 'goodfit' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
