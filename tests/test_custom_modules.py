"""A user's own nn.Module as a population: its dropout draws from each member's stream, a module vmap
cannot batch trains member by member and says so, a traced module runs as stacked layers, and a population
that times slower than its members alone trains member by member."""
import importlib

import numpy as np
import pytest
import torch
from torch import nn

from goodfit.engine import Member, TrainConfig, train
from goodfit.errors import GoodfitError
from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.module_net import ModuleNet
from goodfit.nn.population import MemberSettings
from goodfit.remedies import Arm, Dropout

from conftest import make_splits

COLUMNS = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss", "test_loss", "test_accuracy"]


def _layer_notes(result) -> list[str]:
    """A result's notes without the line on the population's speed (`_together_or_alone`)."""
    return [n for n in result.notes if " a step together, " not in n]


def _assert_same_history(a, b):
    assert len(a) == len(b)
    np.testing.assert_allclose(a[COLUMNS].to_numpy(float), b[COLUMNS].to_numpy(float), rtol=2e-4, atol=2e-5)


def sequential_with_dropout(dropout: float = 0.3):
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 3))


def gelu_with_dropout(dropout: float = 0.3):
    """Not an MLP of the fused chain's layers (GELU): its population is timed."""
    return nn.Sequential(nn.Linear(6, 32), nn.GELU(), nn.Dropout(dropout), nn.Linear(32, 3))


class DropoutNet(nn.Module):
    """Not a Sequential: runs under vmap. Calls one dropout layer twice, and has an alpha dropout."""

    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(6, 32), nn.Linear(32, 32), nn.Linear(32, 3)
        self.drop, self.alpha = nn.Dropout(dropout), nn.AlphaDropout(0.2)

    def forward(self, x):
        x = self.drop(torch.relu(self.fc1(x)))
        x = self.alpha(self.drop(torch.relu(self.fc2(x))))
        return self.head(x)


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 3)

    def forward(self, x):  # (B, L)
        out, _ = self.lstm(x.unsqueeze(-1))
        return self.head(out[:, -1])


class ItemInTraining(nn.Module):
    """Reads a number off a tensor in training mode only, which vmap refuses."""

    def __init__(self):
        super().__init__()
        self.fc, self.drop = nn.Linear(6, 3), nn.Dropout(0.2)

    def forward(self, x):
        if self.training and x.abs().sum().item() < 0:
            x = -x
        return self.fc(self.drop(x))


def _net(factory, seeds, shape=(6,), classes=3):
    return ModuleNet(ModuleArchitecture(factory, (), shape, classes, factory.__name__),
                     [MemberSettings(s) for s in seeds], "cpu")


def _masks(net: ModuleNet, batch: int) -> list[torch.Tensor]:
    """One step's dropout masks for the net's dropout layers, as the engine draws them: each member's from its
    own stream (`engine.dropout.host_masks`), one `(K, batch, entries)` per call of a dropout layer."""
    from goodfit.engine.dropout import DropoutState, host_masks

    state = DropoutState([m.seed for m in net.members], net.mask_thresholds(),
                         [np.random.SFC64([m.seed, 11]) for m in net.members], net.mask_sizes())
    return [m[:, 0] for m in host_masks(state, 1, batch)]


@pytest.mark.parametrize("factory,path", [(sequential_with_dropout, "converted"), (DropoutNet, "converted")])
def test_a_modules_own_dropout_makes_a_member_alone_train_as_in_a_population(factory, path):
    assert _net(factory, [0]).path == path
    splits, config = make_splits("table"), TrainConfig(epochs=4, batch_size=16)
    members = [Member(Arm("dropout", (Dropout(0.3),)), seed) for seed in (0, 1, 2)]
    together = train(splits, members, factory, config)
    torch.manual_seed(123)  # the global generator plays no part
    alone = train(splits, [members[1]], factory, config)
    _assert_same_history(together.members[1].history, alone.members[0].history)
    a, b = (together.members[i].history[COLUMNS].to_numpy(float) for i in (0, 1))
    assert not np.allclose(a, b)
    assert _layer_notes(together) == []


@pytest.mark.parametrize("factory", [sequential_with_dropout, DropoutNet])
def test_members_of_a_population_do_not_share_dropout_masks(factory):
    net = _net(factory, [0, 1, 2])
    with torch.no_grad():
        for t in net.params.values():
            t.copy_(t[:1].expand_as(t))  # three copies of member 0
    x = torch.randn(1, 64, 6).expand(3, 64, 6)
    with torch.no_grad():
        trained, evaluated = net.forward(x, train=True, masks=_masks(net, 64)), net.forward(x, train=False)
    assert torch.equal(evaluated[0], evaluated[1]) and torch.equal(evaluated[1], evaluated[2])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert not torch.allclose(trained[i], trained[j])


