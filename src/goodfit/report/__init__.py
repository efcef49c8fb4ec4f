"""Reports: what the diagnosis, comparison and weights found, as terminal text, HTML and JSON.

Every word of a verdict is written here, from the numbers the rooms before it hand on; `verdict_of` is the
one entry for a study's or a recipe's. Its modules are imported on first use, so reading a log's report
(`goodfit diagnose`) does not pay for the study's.
"""


def verdict_of(result) -> str:
    """The verdict in words of a study or a recipe search: what helped, by how much, how sure, what to train with.

    Args:
        result: a `StudyResult` (`goodfit.report.verdict.verdict`: the summary across conditions, if any, then
            each condition's) or a `RecipeResult` (`goodfit.report.recipe_verdict.verdict`).

    Returns:
        The verdict, as `goodfit study`, `goodfit recipe` and `results.json` give it.

    Raises:
        TypeError: `result` is neither.

    Example:
        >>> from goodfit import Study
        >>> r = Study("wine", arms=["dropout=0.5"], seeds=2, epochs=2).run()
        >>> "On wine with all training data, over 2 seeds" in verdict_of(r)
        True
    """
    from goodfit.recipe import RecipeResult
    from goodfit.study import StudyResult

    if isinstance(result, StudyResult):
        from goodfit.report.verdict import verdict

        return verdict(result)
    if isinstance(result, RecipeResult):
        from goodfit.report.recipe_verdict import verdict

        return verdict(result)
    raise TypeError(f"verdict_of takes a StudyResult or a RecipeResult, not {type(result).__name__}")
