"""The population engine against its contracts: equivalence, a plain-PyTorch reference, each remedy."""
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from goodfit.engine import Member, TrainConfig, member_settings, train
from goodfit.models import ModelSpec
from goodfit.nn.module_architecture import ModuleArchitecture
from goodfit.nn.population import Architecture, MemberSettings, ModuleFactory
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

from conftest import make_splits

ARMS = [
    Arm("baseline"),
    Arm("dropout", (Dropout(0.3),)),
    Arm("l2", (WeightDecay(1e-2),)),
    Arm("decay", (WeightDecay(1e-2, decoupled=True),)),
    Arm("batchnorm", (BatchNorm(),)),
    Arm("shrink", (Shrink(0.5),)),
    Arm("early", (EarlyStopping(patience=2),)),
    Arm("mixed", (Dropout(0.2), BatchNorm(), Shrink(0.5), WeightDecay(1e-3), EarlyStopping(patience=3))),
]
COLUMNS = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss", "test_loss", "test_accuracy"]


def _mlp(arch: Architecture, members: list[MemberSettings], **kwargs):
    """A population of goodfit's MLP as the engine builds it: each member at its own dropout rate."""
    return ModuleArchitecture(ModuleFactory(arch), tuple(sorted(kwargs.items())), arch.input_shape, arch.num_classes,
                              arch.arch, arch, per_member=("dropout",)).make_net(members, "cpu")


def _assert_same_history(a, b):
    assert len(a) == len(b)
    np.testing.assert_allclose(a[COLUMNS].to_numpy(float), b[COLUMNS].to_numpy(float), rtol=2e-4, atol=2e-5)


def _assert_same_weights(a: torch.Tensor, b: torch.Tensor, lr: float = 1e-3) -> None:
    """Close to rtol 2e-4 and atol 2e-5, but for one weight in a thousand, which stays within one Adam step
    (`lr`): where a weight's true gradient is zero, its computed one is rounding noise that differs with the
    kernel (a grouped convolution of one group against several: -3.7e-9 against -4.3e-9 in the 1-D CNN's
    first step), and Adam's first step turns it into a step of a good fraction of `lr`."""
    off = (a - b).abs() > 2e-5 + 2e-4 * b.abs()
    assert int(off.sum()) <= a.numel() // 1000, f"{int(off.sum())} of {a.numel()} weights differ"
    torch.testing.assert_close(a, b, rtol=0, atol=lr)


KINDS = [  # a data kind, its sample shape, the model for it and every augmentation it allows
    ("table", (6,), "mlp", "noise,mixup"),
    ("sequence", (24,), "cnn1d", "shift,noise"),
    ("image", (1, 8, 8), "cnn2d", "rotate,flip,zoom,shift,noise"),
]


@pytest.mark.parametrize("kind,shape,model,augment", KINDS)
def test_member_of_population_matches_same_member_trained_alone(kind, shape, model, augment, monkeypatch):
    # the CNNs' populations train together here: the engine's timed choice (together, side by side or member
    # by member, each held to this contract in test_custom_modules) would otherwise follow the machine's load
    import importlib

    monkeypatch.setattr(importlib.import_module("goodfit.engine.train"), "step_seconds",
                        lambda arch, members, *args, **kwargs: float(len(members) == 1) + 1.0)
    splits = make_splits(kind, shape=shape)
    arms = ARMS + [Arm("augment", (Augment.from_names(augment, kind),))]
    members = [Member(arm, seed) for arm in arms for seed in (0, 1)]
    spec, config = ModelSpec(model, 16, 2), TrainConfig(epochs=6, batch_size=16)
    together = train(splits, members, spec, config)
    for i, member in enumerate(members):  # every member: dropout, shrink, batch norm, augmentation included
        alone = train(splits, [member], spec, config).members[0]
        _assert_same_history(together.members[i].history, alone.history)
        assert together.members[i].best_epoch == alone.best_epoch, member.arm.name
        for name, tensor in alone.state_dict.items():
            _assert_same_weights(together.members[i].state_dict[name], tensor)