def test_dropout_masks_drop_the_layers_rate_and_scale_the_kept_units():
    net = _net(lambda: nn.Sequential(nn.Dropout(0.25), nn.Dropout2d(0.5), nn.Flatten(), nn.Linear(24, 3)), [0, 1],
               shape=(2, 3, 4))
    (unit,), (channel,) = (site[0] for site in net._site_masks(_masks(net, 500)))
    assert unit.shape == (2, 500, 2, 3, 4) and channel.shape == (2, 500, 2, 1, 1)
    assert (unit == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert unit.unique().tolist() == pytest.approx([0.0, 4 / 3])
    assert (channel == 0).float().mean().item() == pytest.approx(0.5, abs=0.03)


def test_the_converted_module_computes_what_vmap_does_in_training_and_eval():
    def factory():
        return nn.Sequential(nn.Flatten(), nn.Linear(6, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.4),
                             nn.Sequential(nn.Linear(16, 16, bias=False), nn.Tanh()), nn.Linear(16, 3))

    net = _net(factory, [0, 1, 2])
    assert net.path == "converted"
    x = torch.randn(3, 8, 6)
    for train_mode in (True, False):
        masks = net._site_masks(_masks(net, 8)) if train_mode else [[] for _ in net.sites]
        net.template.train(train_mode)
        stacked_buffers = {n: b.clone() for n, b in net.buffers.items()}
        vmap_buffers = {n: b.clone() for n, b in net.buffers.items()}
        stacked = net._stacked(net.params, stacked_buffers, masks, x)
        torch.testing.assert_close(stacked, net._vmapped(net.params, vmap_buffers, masks, x), rtol=1e-5, atol=1e-5)
        for n in stacked_buffers:
            torch.testing.assert_close(stacked_buffers[n], vmap_buffers[n], rtol=1e-5, atol=1e-6)
        grads = [torch.autograd.grad(run(net.params, {n: b.clone() for n, b in net.buffers.items()}, masks, x)
                                     .square().sum(), list(net.params.values())) for run in (net._stacked, net._vmapped)]
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        for k in range(3):
            torch.testing.assert_close(net.predict(x[k])[k], net.to_module(k)(x[k]), rtol=1e-5, atol=1e-5)


def test_the_exported_member_is_the_users_own_module_with_its_dropout():
    net = _net(DropoutNet, [0, 1])
    module = net.to_module(1)
    assert type(module) is DropoutNet and type(module.drop) is nn.Dropout and not module.training
    assert module.state_dict().keys() == DropoutNet().state_dict().keys()


def test_an_lstm_layer_trains_member_by_member_says_so_and_matches_alone():
    splits, config = make_splits("sequence", shape=(12,)), TrainConfig(epochs=3, batch_size=16)
    members = [Member(Arm("b"), seed) for seed in (0, 1, 2)]
    together = train(splits, members, LSTMNet, config)
    note = ("model factory LSTMNet: layer lstm (LSTM) has no stacked counterpart and runs member by member: "
            "vmap cannot batch aten::lstm.input")
    assert _layer_notes(together) == [note]
    for r in together.members:
        assert np.isfinite(r.history[["train_loss", "val_loss"]].to_numpy()).all()
    alone = train(splits, [members[2]], LSTMNet, config)
    _assert_same_history(together.members[2].history, alone.members[0].history)
    assert _layer_notes(alone) == [note]


def test_a_module_vmap_refuses_in_training_mode_only_trains_member_by_member():
    net = _net(ItemInTraining, [0, 1])
    assert net.path == "members"
    assert net.note.startswith("model factory ItemInTraining trains member by member, not vectorized: vmap failed")
    assert ".item()" in net.note and net.note.endswith("(in training mode only)")
    splits, config = make_splits("table"), TrainConfig(epochs=2, batch_size=16)
    members = [Member(Arm("b"), 0), Member(Arm("b"), 1)]
    together = train(splits, members, ItemInTraining, config)
    _assert_same_history(together.members[1].history, train(splits, [members[1]], ItemInTraining, config).members[0].history)


def test_a_module_that_does_not_fit_the_data_is_refused_with_the_shapes():
    splits = make_splits("table")
    with pytest.raises(GoodfitError, match=r"failed in eval mode on a batch of shape \(2, 6\) \(the data's samples "
                                           r"have shape \(6,\)\): RuntimeError: mat1 and mat2"):
        train(splits, [Member(Arm("b"), 0)], lambda: nn.Linear(5, 3), TrainConfig(epochs=1))
    with pytest.raises(GoodfitError, match=r"returns outputs of shape \(2, 5\) .* logits of shape \(batch, 3\)"):
        train(splits, [Member(Arm("b"), 0)], lambda: nn.Linear(6, 5), TrainConfig(epochs=1))
    with pytest.raises(GoodfitError, match=r"returns a tuple .* logits of shape \(batch, 3\)"):
        train(make_splits("sequence", shape=(12,)), [Member(Arm("b"), 0)], lambda: nn.LSTM(12, 3), TrainConfig(epochs=1))


def test_the_speed_benchmark_prints_its_ratio_line(capsys):
    import importlib.util
    import re
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "custom_module_speed.py"
    spec = importlib.util.spec_from_file_location("custom_module_speed", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ratio = bench.main(["--members", "2", "--epochs", "1", "--train-size", "64", "--runs", "1"])
    *_, timed, last = capsys.readouterr().out.strip().splitlines()
    assert last == f"own MLP module vs built-in MLP: {ratio:.1f}x"
    own, builtin = map(float, re.search(r"own module ([\d.]+) s, built-in ([\d.]+) s$", timed).groups())
    assert ratio == pytest.approx(own / builtin, abs=0.01 / builtin * (1 + ratio))  # the times it printed, rounded


@pytest.mark.parametrize("threads,fastest", [(1, "member by member"), (1, "together"), (2, "member by member"),
                                             (2, "together"), (2, "side by side")])
def test_a_population_trains_the_way_that_times_fastest_and_says_so(monkeypatch, threads, fastest):
    engine_train = importlib.import_module("goodfit.engine.train")
    # a step of all 4 members on every thread, of 2 members on one thread, of one member alone
    seconds = {"member by member": (0.050, 0.040, 0.010), "together": (0.020, 0.025, 0.015),
               "side by side": (0.050, 0.015, 0.010)}[fastest]
    timed = []

    def fake_step_seconds(arch, members, splits, config, steps=3):
        timed.append((len(members), torch.get_num_threads()))
        return {4: seconds[0], 2: seconds[1], 1: seconds[2]}[len(members)]

    monkeypatch.setattr(engine_train, "step_seconds", fake_step_seconds)
    ran = []
    real_run = engine_train._run
    monkeypatch.setattr(engine_train, "_run", lambda jobs, *a: ran.append([(j[2], j[3]) for j in jobs]) or real_run(jobs, *a))
    splits, config = make_splits("table"), TrainConfig(epochs=3, batch_size=16)
    members = [Member(Arm("dropout", (Dropout(0.3),)), seed) for seed in (0, 1, 2, 3)]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = train(splits, members, gelu_with_dropout, config)
    finally:
        torch.set_num_threads(before)
    if threads == 1:
        assert timed == [(4, 1), (1, 1)]
        assert result.notes == [f"model factory gelu_with_dropout: 4 members take {seconds[0] * 1e3:.1f} ms a "
                                f"step together, {seconds[2] * 1e3:.1f} ms each alone ({seconds[2] * 4e3:.1f} ms for all): trains "
                                f"{'member by member' if fastest == 'member by member' else 'them together'}"]
    else:
        assert timed == [(4, 2), (2, 1), (1, 1)]
        choice = {"member by member": "trains member by member", "together": "trains them together",
                  "side by side": "trains 2 populations side by side"}[fastest]
        assert result.notes == [f"model factory gelu_with_dropout: 4 members take {seconds[0] * 1e3:.1f} ms a "
                                f"step together, {seconds[1] * 1e3:.1f} ms as 2 populations side by side, {seconds[2] * 1e3:.1f} ms "
                                f"each alone ({seconds[2] * 2e3:.1f} ms for all on 2 threads): {choice}"]
    expected = {"member by member": [([0], threads > 1), ([1], threads > 1), ([2], threads > 1), ([3], threads > 1)],
                "together": [([0, 1, 2, 3], False)], "side by side": [([0, 1], True), ([2, 3], True)]}[fastest]
    assert ran == [expected]
    monkeypatch.undo()
    alone = train(splits, [members[2]], gelu_with_dropout, config)
    _assert_same_history(result.members[2].history, alone.members[0].history)
    assert alone.notes == []  # a population of one is not timed
    monkeypatch.setattr(engine_train, "step_seconds", fake_step_seconds)
    timed.clear()
    mlp = train(splits, members, sequential_with_dropout, config)  # one fused chain: trains together, untimed
    assert timed == [] and mlp.notes == []


def test_the_readme_own_model_example_runs_converted(capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("**Your own model**: pass a factory", 1)[1].split("**Your own training**", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    small = block.replace("seeds=3, epochs=30", "seeds=1, epochs=1")
    assert small != block
    namespace = {}
    exec(compile(small, "README:own model", "exec"), namespace)
    assert capsys.readouterr().out.strip()  # the verdict
    net = ModuleNet(ModuleArchitecture(namespace["small_cnn"], (("batchnorm", True), ("dropout", 0.3)), (1, 8, 8), 10,
                                       "small_cnn"), [MemberSettings(0), MemberSettings(1)], "cpu")
    assert (net.path, net.note) == ("converted", None)
