"""The `goodfit` command: the typer app, its commands (one file each: parse, call the Python API, render) and `main`.

A `GoodfitError` becomes exit code 2 and one message on stderr (wrapped at 80 columns on a terminal); any other exception is a bug. A command file
imports torch and the engine only inside its function, so `goodfit --help` and `goodfit diagnose` stay light.
"""
from __future__ import annotations

import re
import sys

import typer
from rich.console import Console
from rich.markup import escape

from goodfit.errors import GoodfitError

app = typer.Typer(
    help="goodfit: is my network memorizing, since when, and which regularization fixes it on my data?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()  # every command prints through `cli.console`, read when it prints (tests swap it)


def _print_version(value: bool) -> None:
    if value:
        from goodfit import __version__

        print(f"goodfit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print goodfit's version and exit.")) -> None:
    """goodfit: is my network memorizing, since when, and which regularization fixes it on my data?"""


def _first_sentence(doc: str) -> str:
    """A docstring's first sentence (ending in `.`, `?` or `:`), a command's line in `goodfit --help`: click
    would cut a longer first paragraph with "..." to fit the terminal."""
    return re.split(r"(?<=[.?])\s|:\s", doc.strip(), maxsplit=1)[0]


from goodfit.cli import causes, datasets, diagnose, recipe, report, study, train, weights  # noqa: E402 (they read `console`)


def _register() -> None:
    """Each command into the app, in the order `goodfit --help` lists them."""
    for command, short_help in (
        (datasets.datasets, None),
        (train.train, "Train one model (or several seeds) and show its curves."),
        (study.study, None),
        (recipe.recipe, None),
        (report.report, "Rebuild a study's results.json and report.html from study.db."),
        (diagnose.diagnose, None),
        (causes.causes, "Why the model overfits on your data: small, noisy, imbalanced, shifted, or capacity."),
        (weights.weights, "Per-layer weight norms and heavy-tail alpha of a state dict."),
    ):
        app.command(short_help=short_help or _first_sentence(command.__doc__))(command)


_register()


ERROR_WIDTH = 80  # an error wraps at this many columns, or the terminal's width if narrower


def error_text(message: str, width: int | None) -> str:
    """`error: <message>`, wrapped at `width` columns with its later lines indented under the message;
    one line when `width` is None (stderr is a pipe or a file, which a script greps line by line).

    Example:
        >>> print(error_text("column 'y' not found in a.csv; columns: " + ", ".join(f"f{i}" for i in range(14)), 40))
        error: column 'y' not found in a.csv;
               columns: f0, f1, f2, f3, f4, f5,
               f6, f7, f8, f9, f10, f11, f12,
               f13
    """
    import textwrap

    text = f"error: {message}"
    if width is None:
        return text
    return textwrap.fill(text, width=max(width, 40), subsequent_indent=" " * len("error: "), break_on_hyphens=False)


def _say_error(console: Console, message: str) -> None:
    width = min(console.width, ERROR_WIDTH) if console.is_terminal else None
    text = escape(error_text(message, width))
    console.print("[bold red]error:[/]" + text[len("error:"):], highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the console script: user mistakes exit 2 with one message (wrapped at 80 columns on a
    terminal, one line in a pipe), no traceback."""
    err_console = Console(stderr=True)
    try:
        app(standalone_mode=False)
    except GoodfitError as err:
        _say_error(err_console, str(err))
        sys.exit(2)
    except typer.TyperException as err:  # click's usage errors: one line naming the option, exit 2
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        _say_error(err_console, err.format_message() + hint)
        sys.exit(2)
    except (typer.Exit, typer.Abort) as done:
        sys.exit(getattr(done, "exit_code", 1))
