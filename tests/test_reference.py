"""The classical reference beside every study and recipe (issue 35, item 2): a scikit-learn model on the same
splits and seeds as the members, scored on the same test rows, shown as a row that is not tested, and the verdict
that says first when it beats the network (or when the training itself dominates the remedies)."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from goodfit.engine import TrainConfig
from goodfit.metrics import METRICS
from goodfit.recipe import Recipe
from goodfit.report.outputs import write_outputs
from goodfit.report.recipe_verdict import verdict as recipe_verdict
from goodfit.report.tables import study_table, table_groups
from goodfit.report.verdict import verdict, verdicts
from goodfit.study import Study, StudyResult, splits_for
from goodfit.study.reference import Candidate, reference_of


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """A short diabetes study kept in a store: 3 epochs at a tiny learning rate leave the network far behind a
    ridge regression."""
    out = tmp_path_factory.mktemp("diabetes")
    result = Study("diabetes", model="mlp", arms=["dropout=0.3"], seeds=2, epochs=3, resample_splits=True,
                   train=TrainConfig(lr=1e-5)).run(out)
    write_outputs(result, out, command="goodfit study --data diabetes")
    return out, result


def test_diabetes_reference_is_a_named_classical_model_with_a_score_per_seed(diabetes):
    _, result = diabetes
    row = result.reference_row(0)
    assert row["arm"].startswith("reference (ridge, alpha=") or row["arm"] == "reference (gradient boosting)"
    assert row["seeds"] == 2 and row["metric"] == "rmse"
    assert 40 < row["score"] < 70  # RidgeCV reaches about 53 on diabetes; a network of 3 epochs is far above
    kept = result.reference["conditions"][0]
    assert len(kept["test"]["rmse"]) == 2 and kept["test"]["rmse"][0] != kept["test"]["rmse"][1]  # own splits


def test_reference_is_scored_on_the_test_rows_a_member_is_scored_on(diabetes):
    _, result = diabetes
    kept, plan = result.reference["conditions"][0], result.plan
    candidate = Candidate(kept["family"], kept["strength"])
    for k, seed in enumerate(plan["seeds"]):
        s = splits_for(plan, 0, seed)  # the member of this seed trained and was tested here
        with torch.no_grad():
            member = result.module("baseline", seed)(torch.as_tensor(s.X_test))[:, 0].numpy()
        rmse = lambda pred: float(np.sqrt(np.mean((pred - s.y_test) ** 2)) * s.target_std)  # noqa: E731
        record = result.members.query("arm == 'baseline' and seed == @seed")["test_rmse"].iloc[0]
        assert rmse(member) == pytest.approx(record, rel=1e-4)
        model = candidate.build(True, seed).fit(s.X_train, s.y_train)
        assert rmse(model.predict(s.X_test)) == pytest.approx(kept["test"]["rmse"][k], rel=1e-4)


def test_verdict_says_first_that_the_reference_beats_the_network(diabetes):
    _, result = diabetes
    said = verdicts(result)[0]
    assert said.startswith("A ridge regression (alpha=") or said.startswith("Gradient boosting on the same splits")
    assert "the network is not yet the model to use" in said.split(". ")[0]
    assert verdict(result).startswith(said[:40])


def test_reference_row_in_terminal_html_and_results_json_not_tested(diabetes):
    out, result = diabetes
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(study_table(result, width=120))
    raw = console.export_text()
    row = next(line for line in raw.splitlines() if line.strip().startswith("reference"))
    assert "(ridge," in row or "(gradient" in row  # its model where an arm's regime goes
    text = " ".join(raw.split())  # the legend wraps at the table's width
    assert "not tested: a reference" in text
    group = table_groups(result)[0]
    assert group["reference"]["marker"] == "" and group["reference"]["p"] == ""
    assert all(r["arm"] != group["reference"]["arm"] for r in group["rows"])  # not among the compared arms
    html = (out / "report.html").read_text()
    assert group["reference"]["arm"] in html and "not tested: a reference" in html
    saved = json.loads((out / "results.json").read_text())["reference"]
    assert saved["rows"][0]["arm"] == group["reference"]["arm"]
    assert len(saved["conditions"][0]["test"]["rmse"]) == 2 and saved["rows"][0]["score_low"] is not None


def test_reference_comes_back_from_the_store(diabetes):
    out, result = diabetes
    back = StudyResult.from_store(out)
    assert back.reference == json.loads(json.dumps(result.reference))
    assert back.reference_row(0) == result.reference_row(0)
    assert verdicts(back) == verdicts(result)


def test_classification_table_picks_on_validation_and_scores_accuracy():
    s = Study("breast_cancer", seeds=1, epochs=1)
    ref = reference_of(s.plan, s.dataset_info, METRICS["accuracy"])
    kept = ref["conditions"][0]
    names = set(kept["validation"])
    assert {"logistic regression, C=0.1", "gradient boosting"} <= names
    best = max(kept["validation"].values())
    assert kept["validation"][kept["name"]] == best  # the best on validation, never on test
    assert all(0.9 < a <= 1.0 for a in kept["test"]["accuracy"])
    assert set(kept["test"]) == {"accuracy", "balanced_accuracy", "macro_f1", "loss"}


def test_images_have_no_reference_and_say_so_unless_the_network_is_the_mlp():
    s = Study("digits", seeds=1, epochs=1)  # auto: a CNN reads the images
    ref = reference_of(s.plan, s.dataset_info, METRICS["accuracy"])
    assert ref == {"note": "no reference: images, which the cnn2d network reads as images; a classical model on "
                           "flattened values is no yardstick for it"}
    flat = Study("digits", model="mlp", seeds=1, epochs=1)
    kept = reference_of(flat.plan, flat.dataset_info, METRICS["accuracy"])["conditions"][0]
    assert kept["family"] == "logistic regression"  # pixels: the linear model only


def test_a_study_without_a_reference_says_why_in_the_legend_and_shows_no_row(diabetes):
    _, result = diabetes
    note = {"note": "no reference: images, which the cnn2d network reads as images; a classical model on "
                    "flattened values is no yardstick for it"}
    r = dataclasses.replace(result, reference=note)
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(study_table(r, width=200))
    assert note["note"] in " ".join(console.export_text().split())
    assert r.reference_row(0) is None and table_groups(r)[0]["reference"] is None
    assert r.to_dict()["reference"] == {**note, "rows": []} and verdicts(r) != verdicts(result)


def _with_best_epoch(result: StudyResult, best: int, epochs: int) -> StudyResult:
    """The study's members as if every one had its best epoch at `best` of `epochs`."""
    plan = {**result.plan, "train": {**result.plan["train"], "epochs": epochs}}
    return StudyResult(plan, result.dataset, [{**r, "best_epoch": best} for r in result.records], result.history,
                       reference=result.reference)


