"""How a dropout rate becomes what a mask is drawn against: a 16-bit threshold and the scale of a kept unit.

Shared by the engine's masks for the built-in layers and the masks of a user's own dropout layers.
"""
from __future__ import annotations

import numpy as np

DROPOUT_LEVELS = 1 << 16  # a unit is dropped when its 16 random bits fall below rate * DROPOUT_LEVELS


def dropout_threshold(rate: float) -> int:
    """The 16-bit threshold under which a unit is dropped: the rate, rounded to a multiple of 2^-16.

    Example:
        >>> dropout_threshold(0.5), dropout_threshold(0.0)
        (32768, 0)
    """
    return int(round(rate * DROPOUT_LEVELS))


def kept_scale(threshold):
    """What a kept unit is multiplied by: 1 / keep-probability, for a unit dropped below `threshold` of 2^16
    (0 where every unit is dropped); float32, one threshold or an array of them.

    Example:
        >>> float(kept_scale(32768)), float(kept_scale(0)), kept_scale(np.array([16384, 65536])).tolist()
        (2.0, 1.0, [1.3333333730697632, 0.0])
    """
    kept = DROPOUT_LEVELS - np.asarray(threshold, np.float64)
    return np.where(kept > 0, DROPOUT_LEVELS / np.maximum(kept, 1), 0.0).astype(np.float32)[()]
