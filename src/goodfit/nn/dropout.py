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


def kept_scale(threshold: int) -> np.float32:
    """What a kept unit is multiplied by: 1 / keep-probability, for a unit dropped below `threshold` of 2^16.

    Example:
        >>> float(kept_scale(32768)), float(kept_scale(0))
        (2.0, 1.0)
    """
    return np.float32(DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold))