def test_single_member_matches_plain_pytorch_loop_with_adam_and_l2():
    splits = make_splits("table", n=90)
    spec, config = ModelSpec("mlp", 32, 2), TrainConfig(epochs=4, batch_size=16, lr=3e-3)
    strength = 1e-2
    member = Member(Arm("l2", (WeightDecay(strength),)), seed=5)
    ours = train(splits, [member], spec, config).members[0]

    net = ours.architecture.make_net([member_settings(member)], "cpu")
    module = net.to_module(0).train()  # same initial weights, same minibatch generator
    opt = torch.optim.Adam(module.parameters(), lr=config.lr)
    X, y = torch.as_tensor(splits.X_train), torch.as_tensor(splits.y_train)
    for epoch in range(config.epochs):
        order = torch.randperm(len(y), generator=net.generators[0])
        for s in range(0, len(y), config.batch_size):
            idx = order[s:s + config.batch_size]
            loss = F.cross_entropy(module(X[idx]), y[idx])
            penalty = sum((p ** 2).sum() for n, p in module.named_parameters() if n.endswith("weight"))
            opt.zero_grad()
            (loss + strength / 2 * penalty).backward()
            opt.step()
    module.eval()
    X_val, y_val = torch.as_tensor(splits.X_val), torch.as_tensor(splits.y_val)
    with torch.no_grad():
        ref_val = F.cross_entropy(module(X_val), y_val).item()
    assert ours.history["val_loss"].iloc[-1] == pytest.approx(ref_val, rel=1e-4)
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(ours.state_dict[name], tensor, rtol=1e-4, atol=1e-5)


def test_decoupled_decay_matches_torch_adamw():
    splits = make_splits("table", n=64)
    spec, config = ModelSpec("mlp", 16, 1), TrainConfig(epochs=2, batch_size=64, lr=1e-2)
    member = Member(Arm("decay", (WeightDecay(0.1, decoupled=True),)), seed=2)
    ours = train(splits, [member], spec, config).members[0]
    net = ours.architecture.make_net([member_settings(member)], "cpu")
    module = net.to_module(0).train()
    decayed = [p for n, p in module.named_parameters() if n.endswith("weight")]
    others = [p for n, p in module.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": others, "weight_decay": 0.0}],
                            lr=config.lr)
    X, y = torch.as_tensor(splits.X_train), torch.as_tensor(splits.y_train)
    for _ in range(config.epochs):
        order = torch.randperm(len(y), generator=net.generators[0])
        opt.zero_grad()
        F.cross_entropy(module(X[order]), y[order]).backward()
        opt.step()
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(ours.state_dict[name], tensor, rtol=1e-4, atol=1e-5)


def test_l2_penalty_gradient_is_strength_times_weight():
    splits = make_splits("table", n=32)
    spec, config = ModelSpec("mlp", 8, 1), TrainConfig(epochs=1, batch_size=32, lr=1e-3, optimizer="sgd")
    plain = train(splits, [Member(Arm("b"), 1)], spec, config).members[0].state_dict
    penal = train(splits, [Member(Arm("l2", (WeightDecay(0.5),)), 1)], spec, config).members[0].state_dict
    arch = train(splits, [Member(Arm("b"), 1)], spec, TrainConfig(epochs=1)).members[0].architecture
    init = arch.make_net([member_settings(Member(Arm("b"), 1))], "cpu").to_module(0).state_dict()
    # one SGD step (momentum buffer starts at the gradient): w1 = w0 - lr * (g + 0.5 * w0)
    for name in plain:
        expected = plain[name] - config.lr * 0.5 * init[name] if name.endswith("weight") else plain[name]
        torch.testing.assert_close(penal[name], expected, rtol=1e-5, atol=1e-6)


def test_dropout_drops_the_requested_fraction_in_training_and_none_in_eval():
    from goodfit.engine.dropout import DropoutState, host_masks

    net = _mlp(Architecture("mlp", 64, 2, (5,), 2), [MemberSettings(0, dropout=0.3), MemberSettings(1)])
    assert net.mask_sizes() == [64, 64] and net.mask_thresholds().tolist() == [[19661, 19661], [0, 0]]
    state = DropoutState([0, 1], net.mask_thresholds(), [np.random.SFC64([s, 11]) for s in (0, 1)], net.mask_sizes())
    masks = host_masks(state, steps=20, batch=32)
    assert (masks[0][0] == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    kept = masks[0][0][masks[0][0] > 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - 19661 / 65536)))
    assert (masks[0][1] == 1).all()
    x = torch.randn(2, 8, 5)
    with torch.no_grad():
        assert torch.equal(net.forward(x, train=False), net.forward(x, train=False))
        dropped = net.forward(x, train=True, masks=[m[:, 0, :8] for m in masks])
    assert not torch.allclose(dropped[0], net.forward(x, train=False)[0])
    torch.testing.assert_close(dropped[1], net.forward(x, train=False)[1])


