"""A Python `Study` talks (issue 35, item 7): bars per arm in a terminal or notebook, the notes on how training ran,
and, before training, a keyword an arm passes that the user's factory ignores."""
import warnings

import pytest
from torch import nn

from goodfit import Study


def deaf(dropout=0.0, batchnorm=False, width=1.0):
    """Takes every keyword and uses none."""
    return nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))


def listening(dropout=0.0, batchnorm=False, width=1.0):
    hidden = int(16 * width)
    return nn.Sequential(nn.Linear(13, hidden), *([nn.BatchNorm1d(hidden)] if batchnorm else []), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, 3))


def test_a_factory_that_ignores_its_keywords_is_said_before_training(tmp_path):
    with pytest.warns(UserWarning) as said:
        study = Study("wine", model=deaf, arms=["dropout", "batchnorm", "shrink=0.5"], seeds=[0], epochs=1)
    lines = [str(w.message) for w in said]
    assert len(lines) == 3 and lines == study.warnings
    assert lines[0].startswith("dropout=0.3 was passed to deaf (arm 'dropout') but changes nothing in the module")
    assert "batchnorm=True" in lines[1] and "width=0.5" in lines[2] and "use width= in deaf" in lines[2]
    result = study.run(tmp_path / "s", progress=False)
    assert result.notes[:3] == lines  # kept with the study, first
    assert result.to_dict()["notes"][:3] == lines  # results.json's
    from goodfit.study import StudyResult
    assert StudyResult.from_store(tmp_path / "s").notes[:3] == lines


def test_a_factory_that_uses_its_keywords_is_not_warned():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Study("wine", model=listening, arms=["dropout", "batchnorm", "shrink=0.5"], seeds=[0], epochs=1).warnings == []


def test_bars_are_drawn_when_asked_and_not_in_a_pipe(capsys):
    study = Study("wine", arms=["dropout"], seeds=[0], epochs=2)
    study.run(progress=True)
    drawn = capsys.readouterr().err
    assert "baseline" in drawn and "dropout" in drawn and "2/2" in drawn and "val acc" in drawn
    study.run()  # pytest's stderr is no terminal: nothing drawn unless asked
    assert capsys.readouterr().err == ""
