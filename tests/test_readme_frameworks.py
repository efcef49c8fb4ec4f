"""The README's studies of a Hugging Face Trainer, a Keras model and a Lightning module run as written (fewer
seeds and epochs here), through the adapters and the real libraries."""
import os
import re
from pathlib import Path

import pytest

from test_integrations import one_thread  # noqa: F401 (autouse: one torch thread per test)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def block(marker: str) -> str:
    found = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if marker in b]
    assert len(found) == 1, f"{len(found)} README python blocks hold {marker!r}"
    return found[0]


def run(code: str, capsys, **smaller) -> str:
    for old, new in smaller.items():
        assert old in code, old
        code = code.replace(old, new)
    exec(compile(code, "README", "exec"), {"__name__": "__main__"})
    return " ".join(capsys.readouterr().out.split())


def test_the_hf_trainer_study(tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    said = run(block("gf.hf.fit(make_trainer"), capsys, **{"seeds=3, epochs=10": "seeds=2, epochs=2",
                                                            '"dropout=0.3", "early_stopping=2"': '"dropout=0.3"'})
    assert "On the training function make_trainer, over 2 seeds" in said and "test accuracy" in said
    assert (tmp_path / "runs" / "hf-study" / "report.html").is_file()


def test_the_keras_study(capsys):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    said = run(block("gf.keras.fit(make_model"), capsys, **{"seeds=3,\n               epochs=30": "seeds=2, epochs=3"})
    assert "On the training function make_model, over 2 seeds" in said and "test accuracy" in said


def test_the_lightning_study(capsys):
    pytest.importorskip("lightning")
    said = run(block("gf.lightning.fit(make_module)"), capsys,
               **{"seeds=3,\n               epochs=30": "seeds=2, epochs=3"})
    assert "On the training function make_module, over 2 seeds" in said
    assert "validation accuracy at each member's kept epoch" in said
