"""Adapters: a study member from another framework's trainer, the arm's remedies put into it.

    hf.py          `fit(make_trainer)`: a Hugging Face `Trainer` as a member (`goodfit.hf`)
    keras.py       `fit(...)`: a compiled Keras model as a member (`goodfit.keras`)
    lightning.py   `fit(...)`: a LightningModule as a member (`goodfit.lightning`)

Each is imported the first time it is asked for, and imports its framework only when a member trains.
"""
from importlib import import_module

ADAPTERS = ("hf", "keras", "lightning")


def __getattr__(name: str):
    """Import an adapter the first time it is asked for (PEP 562), as `goodfit` imports its names."""
    if name not in ADAPTERS:
        raise AttributeError(f"module 'goodfit.adapters' has no attribute {name!r}")
    return import_module(f"goodfit.adapters.{name}")
