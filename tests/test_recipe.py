"""`goodfit recipe`: the search space, successive halving, and a confirmation on seeds the search never saw."""
import json
import re

import pytest
from conftest import goodfit_here

from goodfit import Conditions, TrainConfig, verdict_of
from goodfit.errors import GoodfitError
from goodfit.recipe import SEARCH_SEEDS, Recipe, rung_plan
from goodfit.space import Space
from goodfit.remedies import Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

FAST = TrainConfig(batch_size=16)


@pytest.fixture(scope="module")
def noise_only(tmp_path_factory):
    """A search whose every candidate is the baseline in all but name: an L2 penalty of 1e-8 or none."""
    out = tmp_path_factory.mktemp("recipe")
    recipe = Recipe("wine", "mlp", space="l2=1e-9:1e-8", candidates=4, eta=2, top=2, search_seeds=1, seeds="5-9",
                    epochs=8, conditions=[Conditions(train_size=60)], train=FAST)
    return recipe, recipe.run(out), out


def test_the_confirmation_trains_on_seeds_the_search_never_used(noise_only):
    recipe, result, _ = noise_only
    searched = {s for rung in result.rungs for s in rung.members["seed"]}
    confirmed = set(result.confirmation.members["seed"])
    assert searched == {SEARCH_SEEDS} and confirmed == {5, 6, 7, 8, 9}
    assert [len(r.arm_names) - 1 for r in result.rungs] == [4, 2 + 6]  # the six single remedies join the last rung
    assert [r.plan["train"]["epochs"] for r in result.rungs] == [4, 8]
    assert [a.name for a in result.recipes] == ["recipe-1", "recipe-2"]
    assert result.confirmation.arm_names == ["baseline", result.single, "recipe-1", "recipe-2"]


def test_a_recipe_chosen_on_noise_alone_is_not_called_better(noise_only):
    _, result, _ = noise_only
    best = {c.arm: c for c in result.confirmation.comparisons()}["recipe-1"]
    assert not best.significant and abs(best.difference.mean) < 0.02
    assert "it does not differ significantly from the baseline" in verdict_of(result)
    assert "The search's own optimism" in verdict_of(result)
    assert set(result.optimism()["arm"]) == {"recipe-1", "recipe-2", result.single}


def test_outputs_and_resume(noise_only, tmp_path):
    from goodfit.report.recipe import write_recipe_outputs

    recipe, result, out = noise_only
    files = write_recipe_outputs(result, out, command="goodfit recipe ...")
    payload = json.loads(files["results"].read_text())
    assert payload["verdict"] == verdict_of(result)
    assert payload["confirmation"]["verdict"] == verdict_of(result.confirmation)
    assert payload["command"].startswith("goodfit train --data wine --model mlp --train-size 60 --epochs 8")
    assert payload["recipes"][0]["name"] == "recipe-1" and len(payload["selection"]) == 4 + 8
    html = files["report"].read_text()
    assert "The search, rung by rung" in html and "Confirmed on fresh seeds" in html and "goodfit train" in html
    again = Recipe("wine", "mlp", space="l2=1e-9:1e-8", candidates=4, eta=2, top=2, search_seeds=1, seeds="5-9",
                   epochs=8, conditions=[Conditions(train_size=60)], train=FAST).run(out)
    assert again.units_trained == 0 and verdict_of(again) == verdict_of(result)
    with pytest.raises(GoodfitError, match="another plan"):
        Recipe("wine", "mlp", space="dropout", candidates=4, eta=2, top=2, search_seeds=1, seeds=2, epochs=8).run(out)


def test_the_default_space_draws_every_remedy_and_halves_by_eta():
    space = Space.default("image")
    import numpy as np

    rng = np.random.default_rng(0)
    drawn = [space.sample(rng) for _ in range(200)]
    kinds = {type(r) for remedies in drawn for r in remedies}
    assert kinds == {Dropout, WeightDecay, Augment, BatchNorm, Shrink, EarlyStopping}
    assert all(r.width in (0.25, 0.5) for remedies in drawn for r in remedies if isinstance(r, Shrink))
    assert all(1e-5 <= r.strength <= 1e-2 for remedies in drawn for r in remedies if isinstance(r, WeightDecay))
    assert rung_plan(100, 27, 3, 3) == [(27, 11), (9, 33), (3, 100)]