def test_training_dominates_when_every_best_epoch_is_in_the_first_5_percent(diabetes):
    _, result = diabetes
    said = verdicts(_with_best_epoch(result, 2, 100))[0]
    assert said.split(". ")[1].startswith("Every arm's best epoch came within the first 5% of training (epoch 2 of 100): "
                                          "the training itself (its learning rate, its epochs) dominates")
    assert "dominates the remedies" not in verdicts(_with_best_epoch(result, 6, 100))[0]  # 6%: not within 5%


def test_recipe_confirmation_has_the_reference_and_its_verdict_says_it_first():
    r = Recipe("diabetes", "mlp", space="dropout=0.1:0.5", candidates=2, top=1, seeds=2, epochs=3).run()
    assert all(rung.reference is None for rung in r.rungs)  # the search fits none
    assert r.confirmation.reference_row(0)["arm"].startswith("reference (")
    said = recipe_verdict(r)
    assert "for the recipe's choice" in said.split(". ")[0]
    assert said.index("a classical model") < said.index("train with")  # beats it, or does as well: said first


def test_a_reference_ahead_by_chance_alone_is_said_to_do_as_well():
    """The reference and the best arm are paired by seed (each seed's split is theirs alike): a lead within the
    seeds' noise reads 'does as well', a lead beyond it 'not yet the model to use', with its p."""
    import pandas as pd

    from goodfit.metrics import METRICS
    from goodfit.report.verdict import reference_beats

    class Result:
        metric = METRICS["accuracy"]

        def __init__(self, net, ref):
            self.members = pd.DataFrame({"condition": 0, "arm": "baseline", "seed": range(len(net)),
                                         "test_accuracy": net})
            self.reference = {"conditions": [{"condition": 0, "seeds": list(range(len(ref))),
                                              "test": {"accuracy": ref}}]}
            self.ref = ref

        def reference_row(self, c):
            return {"name": "logistic regression, C=1", "score": sum(self.ref) / len(self.ref)}

        def table(self):
            return pd.DataFrame({"condition": [0], "arm": ["baseline"], "score": [self.members["test_accuracy"].mean()]})

    close = reference_beats(Result([0.97, 0.99, 0.96, 0.98], [0.99, 0.97, 0.98, 0.975]))[0]
    assert "no significant difference over 4 seeds paired by split (p=" in close
    assert "a classical model does as well as the network here" in close
    ahead = reference_beats(Result([0.90, 0.91, 0.89, 0.90], [0.95, 0.955, 0.945, 0.951]))[0]
    assert "(p<0.001 over 4 seeds paired by split): the network is not yet the model to use" in ahead
