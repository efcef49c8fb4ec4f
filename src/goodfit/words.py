"""How goodfit writes a p-value, in a table cell and in a sentence: one function each, for every room.

The diagnosis and the statistics both quote p-values; neither imports the other (the diagnosis
must not pull in scipy), so the wording lives here, below both, and needs nothing but numpy.
"""
from __future__ import annotations

import numpy as np


def format_p(p: float | None, alpha: float = 0.05) -> str:
    """A p-value with enough digits to tell which side of `alpha` it falls on: one printed value, one call.

    Three decimals, more while rounding would print `alpha` itself (0.0497 and 0.0503 both round to
    0.050, and only one of them is significant); below 0.001, `<0.001`; `—` when there is none.

    Example:
        >>> format_p(0.0123), format_p(0.0497), format_p(0.0503), format_p(0.00004), format_p(0.05)
        ('0.012', '0.0497', '0.0503', '<0.001', '0.050')
    """
    if p is None or not np.isfinite(p):
        return "—"
    if p < 0.001:
        return "<0.001"
    digits = 3
    while digits < 6 and p != alpha and round(p, digits) == round(alpha, digits):
        digits += 1
    return f"{p:.{digits}f}"


def p_text(p: float | None, alpha: float = 0.05) -> str:
    """`p=0.0497` or `p<0.001`, as a sentence writes `format_p`'s value.

    Example:
        >>> p_text(0.0497), p_text(0.0001)
        ('p=0.0497', 'p<0.001')
    """
    shown = format_p(p, alpha)
    return f"p{shown}" if shown.startswith("<") else f"p={shown}"


def counted(n: int, noun: str) -> str:
    """`1 seed`, `3 seeds`: a count with its noun.

    Example:
        >>> counted(1, "comparison"), counted(3, "fresh seed")
        ('1 comparison', '3 fresh seeds')
    """
    return f"{n} {noun}{'' if n == 1 else 's'}"
