"""The words of a recipe's verdict: what the search chose, whether it beat the baseline and the best single
remedy on fresh seeds, how optimistic the search was, and what to train with.

Reads a `RecipeResult` (its confirmation, comparisons and optimism) and writes sentences; computes no
statistics. `goodfit.verdict_of` reads `verdict`.
"""
from __future__ import annotations

from goodfit.grammar import BASELINE
from goodfit.metrics import Metric
from goodfit.stats import Comparison
from goodfit.words import p_text


def _against(c: Comparison | None, what: str, m: Metric) -> str:
    """A recipe against `what` (the baseline, the best single remedy) in metric `m`: better, worse or no
    significant difference, with the Holm-adjusted difference and p; or that it could not be compared."""
    if c is None:
        return f"it could not be compared with {what}"
    ci = c.adjusted
    size = (f"{m.change(c.difference.mean)} on every seed" if c.difference.all_equal else
            f"{m.change(c.difference.mean)}, Holm-adjusted 95% CI {m.change(ci.low, False)} to "
            f"{m.change(ci.high, False)}")
    if c.significant:
        word = "beats" if m.gain(c.difference.mean) > 0 else "is worse than"
        return f"it {word} {what} ({size}, {p_text(c.p_holm)} after Holm)"
    return f"it does not differ significantly from {what} ({size}, {p_text(c.p_holm)} after Holm)"


def verdict(result) -> str:
    """What to train with, and whether the search's choice beat the baseline and the best single remedy on
    the fresh seeds of a `RecipeResult`; then the search's own optimism."""
    table = result.confirmation.table().set_index("arm")
    n = int(table.loc[BASELINE, "seeds"])
    best, m = result.best.name, result.metric
    vs_base = {c.arm: c for c in result.confirmation.comparisons()}
    vs_single = {c.arm: c for c in result.against_single()}
    head = (f"On {result.confirmation.dataset['name']}, the search chose {best} ({result.best.describe()}); "
            f"on {n} fresh seeds it reached {m.value(table.loc[best, 'score'])} test {m.label}")
    opt = result.optimism().set_index("arm").loc[best]
    said = (head + "; " + _against(vs_base.get(best), "the baseline", m) + "; " +
            _against(vs_single.get(best), f"the best single remedy, {result.single}", m) +
            f". The search's own optimism: {m.value(opt['selected_val'])} validation {m.label} when chosen, "
            f"{m.value(opt['confirmed_val'])} on the fresh seeds.")
    pick = result.choice or best
    if (worse := result.worse_than_baseline(pick)) is not None:
        said += (f" On the fresh seeds {pick}, the search's choice, came out worse than the baseline "
                 f"({m.change(worse.difference.mean)}, {p_text(worse.p_holm)} after Holm), so train without "
                 "these remedies: the baseline.")
    elif result.chosen.name == result.single:
        single = vs_base.get(result.single)
        said += (f" No combination ranked above {result.single} at its default strength on validation, so train "
                 f"with {result.single}" + (f"; {_against(single, 'the baseline', m)}." if single else "."))
    return said
