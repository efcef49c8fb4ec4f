"""The recipe search's outputs: `results.json` and `report.html` (the search's rungs, each remedy's
strength against the judged metric on validation, the confirmed table, and the `goodfit train` command),
and each of its studies' own `results.json` beside its `study.db`."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from goodfit import __version__
from goodfit.atomic import write_atomic
from goodfit.metrics import METRICS
from goodfit.remedies import WORDS, Arm
from goodfit.report.figures import BASELINE_COLOR, MUTED, PALETTE, STYLE, WIDTH, study_figures
from goodfit.report.html import _environment, _png
from goodfit.report.outputs import json_ready, study_payload, write_outputs
from goodfit.report.recipe_verdict import verdict
from goodfit.report.tables import table_groups

PER_ROW = 4  # remedy axes side by side; more go on further rows


def _arm_of(member_key: str) -> str:
    return member_key.split("/")[1]


def _per_epoch(result):
    """The judged metric's validation curve if the history has it per epoch (accuracy, RMSE, MAE, R²), else the
    task's nearest one (balanced accuracy and macro F1 are measured once, with the kept weights)."""
    m = result.metric
    column = f"val_{m.name}"
    if column not in result.rungs[0].history:
        m = METRICS["accuracy" if m.percent else "loss"]
        column = f"val_{m.name}"
    return column, m, (100.0 if m.percent else 1.0), f"validation {m.label}" + (" (%)" if m.percent else "")


def rungs_figure(result) -> Figure:
    """The judged metric on validation over epochs of every candidate in every rung (mean over search seeds);
    the candidates that became recipes in colour, the rest grey, the baseline black."""
    names = {r.name for r in result.recipes}
    column, _, unit, label = _per_epoch(result)
    fig = Figure(figsize=(WIDTH, 3.4), layout="constrained")
    axes = fig.subplots(1, len(result.rungs), sharey=True, squeeze=False).ravel()
    recipe_of = dict(zip(result.selection["arm"], result.selection.get("recipe", [None] * len(result.selection))))
    for i, (ax, rung) in enumerate(zip(axes, result.rungs)):
        frame = rung.history.assign(arm=rung.history["member"].map(_arm_of))
        mean = frame.groupby(["arm", "epoch"])[column].mean().reset_index()
        for arm, g in mean.groupby("arm"):
            label = recipe_of.get(arm) if isinstance(recipe_of.get(arm), str) else arm if arm in names else None
            if arm == "baseline":
                style = {"color": BASELINE_COLOR, "linewidth": 1.6, "zorder": 3}
            elif label in names:
                k = sorted(names).index(label)
                style = {"color": PALETTE[k % len(PALETTE)], "linewidth": 2.0, "zorder": 4}
            else:
                style = {"color": "#BBBBBB", "linewidth": 0.8, "zorder": 1}
            ax.plot(g["epoch"], g[column] * unit, **style,
                    label=(label if label in names and i == len(result.rungs) - 1 else
                           "baseline" if arm == "baseline" and i == 0 else None))
        size = len(rung.arm_names) - 1
        ax.set_title(f"rung {i + 1}: {size} arms, {int(rung.plan['train']['epochs'])} epochs", loc="left")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel(label)
    fig.legend(loc="outside right upper")
    return fig


def _axes(result, names) -> tuple[list[tuple[str, str, bool, bool]], list[dict[str, float | None]]]:
    """The first rung's candidates `names` as each remedy's axis value by its word (`{'dropout': 0.2, 'l2':
    0.0003, 'batchnorm': None}`, None for a toggle), and the axes they need in registry order: (word, label,
    log scale, toggle)."""
    arms = {a["name"]: Arm.from_dict(a) for a in result.rungs[0].plan["arms"]}
    used = [{r.word: r.axis_value() for r in arms[name].remedies} for name in names]
    axes = {}
    for name in names:
        for r in arms[name].remedies:
            axes.setdefault(r.word, (r.word, r.axis_label, type(r).log_strength, r.axis_value() is None))
    return sorted(axes.values(), key=lambda a: list(WORDS).index(a[0])), used