def test_early_stopping_restores_best_epoch_even_when_patience_never_ran_out():
    splits = make_splits("table", n=60, classes=2)
    member = Member(Arm("es", (EarlyStopping(patience=1000),)), seed=0)
    r = train(splits, [member], ModelSpec("mlp", 64, 2), TrainConfig(epochs=40, lr=1e-2)).members[0]
    assert r.stopped_epoch is None
    assert r.best_epoch < 40, "random labels: validation loss must rise after an early minimum"
    module = r.architecture.build()
    module.load_state_dict(r.state_dict)
    with torch.no_grad():
        val = F.cross_entropy(module.eval()(torch.as_tensor(splits.X_val)), torch.as_tensor(splits.y_val)).item()
    assert val == pytest.approx(r.history.set_index("epoch").loc[r.best_epoch, "val_loss"], rel=1e-5)


def test_early_stopping_stops_and_leaves_others_running():
    splits = make_splits("table", n=60, classes=2)
    members = [Member(Arm("es", (EarlyStopping(patience=3),)), 0), Member(Arm("baseline"), 0)]
    r = train(splits, members, ModelSpec("mlp", 64, 2), TrainConfig(epochs=40, lr=1e-2))
    es, base = r.members
    assert es.stopped_epoch is not None and es.stopped_epoch == es.best_epoch + 3
    assert len(es.history) == es.stopped_epoch and len(base.history) == 40


def test_batchnorm_switches_on_per_member_and_shrink_cuts_parameters(digits_small):
    members = [Member(Arm("b"), 0), Member(Arm("bn", (BatchNorm(),)), 0), Member(Arm("s", (Shrink(0.25),)), 0)]
    r = train(digits_small, members, ModelSpec("mlp", 64, 2), TrainConfig(epochs=1))
    keys = [set(m.state_dict) for m in r.members]
    assert not any("running_mean" in k for k in keys[0]) and any("running_mean" in k for k in keys[1])
    assert r.members[2].num_params < r.members[0].num_params / 3
    assert r.members[0].num_params == 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10


def test_diverged_member_is_frozen_and_reported():
    import dataclasses

    s = make_splits("table", n=60)
    huge = dataclasses.replace(s, X_train=s.X_train * 1e8, X_val=s.X_val * 1e8, X_test=s.X_test * 1e8)
    r = train(huge, [Member(Arm("b"), 0)], ModelSpec("mlp", 32, 1), TrainConfig(epochs=5, lr=9.0, optimizer="sgd"))
    m = r.members[0]
    assert m.diverged and np.isnan(m.test_accuracy) and len(m.history) < 5


