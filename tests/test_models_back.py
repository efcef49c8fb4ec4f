"""A study's trained models back: `StudyResult.module` and `RecipeResult.module` give each member's module with
the weights it kept, from memory or from the files `--save-models` writes beside study.db."""
import json
import re

import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from goodfit.cli import app
from goodfit.data import Conditions
from goodfit.engine import TrainConfig
from goodfit.errors import GoodfitError
from goodfit.grammar import BASELINE
from goodfit.recipe import RecipeResult
from goodfit.remedies import Arm, Dropout
from goodfit.study import Study, StudyResult, splits_for

ARMS = ["dropout=0.3", "early_stopping=patience:2", "augment=noise:0.05+mixup:0.2"]
SMALL = dict(conditions=[Conditions(train_size=60)], train=TrainConfig(lr=0.05))  # wine overfits within a few epochs


def _study(**changes) -> Study:
    return Study(**{"data": "wine", "model": "mlp", "arms": ARMS, "seeds": 2, "epochs": 12, **SMALL, **changes})


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The small wine study run into a folder with save_models, and its result."""
    out = tmp_path_factory.mktemp("models") / "study"
    return out, _study().run(out, save_models=True)


def _outputs(module: nn.Module, X) -> torch.Tensor:
    with torch.no_grad():
        return module(torch.as_tensor(X, dtype=torch.float32))


def _accuracy(module: nn.Module, splits) -> float:
    """The module's test accuracy, within a hundredth of one sample of it (the engine's is a float32)."""
    return pytest.approx(float((_outputs(module, splits.X_test).argmax(1).numpy() == splits.y_test).mean()),
                         abs=0.01 / len(splits.y_test))


def test_each_members_module_scores_what_the_member_scored(saved):
    _, result = saved
    for r in result.records:
        module = result.module(r["arm"], r["seed"], r["condition"])
        assert not module.training
        assert _accuracy(module, splits_for(result.plan, r["condition"], r["seed"])) == r["test_accuracy"], r["member"]


def test_the_module_is_the_engines_member_as_trained_again_alone(saved):
    _, result = saved
    again = _study(arms=["dropout=0.3"], seeds=[1]).run()
    X = splits_for(result.plan, 0).X_test
    torch.testing.assert_close(_outputs(result.module("dropout=0.3", 1), X), _outputs(again.module("dropout=0.3", 1), X))


def test_an_early_stopping_members_module_holds_its_best_epochs_weights(saved):
    _, result = saved
    arm = "early_stopping=patience:2"
    record = next(r for r in result.records if r["arm"] == arm and r["stopped_epoch"])
    assert record["best_epoch"] < record["epochs_run"]  # it stopped after its best, so the last weights differ
    history = result.history[result.history["member"] == record["member"]].set_index("epoch")["val_loss"]
    splits = splits_for(result.plan, 0, record["seed"])
    logits = _outputs(result.module(arm, record["seed"]), splits.X_val)
    val_loss = nn.functional.cross_entropy(logits, torch.as_tensor(splits.y_val).long()).item()
    assert val_loss == pytest.approx(history[record["best_epoch"]], rel=1e-5)
    assert val_loss != pytest.approx(history[record["epochs_run"]], rel=1e-5)


def test_a_dropout_arms_module_has_the_arms_rate(saved):
    _, result = saved
    rates = lambda m: {layer.p for layer in m.modules() if isinstance(layer, nn.Dropout)}  # noqa: E731
    assert rates(result.module("dropout=0.3", 0)) == {0.3}
    assert rates(result.module("baseline", 0)) <= {0.0}


class Net(nn.Module):
    """A user's module taking the dropout rate the arm passes."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))

    def forward(self, x):
        return self.body(x)


def test_a_user_factorys_class_comes_back_and_from_store_asks_for_it(tmp_path):
    arm = "drop, a lot/ 40%"  # an arm named in Python: any characters
    result = Study("wine", model=Net, arms=[Arm(BASELINE), Arm(arm, (Dropout(0.4),))], seeds=1, epochs=3,
                   **SMALL).run(tmp_path, save_models=True)
    module = result.module(arm, 0)
    assert isinstance(module, Net) and module.body[2].p == 0.4
    assert _accuracy(module, splits_for(result.plan, 0)) == result.records[-1]["test_accuracy"]
    assert [p.name for p in (tmp_path / "models").iterdir() if "lot" in p.name] == ["c0-drop_a_lot_40-7092c534-s0.pt"]
    rebuilt = StudyResult.from_store(tmp_path)
    with pytest.raises(GoodfitError, match=re.escape(f"pass it: module({arm!r}, 0, factory=Net)")):
        rebuilt.module(arm, 0)
    torch.testing.assert_close(rebuilt.module(arm, 0, factory=Net).state_dict(), module.state_dict())