def strength_figure(result) -> Figure:
    """Each remedy's strength across the first rung's candidates against their validation score (the judged
    metric); candidates without the remedy sit at the left edge, marked "off"."""
    m = result.metric
    first = result.selection[(result.selection["rung"] == 0) & ~result.selection["single"]]
    axes_of, used = _axes(result, list(first["arm"]))
    columns = min(PER_ROW, len(axes_of)) or 1
    rows = -(-len(axes_of) // columns)
    fig = Figure(figsize=(WIDTH, 2.8 * max(rows, 1)), layout="constrained")
    if not axes_of:
        return fig
    grid = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    for spare in grid[len(axes_of):]:
        spare.set_visible(False)
    axes = grid[:len(axes_of)]
    acc = first["val_score"].to_numpy() * (100 if m.percent else 1)
    for ax, (name, label, log, toggle) in zip(axes, axes_of):
        on = np.array([name in u for u in used])
        x = np.array([np.nan if u.get(name) is None else u[name] for u in used])
        if toggle:
            ax.scatter(on.astype(float), acc, color=PALETTE[0], alpha=0.7, s=18)
            ax.set_xticks([0, 1], ["off", "on"])
            ax.set_xlim(-0.5, 1.5)
        else:
            ax.scatter(x[on], acc[on], color=PALETTE[0], alpha=0.75, s=18)
            if log and on.any():
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # no TeX: parse_math is off
                ax.xaxis.set_major_locator(LogLocator(numticks=4))  # a few decades, not one per tick
                ax.xaxis.set_minor_locator(NullLocator())
            if name == "augment":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if (~on).any():
                ax.scatter(np.full((~on).sum(), np.nanmin(x) if on.any() else 0.0), acc[~on], marker="|",
                           color=MUTED, s=40, label="off")
        ax.set_title(label, loc="left")
    for ax in grid[::columns]:
        ax.set_ylabel(f"validation {m.label}" + (" (%)" if m.percent else "") + "\nfirst rung")
    return fig


def render_recipe_html(result, command: str | None = None) -> str:
    """The recipe's report as one self-contained HTML page, the verdict and the command to train with first."""
    m = result.metric
    per_epoch = _per_epoch(result)[1].label
    with matplotlib.rc_context(STYLE):
        confirmed = study_figures(result.confirmation)
        confirmed = confirmed.get("test_accuracy", confirmed.get("comparison"))  # the judged metric per arm
        figures = [("rungs", "The search, rung by rung",
                    f"Validation {per_epoch} over epochs, mean over the search seeds, of every candidate in each rung; "
                    "each rung trains its candidates again for longer (or on from the previous rung, with continue_survivors). In colour: the candidates "
                    "confirmed as recipes; black: the baseline.", rungs_figure(result)),
                   ("strengths", "Each remedy's strength across the candidates",
                    f"First rung: each dot a candidate, its validation {m.label} against the strength of one remedy "
                    "it used (grey ticks: candidates without it). A trend here is a remedy that matters on this data.",
                    strength_figure(result))]
        if confirmed is not None:
            figures.append(("confirmed", "Confirmed on fresh seeds",
                            f"Test {m.label} of the baseline, the best single remedy and the recipes on seeds the "
                            "search never used; mean and 95% CI, filled dots significantly different from the "
                            "baseline.", confirmed))
        pictures = [{"key": k, "title": t, "caption": c, "png": _png(f), "width": round(f.get_figwidth() * 100),
                     "height": round(f.get_figheight() * 100)} for k, t, c, f in figures]
    return _environment().get_template("recipe.html").render(
        title=f"goodfit recipe: {result.confirmation.dataset['name']}", verdict=verdict(result),
        train_command=result.command(), groups=table_groups(result.confirmation), figures=pictures,
        recipes=[{"name": a.name, "description": d} for a, d in zip(result.recipes, result.descriptions())],
        optimism=[o | {"shown": [m.value(o[k]) for k in ("selected_val", "confirmed_val", "confirmed_test")]}
                  for o in result.optimism().to_dict("records")], metric=m, plan=result.plan, command=command, version=__version__,
        single=result.single, choice=result.chosen.name, width=round(WIDTH * 100))


def recipe_payload(result) -> dict:
    """A `RecipeResult`'s numbers (`to_dict`) with the verdict's words: its own `verdict`, and the
    confirmation's as `study_payload` gives them."""
    return {**result.to_dict(), "verdict": verdict(result), "confirmation": study_payload(result.confirmation)}


def write_recipe_outputs(result, out: str | Path, command: str | None = None,
                         reports: bool = False) -> dict[str, Path]:
    """Write `results.json` and `report.html` of a recipe search into its folder (each in one rename), and
    each rung's and the confirmation's `results.json` beside its `study.db` (`out/search/rung-N/`,
    `out/confirm/`).

    Args:
        result: the `RecipeResult` of `Recipe.run(out)`.
        out: the folder `Recipe.run` kept its studies' stores in.
        command: the command line that ran the search, shown for reproduction. Default None.
        reports: each rung and the confirmation also get their own `report.html` (seconds each; the recipe's
            report shows the search and the confirmation either way). Default False.

    Returns:
        The recipe's own files by name: `results`, `report`.
    """
    import json

    out = Path(out)
    for i, rung in enumerate(result.rungs):
        write_outputs(rung, out / "search" / f"rung-{i}", report=reports)
    write_outputs(result.confirmation, out / "confirm", report=reports)
    files = {"results": out / "results.json", "report": out / "report.html"}
    payload = {**recipe_payload(result), "command_line": command, "seconds": round(float(result.seconds), 3)}
    texts = {"results": json.dumps(json_ready(payload), sort_keys=True, indent=2, allow_nan=False) + "\n",
             "report": render_recipe_html(result, command)}
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_atomic(files[name], text, hint=f"run the same `goodfit recipe` command to write {out} again")
    return files
