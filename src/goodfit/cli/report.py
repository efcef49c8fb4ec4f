"""`goodfit report DIR`: a study's results.json and report.html rebuilt from its study.db, training nothing."""
from __future__ import annotations

import json

import typer
from rich.text import Text

from goodfit import cli


def report(
    folder: str = typer.Argument(..., help="The --out folder of a study."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict and table as JSON."),
):
    """Rebuild results.json and report.html of a study from its study.db, training nothing.

    Example:

    \b
        goodfit report runs/study
    """
    from goodfit.report.outputs import write_outputs
    from goodfit.report.verdict import verdict
    from goodfit.study import StudyResult

    result = StudyResult.from_store(folder)
    files = write_outputs(result, folder)
    if as_json:
        print(json.dumps({"verdict": verdict(result), "files": {k: str(v) for k, v in files.items()}}, indent=2))
        return
    cli.console.print(Text.assemble(("verdict:", "bold"), f" {verdict(result)}"))  # wrapped at words
    cli.console.print(f"wrote {files['results']} and {files['report']}", highlight=False)
