"""The words of a recipe's verdict: what the search chose, whether it beat the baseline and the best single
remedy on fresh seeds, how optimistic the search was, and what to train with.

Reads a `RecipeResult` (its confirmation, comparisons and optimism) and writes sentences; computes no
statistics. `goodfit.verdict_of` reads `verdict`.
"""
from __future__ import annotations

from goodfit.grammar import BASELINE
from goodfit.metrics import Metric
from goodfit.report.tables import borderline_text
from goodfit.report.verdict import reference_beats, small_test_set
from goodfit.stats import Comparison
from goodfit.words import counted, p_text


def _against(c: Comparison | None, what: str, m: Metric) -> str:
    """A recipe against `what` (the baseline, the best single remedy) in metric `m`: better, worse or no
    significant difference, with the Holm-adjusted difference and p, and what would settle a borderline call;
    or that it could not be compared."""
    if c is None:
        return f"it could not be compared with {what}"
    if c.difference.n < 2:
        return (f"it was not tested against {what}: {c.difference.n} fresh seed, and a paired test needs 2 or more "
                "(--seeds 5 or more)")
    ci = c.adjusted
    size = (f"{m.change(c.difference.mean)} on every seed" if c.difference.all_equal else
            f"{m.change(c.difference.mean)}, Holm-adjusted 95% CI {m.change(ci.low, False)} to "
            f"{m.change(ci.high, False)}")
    firm = {"seeds": c.difference.n, "firmness": c.firmness, "seeds_to_settle": c.seeds_to_settle}
    shaky = f"; borderline: {borderline_text(firm)}" if c.borderline else ""
    if c.significant:
        word = "beats" if m.gain(c.difference.mean) > 0 else "is worse than"
        return f"it {word} {what} ({size}, {p_text(c.p_holm)} after Holm{shaky})"
    return f"it does not differ significantly from {what} ({size}, {p_text(c.p_holm)} after Holm{shaky})"


def verdict(result) -> str:
    """The recipe's verdict (`choice`), opened by the classical reference where it beats the chosen arm on the
    confirmation's seeds (`reference_beats`), then a word on the test set's size where one row weighs a lot."""
    first = reference_beats(result.confirmation, 0, arm=result.chosen.name, what="the recipe's choice")
    return " ".join([*first, choice(result), *small_test_set(result.confirmation.dataset, result.metric)])


def choice(result) -> str:
    """What to train with, named once: the recipe, the single remedy or the baseline that `RecipeResult.chosen`
    names (the train command's and results.json's `choice`), how it did on the fresh seeds against the
    baseline and the best single remedy, and the search's own optimism about it; where the fresh seeds
    overturned the search's pick, one sentence says so."""
    table = result.confirmation.table().set_index("arm")
    n = int(table.loc[BASELINE, "seeds"])
    m, best, single = result.metric, result.best.name, result.single
    chosen = result.chosen.name
    pick = result.choice or best  # the search's pick on validation, before the fresh seeds
    vs_base = {c.arm: c for c in result.confirmation.comparisons()}
    vs_single = {c.arm: c for c in result.against_single()}
    where = f"On {result.confirmation.dataset['name']}"
    seeds = counted(n, "fresh seed")

    def reached(arm: str) -> str:
        return f"{m.value(table.loc[arm, 'score'])} test {m.label} on {seeds}"

    if chosen == BASELINE:
        worse = result.worse_than_baseline(pick)
        what = f"{pick} ({result.best.describe()})" if pick == best else pick
        return (f"{where}, train without these remedies: the search's pick, {what}, came out worse than the "
                f"baseline on fresh seeds ({m.change(worse.difference.mean)}, {p_text(worse.p_holm)} after Holm); "
                f"the baseline reached {reached(BASELINE)}.")
    opt = result.optimism().set_index("arm").loc[chosen]
    optimism = (f" The search's own optimism: {m.value(opt['selected_val'])} validation {m.label} when chosen, "
                f"{m.value(opt['confirmed_val'])} on the fresh seeds.")
    if chosen == single:
        return (f"{where}, train with {single} at its default strength: no combination the search tried ranked "
                f"above it on validation (the best, {best}, {result.best.describe()}). It reached {reached(single)}; "
                + _against(vs_base.get(single), "the baseline", m) + "." + optimism)
    return (f"{where}, train with {best} ({result.best.describe()}), the search's pick: it reached {reached(best)}; "
            + _against(vs_base.get(best), "the baseline", m) + "; "
            + _against(vs_single.get(best), f"the best single remedy, {single}", m) + "." + optimism)
