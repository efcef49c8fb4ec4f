"""The `goodfit` command: parses, calls the Python API, formats. Nothing else lives here.

A `GoodfitError` becomes exit code 2 and one line on stderr; any other exception is a bug.
"""
from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
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
    try:
        app(standalone_mode=False)
    except GoodfitError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as err:  # click's usage errors: one line, exit 2; anything else is a bug
        import click

        if isinstance(err, click.exceptions.ClickException):
            Console(stderr=True).print(f"[bold red]error:[/] {err.format_message()}", highlight=False, soft_wrap=True)
            sys.exit(2)
        raise