def _max_ulps(a, b) -> int:
    """The largest distance in float32 units in the last place between two arrays; NaN must match NaN."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    finite = ~np.isnan(a)
    ints = [x[finite].view(np.int32).astype(np.int64) for x in (a, b)]
    ints = [np.where(i < 0, -(i & 0x7FFFFFFF), i) for i in ints]  # sign-magnitude to a monotone line
    return int(np.abs(ints[0] - ints[1]).max()) if finite.any() else 0


ULPS = 16  # batched matmul kernels may block a member's sums by how many members share the call


def test_a_member_driven_to_nan_leaves_every_other_member_as_without_it_within_a_few_ulps(digits_small, monkeypatch):
    """Issue 7, divergence isolation: a member with a huge learning rate diverges in the middle of
    a population; the others' epochs, best and stopped epochs are exactly those they have in the
    same population without it, and every number agrees within a few float32 ulps. Not bit for
    bit: on a 2-core AMD EPYC the batched matmul of the final test evaluation rounds a member's
    sums differently with 6 members in the call than with 5 (a test loss 3 ulps apart). Both train
    as one population: the engine's timed choice could otherwise cut them into different populations
    by the machine's load, whose sums round differently."""
    import importlib

    monkeypatch.setattr(importlib.import_module("goodfit.engine.train"), "step_seconds",
                        lambda arch, members, *args, **kwargs: float(len(members) == 1) + 1.0)
    good = [Member(Arm("baseline"), 0), Member(Arm("dropout", (Dropout(0.3),)), 1),
            Member(Arm("adamw", (WeightDecay(1e-2, decoupled=True),)), 2),
            Member(Arm("early", (EarlyStopping(patience=2),)), 3), Member(Arm("l2", (WeightDecay(1e-3),)), 4, lr=3e-3)]
    wild = Member(Arm("baseline"), 5, lr=1e20)
    spec, config = ModelSpec("mlp", 64, 2), TrainConfig(epochs=6)
    with_it = train(digits_small, good[:2] + [wild] + good[2:], spec, config).members
    without = train(digits_small, good, spec, config).members
    bad = with_it.pop(2)
    assert bad.diverged and np.isnan(bad.test_accuracy) and len(bad.history) < 6
    for a, b in zip(with_it, without):
        assert not a.diverged and len(a.history) > 1
        assert a.history["epoch"].tolist() == b.history["epoch"].tolist(), a.member.arm.name
        assert (a.best_epoch, a.stopped_epoch) == (b.best_epoch, b.stopped_epoch)
        assert _max_ulps(a.history[COLUMNS], b.history[COLUMNS]) <= ULPS, a.member.arm.name
        assert _max_ulps([a.test_loss, a.test_accuracy], [b.test_loss, b.test_accuracy]) <= ULPS
        assert all(_max_ulps(a.state_dict[k], b.state_dict[k]) <= ULPS for k in a.state_dict)


def test_the_ulp_distance_counts_units_in_the_last_place():
    one = np.float32(1.0)
    assert _max_ulps([one], [np.nextafter(one, np.float32(2))]) == 1
    assert _max_ulps([np.float32(-0.0)], [np.float32(0.0)]) == 0
    assert _max_ulps([one, np.nan], [one, np.nan]) == 0
    assert _max_ulps([1.6359919], [1.6359923]) == 3


@pytest.mark.parametrize("optimizer,decay", [("adam", None), ("adam", WeightDecay(1e-2, decoupled=True)),
                                             ("sgd", WeightDecay(1e-3))])
def test_a_members_own_learning_rate_trains_as_that_rate_for_everyone(wine_splits, optimizer, decay):
    arm = Arm("a", (decay,) if decay else ())
    mixed = train(wine_splits, [Member(arm, 0), Member(arm, 1, lr=3e-3)], ModelSpec("mlp", 32, 1),
                  TrainConfig(epochs=4, optimizer=optimizer))
    alone = train(wine_splits, [Member(arm, 1)], ModelSpec("mlp", 32, 1), TrainConfig(epochs=4, lr=3e-3, optimizer=optimizer))
    _assert_same_history(mixed.members[1].history, alone.members[0].history)
    # the shared rate's member moves bit for bit as in a population of the same size without an own rate (a
    # population of one may run other matmul kernels, which round otherwise)
    shared = train(wine_splits, [Member(arm, 0), Member(arm, 1)], ModelSpec("mlp", 32, 1),
                   TrainConfig(epochs=4, optimizer=optimizer))
    assert mixed.members[0].history.equals(shared.members[0].history)


def test_same_seed_gives_identical_results(wine_splits):
    members = [Member(Arm("d", (Dropout(0.2),)), 3)]
    a = train(wine_splits, members, config=TrainConfig(epochs=3)).members[0].history
    b = train(wine_splits, members, config=TrainConfig(epochs=3)).members[0].history
    assert a.equals(b)


def _factory(dropout: float = 0.0, batchnorm: bool = False):
    from torch import nn

    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16) if batchnorm else nn.Identity(), nn.ReLU(),
                         nn.Linear(16, 3))


def test_a_users_module_factory_trains_as_a_population_and_matches_alone():
    splits = make_splits("table")
    members = [Member(Arm("b"), 0), Member(Arm("bn", (BatchNorm(),)), 0), Member(Arm("wd", (WeightDecay(1e-2),)), 1)]
    together = train(splits, members, _factory, TrainConfig(epochs=4, batch_size=16))
    assert together.members[1].architecture.to_dict()["kwargs"] == {"batchnorm": True}
    assert "1.running_mean" in together.members[1].state_dict
    for i in (0, 2):
        alone = train(splits, [members[i]], _factory, TrainConfig(epochs=4, batch_size=16))
        _assert_same_history(together.members[i].history, alone.members[0].history)


