"""The recipe: which combination and strength of remedies is best on this data, confirmed on fresh seeds.

Along the flow: `search` (the `Recipe`: candidates, successive halving over studies, the confirmation) and
`result` (`RecipeResult`: the recipes, each against the best single remedy, the search's optimism, what to
train with and its `goodfit train` command). `Recipe(...).run(out)` returns the `RecipeResult`, its studies'
stores under `out`. The numbers only: the verdict's words, results.json and report.html are `goodfit.report`'s
(`recipe_verdict`, `recipe`).
"""
from goodfit.recipe.result import RecipeResult, describe, train_options
from goodfit.recipe.search import MIN_EPOCHS, SEARCH_SEEDS, Recipe, rung_plan

__all__ = ["MIN_EPOCHS", "SEARCH_SEEDS", "Recipe", "RecipeResult", "describe", "rung_plan", "train_options"]
