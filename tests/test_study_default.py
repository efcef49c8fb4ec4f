"""`goodfit study` with no options runs `Study.default()`: the same plan, so the same fingerprint and store."""
import sys

import pytest

from goodfit.cli import main
from goodfit.data import Conditions
from goodfit.errors import GoodfitError
from goodfit.study import DEFAULT_STUDY, Study


class Planned(Exception):
    """Raised instead of training: the command got as far as running its study."""


def planned_by_the_command(args: list[str], tmp_path, monkeypatch) -> Study:
    ran = []

    def stop(self, *_, **__):
        ran.append(self)
        raise Planned

    monkeypatch.setattr(Study, "run", stop)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["goodfit", "study", *args])
    with pytest.raises(Planned):
        main()
    return ran[0]


def test_goodfit_study_with_no_options_plans_exactly_study_default(tmp_path, monkeypatch):
    command, default = planned_by_the_command([], tmp_path, monkeypatch), Study.default()
    assert command.plan == default.plan and command.fingerprint == default.fingerprint
    assert default.plan["data"] == DEFAULT_STUDY["data"] and default.plan["resample_splits"]
    assert [(c["train_size"], c["label_noise"]) for c in default.plan["conditions"]] == [(300, 0.0), (300, 0.2)]


def test_options_replace_their_part_of_the_default_and_named_data_leaves_the_digits_settings(tmp_path, monkeypatch):
    args = ["--data", "wine", "--seeds", "3", "--train-size", "40,80", "--dropout", "0.1", "--one-split"]
    command = planned_by_the_command(args, tmp_path, monkeypatch)
    default = Study.default(data="wine", seeds=3, train_size=[40, 80], arms=["baseline", "dropout=0.1"],
                            resample_splits=False)
    assert command.plan == default.plan
    assert default.plan["model"]["arch"] == "auto" and "resample_splits" not in default.plan
    assert [c["train_size"] for c in default.plan["conditions"]] == [40, 80]


def test_conditions_and_the_settings_that_build_them_are_not_given_together():
    with pytest.raises(GoodfitError, match="not both"):
        Study.default(conditions=[Conditions(train_size=40)], train_size=[80])