@pytest.mark.parametrize("make, says", [
    (lambda: Space.parse("", "table"), "the search space is empty"),
    (lambda: Space.parse("dropout=0:1.5", "table"), "the range must rise and stay within [0, 0.95]"),
    (lambda: Space.parse("dropout=0.5:0.1", "table"), "the range must rise"),
    (lambda: Space.parse("l2=abc:1", "table"), "'abc' is not a number"),
    (lambda: Space.parse("augment=rotate", "table"), "'rotate' does not apply to table data"),
    (lambda: Space.parse("wings", "table"), "'wings' is not a remedy"),
    (lambda: rung_plan(100, 5, 3, 8), "--top 8 keeps more recipes than the 5 candidates"),
    (lambda: rung_plan(100, 5, 1, 2), "--eta must be at least 2"),
])
def test_bad_spaces_and_sizes_are_one_line(make, says):
    with pytest.raises(GoodfitError) as err:
        make()
    assert says in str(err.value) and "\n" not in str(err.value)


def test_cli_more_survivors_than_candidates_is_exit_code_2(tmp_path, monkeypatch):
    code, _, stderr = goodfit_here(["recipe", "--data", "wine", "--candidates", "5", "--top", "8",
                                    "--out", tmp_path / "r"], monkeypatch)
    assert code == 2 and "--top 8 keeps more recipes than the 5 candidates" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_a_regression_recipe_selects_and_judges_by_rmse_and_says_so(tmp_path):
    """On diabetes the search ranks by validation RMSE (lower is better) and the verdict speaks in the target's units."""
    from goodfit.report.recipe import write_recipe_outputs

    recipe = Recipe("diabetes", "mlp", space="dropout=0.1:0.5,l2", candidates=4, eta=2, top=2, seeds=2, epochs=8,
                    train=FAST)
    assert recipe.plan.get("metric") is None and recipe.plan.get("task") is None  # fingerprints as before
    result = recipe.run()
    assert result.metric.name == "rmse" and set(result.selection["metric"]) == {"rmse"}
    first = result.selection[result.selection["rung"] == 0].sort_values("val_score")
    assert first["continued"].tolist() == [True, True, False, False]  # the two lowest RMSEs went on
    assert "test RMSE" in verdict_of(result) and not re.search(r"\d\.\d%|points", verdict_of(result))
    opt = result.optimism()
    assert (opt["confirmed_test"] > 10).all()  # RMSE in the target's units (disease progression, about 50-70)
    html = write_recipe_outputs(result, tmp_path)["report"].read_text()
    assert "validation RMSE when chosen" in html and "lower is better" in html


def test_a_recipe_judged_by_balanced_accuracy_ranks_by_it(tmp_path):
    recipe = Recipe("wine", "mlp", space="dropout=0.1:0.5", candidates=4, eta=2, top=2, seeds=2, epochs=8,
                    conditions=[Conditions(train_size=60)], train=FAST, metric="balanced_accuracy")
    assert recipe.plan["metric"] == "balanced_accuracy"
    result = recipe.run()
    first = result.selection[result.selection["rung"] == 0]  # ties by validation score go to the lower loss
    ranked = first.sort_values(["val_score", "val_loss"], ascending=[False, True], kind="stable")
    assert ranked["continued"].tolist() == [True, True, False, False] and "balanced accuracy" in verdict_of(result)
    with pytest.raises(GoodfitError, match="metric 'rmse' does not apply to classification"):
        Recipe("wine", "mlp", metric="rmse")


def test_cli_recipe_on_a_regression_prints_the_task_and_the_train_command(tmp_path, monkeypatch):
    code, stdout, stderr = goodfit_here(["recipe", "--data", "diabetes", "--model", "mlp", "--space", "dropout",
                                         "--candidates", "2", "--eta", "2", "--top", "1", "--seeds", "2",
                                         "--epochs", "2", "--loss", "huber", "--out", tmp_path / "r", "--json"],
                                        monkeypatch)
    assert code == 0, stderr
    payload = json.loads(stdout)
    assert payload["command"].startswith("goodfit train --data diabetes --model mlp --epochs 2 --loss huber")


def test_rungs_write_their_results_json_and_a_report_only_when_asked(noise_only, tmp_path):
    from goodfit.report.recipe import write_recipe_outputs

    _, result, _ = noise_only
    write_recipe_outputs(result, tmp_path)
    studies = [tmp_path / "search" / f"rung-{i}" for i in range(len(result.rungs))] + [tmp_path / "confirm"]
    written = [json.loads((s / "results.json").read_text()) for s in studies]
    assert [w["verdict"] for w in written] == [verdict_of(r) for r in result.rungs + [result.confirmation]]
    assert not list(tmp_path.glob("*/**/report.html"))  # the recipe's own report.html sits at the top
    write_recipe_outputs(result, tmp_path, reports=True)
    assert all((s / "report.html").is_file() for s in studies)


