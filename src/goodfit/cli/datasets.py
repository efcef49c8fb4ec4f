"""`goodfit datasets`: the built-in data sets, as a table or JSON."""
from __future__ import annotations

import json

import typer
from rich.table import Table

from goodfit import cli


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
    cli.console.print(table)
