"""The `goodfit` command: parses, calls the Python API, formats. Nothing else lives here.

A `GoodfitError` becomes exit code 2 and one line on stderr; any other exception is a bug.
"""
from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from goodfit.errors import GoodfitError

app = typer.Typer(
    help="goodfit: is my network memorizing, since when, and which regularization fixes it on my data?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()


@app.callback()
def _root() -> None:
    """goodfit: is my network memorizing, since when, and which regularization fixes it on my data?"""


@app.command()
def datasets(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")):
    """List the built-in data sets.

    Example:

        goodfit datasets
    """
    from goodfit.data import BUILTIN

    if as_json:
        print(json.dumps({name: summary for name, (_, summary) in BUILTIN.items()}, indent=2))
        return
    table = Table(title="built-in data sets (all work offline)")
    table.add_column("name", style="bold")
    table.add_column("what it is")
    for name, (_, summary) in BUILTIN.items():
        table.add_row(name, summary)
    console.print(table)


def main() -> None:
    """Entry point of the console script: user mistakes exit 2 with one line, no traceback."""
    err_console = Console(stderr=True)
    try:
        app(standalone_mode=False)
    except GoodfitError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.TyperException as err:  # click's usage errors: one line naming the option, exit 2
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {escape(err.format_message() + hint)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, typer.Abort) as done:
        sys.exit(getattr(done, "exit_code", 1))
