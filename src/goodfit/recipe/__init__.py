"""The recipe: which combination and strength of remedies is best on this data, confirmed on fresh seeds.

Along the flow: `search` (the `Recipe`: candidates, successive halving over studies, the confirmation) and
`result` (`RecipeResult`: the recipes, each against the best single remedy, the search's optimism, what to
train with and its `goodfit train` command). `Recipe(...).run(out)` returns the `RecipeResult`; with `out`,
`goodfit.report.recipe` writes results.json and report.html. The verdict's words are
`goodfit.report.recipe_verdict`'s.
"""
from goodfit.recipe.result import RecipeResult, describe, train_options
from goodfit.recipe.search import MIN_EPOCHS, SEARCH_SEEDS, Recipe, rung_plan

__all__ = ["MIN_EPOCHS", "SEARCH_SEEDS", "Recipe", "RecipeResult", "describe", "rung_plan", "train_options"]
