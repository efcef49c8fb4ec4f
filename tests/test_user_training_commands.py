"""The user's training through the commands and the public classes: study, recipe, causes and train take it,
the plan records it, the history shows the rate that ran, the README's fine-tuning example runs."""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S

import goodfit as gf
from goodfit.cli import main
from goodfit.engine import Member, TrainConfig, train
from goodfit.engine.continuation import Continuation
from goodfit.remedies import Arm
from goodfit.study import Study

from conftest import make_splits

ROOT = Path(__file__).resolve().parents[1]


def cli(args, capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["goodfit", *args])
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_command_runs_the_spelled_training_and_writes_the_rate(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    code, stdout, stderr = cli(["train", "--data", "wine", "--epochs", "6", "--optimizer", "sgd", "--momentum", "0.5",
                                "--weight-decay", "1e-3", "--schedule", "cosine", "--warmup", "2", "--clip-grad", "1",
                                "--out", str(out)], capsys, monkeypatch)
    assert code == 0, stderr
    history = pd.read_csv(out / "history.csv")
    cosine = [0.5 * 1e-3 * (1 + np.cos(np.pi * t / 4)) for t in range(4)]
    np.testing.assert_allclose(history["lr"], [1e-3 / 3, 2e-3 / 3, *cosine], rtol=1e-5)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["optimizer"] == "sgd" and config["train"]["momentum"] == 0.5
    assert config["train"]["scheduler"] == "cosine" and config["train"]["clip_grad"] == 1.0


def test_study_command_records_the_training_in_its_plan_and_store(tmp_path, capsys, monkeypatch):
    out = tmp_path / "study"
    code, stdout, stderr = cli(["study", "--data", "wine", "--seeds", "2", "--epochs", "4", "--arms", "baseline,decay=0.1",
                                "--optimizer", "adamw", "--schedule", "step", "--clip-grad", "2", "--out", str(out)],
                               capsys, monkeypatch)
    assert code == 0, stderr
    assert "acts on top of the optimizer's own" in stdout + stderr
    result = gf.StudyResult.from_store(out)
    assert result.plan["train"]["optimizer"] == "adamw" and result.plan["train"]["scheduler"] == "step"
    rates = result.history.groupby("epoch")["lr"].unique()
    assert [list(r) for r in rates] == [[1e-3], [1e-4], [1e-4], [1e-5]]  # a tenth at each third of 4 epochs
    written = json.loads((out / "results.json").read_text())["learning_rates"]
    assert written["0/decay=0.1/1"] == [1e-3, 1e-4, 1e-4, 1e-5] and len(written) == 4


def test_a_study_of_the_users_own_optimizer_describes_it_and_fingerprints_its_settings():
    def study(lr):
        return Study("wine", arms=["dropout=0.2"], seeds=1, epochs=2,
                     optimizer=lambda params: torch.optim.AdamW(params, lr=lr, weight_decay=0.05),
                     scheduler=lambda opt: S.StepLR(opt, step_size=1, gamma=0.5), scheduler_interval="epoch")

    a, b, c = study(3e-4), study(3e-4), study(1e-3)
    assert a.plan["train"]["optimizer"] == "AdamW(lr=0.0003, weight_decay=0.05)"
    assert a.plan["train"]["scheduler"] == "StepLR(gamma=0.5, step_size=1)"
    assert "lr" not in a.plan["train"]  # the optimizer's own rate rules
    assert a.fingerprint == b.fingerprint != c.fingerprint
    result = a.run()
    assert result.history.groupby("epoch")["lr"].first().tolist() == [3e-4, 1.5e-4]


def test_recipe_and_causes_train_with_the_users_optimizer():
    from goodfit.causes import Causes
    from goodfit.recipe import Recipe

    seen = []

    def optimizer(params):
        seen.append(1)
        return torch.optim.SGD(params, lr=0.05, momentum=0.9)

    recipe = Recipe("wine", model="mlp", space="dropout=0.1:0.5", candidates=2, top=1, seeds=1, epochs=3,
                    optimizer=optimizer, clip_grad=1.0)
    assert recipe.plan["train"]["optimizer"] == "SGD(lr=0.05, momentum=0.9)"
    assert recipe.run().chosen
    calls = len(seen)
    assert calls > 0
    found = Causes("wine", folds=2, seeds=1, epochs=3, optimizer=optimizer).run()
    assert found.rows == 178 and len(seen) > calls


def test_a_spelled_schedule_that_spreads_over_the_epochs_is_not_continued_into_a_longer_run():
    splits = make_splits("table", n=64)
    members = [Member(Arm("a"), 0)]
    carry = Continuation()
    cosine = TrainConfig(epochs=4, batch_size=16, scheduler="cosine")
    train(splits, members, config=cosine, continuation=carry)
    longer = train(splits, members, config=TrainConfig(epochs=8, batch_size=16, scheduler="cosine"), continuation=carry)
    assert carry.continued == 0  # trained anew: cosine over 8 epochs is not cosine over 4, then 4 more
    fresh = train(splits, members, config=TrainConfig(epochs=8, batch_size=16, scheduler="cosine")).members[0]
    np.testing.assert_array_equal(longer.members[0].history["lr"], fresh.history["lr"])
    own = TrainConfig(epochs=4, batch_size=16, scheduler=lambda opt: S.StepLR(opt, 2))  # counts steps: goes on
    carry = Continuation()
    train(splits, members, config=own, continuation=carry)
    train(splits, members, config=TrainConfig(epochs=6, batch_size=16, scheduler=own.scheduler), continuation=carry)
    assert carry.continued == 1


def readme_block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"{len(found)} README python blocks hold {marker!r}"
    return found[0]


def test_readme_fine_tuning_example_runs_and_keeps_the_backbone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_block("requires_grad_(False)"), "README:fine-tuning", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "On digits with 300 training samples, over 3 seeds" in printed
    assert re.search(r"1 0\.000750\s+2 0\.001500\s+3 0\.002250\s+4 0\.003000\s+5 0\.002974", printed), printed
    backbone = torch.load(tmp_path / "backbone.pt")
    model = namespace["model"]
    assert isinstance(model, nn.Sequential) and not model.training
    assert torch.equal(model[1].weight, backbone["weight"]) and not model[1].weight.requires_grad
    members = namespace["result"].members
    assert (members["num_params"] == 128 * 10 + 10).all() and (members["frozen_params"] == 64 * 128 + 128).all()
    assert (tmp_path / "runs" / "fine-tune" / "models" / "index.json").is_file()


def test_readme_arrays_example_runs(capsys):
    exec(compile(readme_block("load_wine(return_X_y=True)"), "README:arrays", "exec"), {})
    assert "On arrays(178x13)" in capsys.readouterr().out