def test_a_factory_without_the_remedys_keyword_is_refused_with_the_fix():
    from goodfit.errors import GoodfitError

    with pytest.raises(GoodfitError, match="accepts width="):
        train(make_splits("table"), [Member(Arm("s", (Shrink(0.5),)), 0)], _factory, TrainConfig(epochs=1))
    with pytest.raises(GoodfitError, match=r"logits of shape \(batch, 3\)"):
        train(make_splits("table"), [Member(Arm("b"), 0)], lambda: torch.nn.Linear(6, 5), TrainConfig(epochs=1))


@pytest.mark.parametrize("mixup", [False, True])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_the_mlps_fused_chain_matches_autograd_through_the_members_own_layers(mixup, batchnorm):
    """The converted MLP runs as one fused chain (`StackedDenseChain`, a hand-written backward); against
    autograd through each member's own torch layers (`ModuleNet._vmapped`), with dropout at each member's own
    rate (0 for some), mixup targets and batch norm, it gives the same losses, gradients and running statistics."""
    from goodfit.engine.loop import member_losses
    from goodfit.nn.layers import StackedDenseChain

    settings = [MemberSettings(0), MemberSettings(1, dropout=0.3), MemberSettings(2), MemberSettings(3, dropout=0.5)]
    net = _mlp(Architecture("mlp", 32, 2, (6,), 4), settings, **({"batchnorm": True} if batchnorm else {}))
    (chain, run), = net.converted[True].fused.values()
    assert net.path == "converted" and isinstance(chain, StackedDenseChain)
    assert [n.target for n in run if n.op == "call_module"] == [str(i) for i in range(1, 10 if batchnorm else 8)]
    K, B = len(settings), 16
    g = torch.Generator().manual_seed(0)
    x = torch.randn(K, B, 6, generator=g)
    y = torch.randint(0, 4, (K, B), generator=g)
    targets = (y, torch.randint(0, 4, (K, B), generator=g), torch.rand(K, B, generator=g)) if mixup else y
    rates = torch.tensor([0.0, 0.3, 0.0, 0.5])[:, None, None]
    masks = [(torch.rand(K, B, 32, generator=g) >= rates).float() / (1 - rates) for _ in range(2)]
    start = {n: b.clone() for n, b in net.buffers.items()}
    fused = member_losses(net.forward(x, train=True, masks=masks), targets)
    grads = torch.autograd.grad(fused.sum(), list(net.params.values()))
    running = {n: b.clone() for n, b in net.buffers.items()}
    for n, b in net.buffers.items():
        b.copy_(start[n])
    net.template.train(True)
    own = member_losses(net._vmapped(net.params, net.buffers, net._site_masks(masks), x), targets)
    want = torch.autograd.grad(own.sum(), list(net.params.values()))
    torch.testing.assert_close(fused, own, rtol=1e-5, atol=1e-6)
    for name, got, expected in zip(net.params, grads, want):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=name)
        assert expected.abs().sum() > 0, name
    assert len(net.buffers) == (6 if batchnorm else 0)  # running mean, variance and batches seen, per norm
    for name, b in net.buffers.items():
        torch.testing.assert_close(running[name], b, rtol=1e-5, atol=1e-6, msg=name)


def test_early_stopping_with_min_delta_reports_the_epoch_whose_weights_it_keeps():
    """The best epoch is the last thresholded improvement, not the raw minimum: with min_delta 0.08,
    0.93 after 1.0 is no improvement, so epoch 1's weights are kept and epoch 1 is reported."""
    from goodfit.engine.early_stopping import EarlyStop
    from goodfit.engine.piece import Step
    from goodfit.engine.results import EpochMetrics

    class Run:  # what the piece reads of a population
        members = [Member(Arm("es", (EarlyStopping(patience=10, min_delta=0.08),)), 0), Member(Arm("b"), 1)]
        net = _mlp(Architecture("mlp", 4, 1, (3,), 2), [MemberSettings(0), MemberSettings(1)])
        device = torch.device("cpu")

    piece, run = EarlyStop(), Run()
    state = piece.init(run)
    weights = run.net.params["4.bias"]  # the head's: Flatten, Linear, ReLU, Dropout, Linear
    for epoch, loss in enumerate([1.0, 0.93, 0.95, 0.96], start=1):
        with torch.no_grad():
            weights.fill_(epoch)  # the weights of this epoch
        metrics = EpochMetrics(epoch, np.arange(2), {name: np.array([v, v]) for name, v in zip(
            ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "running_loss"), (0.0, 0.0, loss, 0.5, loss))})
        state = piece.update(Step("epoch", run.net, epoch, metrics=metrics, stop=np.zeros(2, bool),
                                  diverged=np.zeros(2, bool)), state)
    leave = Step("leave", run.net, 4, leaving=np.ones(2, bool), diverged=np.zeros(2, bool),
                 kept={n: t.clone() for n, t in run.net.state().items()})
    piece.update(leave, state)
    assert leave.best_epoch.tolist() == [1, 2]  # thresholded for the early stopper, the raw minimum otherwise
    assert leave.kept["4.bias"][:, 0].tolist() == [1.0, 4.0]  # its best epoch's weights; the other its last