def test_save_models_on_the_command_line_writes_weights_that_load_into_the_module(tmp_path):
    out = tmp_path / "cli"
    got = CliRunner().invoke(app, ["study", "--data", "wine", "--model", "mlp", "--arms", "baseline,dropout=0.3,"
                                   "augment=noise:0.05+mixup:0.2", "--seeds", "1", "--epochs", "3", "--train-size",
                                   "60", "--save-models", "--out", str(out), "--json"])
    assert got.exit_code == 0, got.output
    index = json.loads((out / "models" / "index.json").read_text())
    files = {arm: seeds["0"] for arm, seeds in index["0"].items()}
    assert list(files) == ["baseline", "dropout=0.3", "augment=noise:0.05+mixup:0.2"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.pt", f) for f in files.values()) and len(set(files.values())) == 3
    result = StudyResult.from_store(out)
    for arm, name in files.items():
        module = result.module(arm, 0)
        module.load_state_dict(torch.load(out / "models" / name, weights_only=True))
        assert _accuracy(module, splits_for(result.plan, 0, 0)) == result.members.set_index("arm").loc[arm, "test_accuracy"]


def test_from_store_gives_the_saved_modules_and_a_resumed_run_keeps_the_files(saved):
    out, result = saved
    rebuilt = StudyResult.from_store(out)
    for r in result.records:
        torch.testing.assert_close(rebuilt.module(r["arm"], r["seed"]).state_dict(),
                                   result.module(r["arm"], r["seed"]).state_dict())
    files = sorted(p.name for p in (out / "models").iterdir())
    resumed = _study().run(out, save_models=True)
    assert resumed.units_trained == 0 and resumed.states == {}
    assert sorted(p.name for p in (out / "models").iterdir()) == files
    torch.testing.assert_close(resumed.module("dropout=0.3", 1).state_dict(), result.module("dropout=0.3", 1).state_dict())


def test_from_store_without_saved_models_says_to_save_them(tmp_path):
    _study(arms=["dropout=0.3"], seeds=1, epochs=2).run(tmp_path)
    with pytest.raises(GoodfitError, match=r"were not kept in .*models: .* --save-models \(save_models=True\)"):
        StudyResult.from_store(tmp_path).module("dropout=0.3", 0)


def test_asking_for_a_member_the_study_lacks_names_what_it_has(saved):
    _, result = saved
    for args, said in [(("dropout=0.5", 0), "no arm 'dropout=0.5'; this study has arms baseline, dropout=0.3, "),
                       (("dropout=0.3", 7), "arm 'dropout=0.3' has no seed 7; its seeds are 0, 1"),
                       (("baseline", 0, 2), "no condition 2; this study has conditions 0")]:
        with pytest.raises(GoodfitError, match=re.escape(said)):
            result.module(*args)
    with pytest.raises(GoodfitError, match="save_models writes the weights beside study.db; pass out"):
        _study().run(save_models=True)


def test_a_recipes_module_is_its_chosen_arm_from_the_confirmation():
    """A confirmation as `Recipe.run` makes one (the whole search runs in `RecipeResult.module`'s doctest)."""
    recipe, single = Arm("recipe-1", (Dropout(0.2),)), Arm("dropout", (Dropout(0.5),))
    confirmation = _study(arms=[Arm(BASELINE), single, recipe], seeds=[3, 4], epochs=3).run()
    result = RecipeResult({}, [], pd.DataFrame(), confirmation, [recipe], single.name, "recipe-1")
    assert result.chosen == recipe
    torch.testing.assert_close(result.module().state_dict(), confirmation.module("recipe-1", 3).state_dict())
    torch.testing.assert_close(result.module(4).state_dict(), confirmation.module("recipe-1", 4).state_dict())
    with pytest.raises(GoodfitError, match=re.escape("arm 'recipe-1' has no seed 0; its seeds are 3, 4")):
        result.module(0)
