"""A study records only regimes the diagnosis made: a member whose history the diagnosis refuses is
`unknown`, with the refusal as its evidence, in the table, results.json, report.html and the store."""
import json

from rich.console import Console

import goodfit.study.units
from goodfit import Arm, Conditions, TrainConfig
from goodfit.diagnose import diagnose
from goodfit.errors import GoodfitError
from goodfit.history import History
from goodfit.report.tables import study_table
from goodfit.study import Study, StudyResult


def refuse(history, context=None):
    raise GoodfitError("this history is too short to judge")


def test_a_member_the_diagnosis_refuses_is_unknown_with_the_reason_everywhere(tmp_path, monkeypatch):
    monkeypatch.setattr(goodfit.study.units, "diagnose", refuse)
    result = Study("wine", "mlp", arms=["baseline", "dropout"], seeds=2, epochs=3,
                   conditions=[Conditions(train_size=40)], train=TrainConfig(batch_size=16)).run(tmp_path)
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


def test_a_study_records_the_regime_the_diagnosis_gives_each_members_history():
    """Remedies the diagnosis may not know yet (label smoothing, class weights) never get a regime of the
    study's own: each member's regime is what `diagnose` says of its history, or `unknown` exactly when
    `diagnose` refuses the member's remedies, with its message as the evidence."""
    result = Study("wine", "mlp", arms=["baseline", "label_smoothing", "class_weights"], seeds=2, epochs=30,
                   train=TrainConfig(batch_size=16)).run()
    remedies = {a["name"]: [type(x).key for x in Arm.from_dict(a).remedies] for a in result.plan["arms"]}
    classes = len(result.dataset["classes"])
    for _, member in result.members.iterrows():
        history = History(result.history[result.history["member"] == member["member"]].assign(member=0), classes)
        recorded = member["diagnosis"]
        try:
            expected = diagnose(history, context={"remedies": remedies[member["arm"]]})
        except GoodfitError as err:
            assert recorded["regime"] == "unknown" and recorded["evidence"][0] == str(err), member["member"]
            continue
        assert recorded["regime"] == expected.regime == diagnose(history).regime, member["member"]
    baseline = result.members[result.members["arm"] == "baseline"]
    assert len(baseline) == 2 and "unknown" not in {d["regime"] for d in baseline["diagnosis"]}