def test_a_trained_member_with_min_delta_keeps_the_weights_of_its_reported_best_epoch(wine_splits):
    member = Member(Arm("es", (EarlyStopping(patience=50, min_delta=0.02),)), seed=1)
    r = train(wine_splits, [member], ModelSpec("mlp", 32, 1), TrainConfig(epochs=30, lr=3e-3)).members[0]
    module = r.architecture.build()
    module.load_state_dict(r.state_dict)
    with torch.no_grad():
        val = F.cross_entropy(module.eval()(torch.as_tensor(wine_splits.X_val)),
                              torch.as_tensor(wine_splits.y_val)).item()
    assert val == pytest.approx(r.history.set_index("epoch").loc[r.best_epoch, "val_loss"], rel=1e-5)


@pytest.mark.parametrize("kind,shape,model,augment", [
    ("table", (6,), "mlp", "noise,mixup"),
    ("image", (1, 8, 8), "cnn2d", "rotate,shift,noise"),
])
def test_members_with_their_own_splits_train_together_as_each_alone_on_its_own(kind, shape, model, augment):
    """Each seed on its own split of one pool (a study's resampled splits) still trains as one
    population; every member sees only its own data, and leaving early moves its data out too."""
    from goodfit.data import Conditions, Dataset, split

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150,) + shape).astype(np.float32)
    y = (np.arange(150) % 3).astype(np.int64)
    pool = Dataset("toy", X, y, kind, ("0", "1", "2"), standardize=(kind == "table"))
    early = EarlyStopping(patience=1, min_delta=0.005)  # on noise a validation loss creeps down, then stops
    arms = [Arm("baseline"), Arm("early", (early,)), Arm("dropout", (Dropout(0.3),)),
            Arm("augment", (Augment.from_names(augment, kind),)), Arm("bn", (BatchNorm(),)), Arm("shrink", (Shrink(0.5),))]
    members = [Member(arm, seed) for arm in arms for seed in (0, 1)]
    own = [split(pool, Conditions(train_size=60), seed=0, resample=m.seed + 10 * i) for i, m in enumerate(members)]
    assert not np.array_equal(own[0].X_train, own[1].X_train)
    spec, config = ModelSpec(model, 16, 2), TrainConfig(epochs=5, batch_size=16)
    together = train(own, members, spec, config)
    assert len(together.members) == len(members)
    for i, member in enumerate(members):
        alone = train(own[i], [member], spec, config).members[0]
        _assert_same_history(together.members[i].history, alone.history)
        assert (together.members[i].best_epoch, together.members[i].stopped_epoch) == (alone.best_epoch, alone.stopped_epoch)
        assert together.members[i].test_loss == pytest.approx(alone.test_loss, rel=2e-4)
    assert any(r.stopped_epoch for r in together.members)  # someone left early, and the others went on right


def test_members_own_splits_must_be_one_per_member_and_of_one_data_set():
    from goodfit.errors import GoodfitError

    a, b = make_splits("table"), make_splits("table", shape=(5,))
    members = [Member(Arm("baseline"), 0), Member(Arm("baseline"), 1)]
    with pytest.raises(GoodfitError, match="2 members"):
        train([a, a, a], members, config=TrainConfig(epochs=1))
    with pytest.raises(GoodfitError, match="sample shape"):
        train([a, b], members, config=TrainConfig(epochs=1))
