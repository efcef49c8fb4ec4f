"""`goodfit weights FILE`: per-layer weight norms and the heavy-tail exponent alpha of a saved state dict."""
from __future__ import annotations

import json

import typer

from goodfit import cli


def weights(
    file: str = typer.Argument(..., help="A saved state dict, e.g. runs/one/model.pt."),
    as_json: bool = typer.Option(False, "--json", help="Print only the statistics as JSON."),
):
    """Per-layer weight norms and the heavy-tail exponent alpha (2-6 well trained, < 2 over-, > 6 under-trained).

    Examples:

        goodfit weights runs/one/model.pt

        goodfit weights checkpoint_state_dict.pt --json
    """
    from goodfit.report.terminal import weights_table
    from goodfit.weights import read_weights

    report = read_weights(file)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    cli.console.print(weights_table(report))
    alpha = report.median_alpha
    cli.console.print("median alpha: " + ("no layer has enough eigenvalues to fit" if alpha is None
                                          else f"{alpha:.2f} over {len(report.fitted)} layer(s), {report.verdict}"),
                      highlight=False)
