"""The one error type for user mistakes.

The CLI turns a `GoodfitError` into exit code 2 and its one-line message; anything else is a bug.
"""


class GoodfitError(ValueError):
    """A mistake in what the user passed: the message names the problem and the fix.

    Example:
        >>> str(GoodfitError("column 'lable' not found; columns: x, label; pass --target label"))
        "column 'lable' not found; columns: x, label; pass --target label"
    """
