"""A study records only regimes the diagnosis made: a member whose history the diagnosis refuses is
`unknown`, with the refusal as its evidence, in the table, results.json, report.html and the store."""
import json

from rich.console import Console

import goodfit.study.units
from goodfit import Arm, Conditions, TrainConfig
from goodfit.diagnose import diagnose
from goodfit.errors import GoodfitError
from goodfit.grammar import default_arms
from goodfit.history import History
from goodfit.remedies import WORDS
from goodfit.report.outputs import write_outputs
from goodfit.report.tables import study_table
from goodfit.study import Study, StudyResult


def refuse(history, context=None):
    raise GoodfitError("this history is too short to judge")


def test_a_member_the_diagnosis_refuses_is_unknown_with_the_reason_everywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(goodfit.study.units, "diagnose", refuse)
    result = Study("wine", "mlp", arms=["baseline", "dropout"], seeds=2, epochs=3,
                   conditions=[Conditions(train_size=40)], train=TrainConfig(batch_size=16)).run(tmp_path)
    write_outputs(result, tmp_path)
    for source in (result, StudyResult.from_store(tmp_path)):
        assert [d["regime"] for d in source.members["diagnosis"]] == ["unknown"] * 4
        assert all(d["evidence"][0] == "this history is too short to judge" and d["best_epoch"] is None
                   and not d["advice"] for d in source.members["diagnosis"])
        assert source.table()["regime"].tolist() == ["unknown"] * 2
        assert source.table()["regime_agreement"].tolist() == ["2/2"] * 2
    written = json.loads((tmp_path / "results.json").read_text())
    assert {m["diagnosis"]["regime"] for m in written["members"]} == {"unknown"}
    assert {a["regime"] for a in written["arms"]} == {"unknown"}
    html = (tmp_path / "report.html").read_text()
    assert "this history is too short to judge" in html and "regime-other" in html
    for width in (80, 160):  # the narrow table shortens regimes, the wide one spells them
        console = Console(width=width, record=True)
        console.print(study_table(result, width=width))
        assert "unknown 2/2" in console.export_text()


def test_every_registered_remedys_members_get_the_diagnosis_of_their_own_history():
    """A study over every word of every registered remedy: each member's recorded diagnosis is what
    `diagnose` says of its history with the member's remedies as context; none is refused or made up."""
    words = [w for w in default_arms("table") if w != "all"]
    assert set(words) >= set(WORDS)
    result = Study("wine", "mlp", arms=words, seeds=2, epochs=30, train=TrainConfig(batch_size=16)).run()
    arms = {a["name"]: Arm.from_dict(a) for a in result.plan["arms"]}
    assert set(arms) == set(words)
    classes = len(result.dataset["classes"])
    for _, member in result.members.iterrows():
        history = History(result.history[result.history["member"] == member["member"]].assign(member=0), classes)
        expected = diagnose(history, context={"remedies": arms[member["arm"]].words})  # the regime needs no more
        recorded = member["diagnosis"]
        assert recorded["regime"] == expected.regime != "unknown", member["member"]
        assert recorded["best_epoch"] == expected.best_epoch and recorded["onset_epoch"] == expected.onset_epoch
