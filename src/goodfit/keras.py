"""`goodfit.keras.fit`: a study's members trained by your own compiled Keras model (`goodfit.adapters.keras`).

`import goodfit.keras` does not import Keras; a member imports it when it trains.
"""
from goodfit.adapters.keras import fit

__all__ = ["fit"]