def test_the_recipe_command_spells_its_choice_as_one_arm_that_reads_back(noise_only):
    from goodfit.grammar import parse_arm, spell

    _, result, _ = noise_only
    command = result.command()
    assert f"--arm {spell(result.chosen)}" in command and command.count("--arm") == 1
    assert parse_arm(command.split("--arm ")[1], "table").remedies == result.chosen.remedies


def test_a_choice_the_fresh_seeds_find_worse_than_the_baseline_is_not_what_to_train_with(noise_only):
    """When the confirmation calls the search's choice significantly worse, the advice is the baseline."""
    import dataclasses

    _, result, _ = noise_only
    pick = result.choice or result.best.name
    real = result.confirmation.comparisons

    def worse(*args, **kwargs):
        return [dataclasses.replace(c, significant=True, p_holm=0.01,
                                    difference=dataclasses.replace(c.difference, mean=-0.05))
                if c.arm == pick else c for c in real(*args, **kwargs)]

    result.confirmation.comparisons = worse
    try:
        assert result.chosen.name == "baseline" and "--arm" not in result.command()
        said = verdict_of(result)
        assert said.startswith("On wine, train without these remedies: the search's pick, ") and \
               "came out worse than the baseline on fresh seeds (-5.0 points, p=0.010 after Holm)" in said
        assert said.count("train with ") == 0
    finally:
        del result.confirmation.comparisons
    assert result.chosen.name == pick


def test_survivors_trained_on_choose_and_confirm_as_survivors_trained_again():
    """`continue_survivors` trains each rung's survivors on from the previous rung: the same members, so the
    same selection scores and the same confirmation, with fewer epochs trained."""
    kwargs = dict(space="dropout=0.1:0.5,l2,shrink=0.5", candidates=6, eta=2, top=2, seeds="0-2", epochs=12,
                  conditions=[Conditions(train_size=80)], train=FAST)
    again = Recipe("wine", "mlp", **kwargs).run()
    on = Recipe("wine", "mlp", continue_survivors=True, **kwargs).run()
    assert on.selection[["rung", "arm", "continued"]].equals(again.selection[["rung", "arm", "continued"]])
    assert on.selection["val_score"].to_numpy() == pytest.approx(again.selection["val_score"].to_numpy(), abs=1e-4)
    assert verdict_of(on) == verdict_of(again)
    trained = lambda r: sum(int(s.members["epochs_run"].sum()) for s in r.rungs)  # noqa: E731
    assert trained(on) == trained(again)  # each member's history runs from epoch 1 either way


def test_the_verdict_the_command_and_results_json_name_one_choice(noise_only, tmp_path):
    """The verdict names what to train with once, and it is what the command trains and results.json says."""
    import re

    from goodfit.grammar import spell
    from goodfit.report.recipe import recipe_payload

    _, result, _ = noise_only
    said, chosen = verdict_of(result), result.chosen.name
    named = re.match(r"On wine, train (with ([\w=.:+-]+)|without these remedies)", said)
    assert named, said
    assert (named.group(2) or "baseline") == chosen
    assert recipe_payload(result)["choice"] == chosen and "the search chose" not in said
    if chosen != "baseline":
        assert f"--arm {spell(result.chosen)}" in result.command()


def test_one_seed_is_not_tested_rather_than_no_difference(tmp_path):
    """With one seed nothing is tested: the study's table marks n/t (not ·), the recipe's verdict says so."""
    from goodfit.recipe import Recipe
    from goodfit.report.tables import arm_cells
    from goodfit.study import Study

    study = Study("wine", arms=["dropout=0.3"], seeds=1, epochs=2, train=FAST).run()
    row = study.table().set_index("arm").loc["dropout=0.3"].to_dict() | {"arm": "dropout=0.3"}
    cells = arm_cells(row)
    assert (cells["marker"], cells["significance"]) == ("n/t", "untested") and "not tested" in cells["meaning"]
    recipe = Recipe("wine", "mlp", space="dropout=0.1:0.5", candidates=2, top=1, seeds=1, epochs=2, train=FAST).run()
    said = verdict_of(recipe)
    assert "not tested against the baseline: 1 fresh seed, and a paired test needs 2 or more" in said
    assert "n/a" not in said and "p=—" not in said and "1 fresh seeds" not in said
