"""The user's training reaches every member: their optimizer, scheduler, clipping, frozen and pretrained weights.

Each stacked optimizer and scheduler is held to torch's own class, member by member, on a plain PyTorch
loop with the same initial weights, data order, optimizer and scheduler: what a user would write.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler as S

from goodfit.engine import Member, TrainConfig, member_settings, train
from goodfit.errors import GoodfitError
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, WeightDecay

from conftest import make_splits

SPLITS = make_splits("table", n=96, shape=(6,), classes=3)
SPEC = ModelSpec("mlp", 16, 2)
EPOCHS, BATCH = 4, 16


def plain_loop(result, member: Member, splits, make_opt, make_sched=None, interval="epoch", clip=None,
               epochs=EPOCHS, batch=BATCH, before_step=None):
    """The member trained again by the loop a user writes, from the engine's initial weights and data order.
    Returns the module and the rate each epoch began with."""
    net = result.architecture.make_net([member_settings(member)], "cpu")
    module = net.to_module(0).train()
    opt = make_opt(module)
    sched = make_sched(opt) if make_sched else None
    X, y = torch.as_tensor(splits.X_train), torch.as_tensor(splits.y_train)
    X_val, y_val = torch.as_tensor(splits.X_val), torch.as_tensor(splits.y_val)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        module.train()
        order = torch.randperm(len(y), generator=net.generators[0])
        for s in range(0, len(y), batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            F.cross_entropy(module(X[idx]), y[idx]).backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
            if before_step is not None:
                before_step(module, opt)
            opt.step()
            if sched is not None and interval == "step":
                sched.step()
        if sched is not None and interval == "epoch":
            if isinstance(sched, S.ReduceLROnPlateau):
                with torch.no_grad():
                    sched.step(F.cross_entropy(module.eval()(X_val), y_val).item())
            else:
                sched.step()
    return module.eval(), rates


def assert_same(ours, module, rtol=2e-4, atol=2e-5):
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(ours.state_dict[name], tensor, rtol=rtol, atol=atol, msg=name)


def run_and_compare(members, config, make_opt, make_sched=None, interval="epoch", clip=None, splits=SPLITS,
                    spec=SPEC, **tolerance):
    """Train `members` together, then each again on a plain loop; weights and the `lr` column must agree."""
    got = train(splits, members, spec, config)
    for member, ours in zip(members, got.members):
        module, rates = plain_loop(ours, member, splits, lambda m: make_opt(m, member), make_sched, interval, clip,
                                   epochs=config.epochs, batch=config.batch_size)
        assert_same(ours, module, **tolerance)
        np.testing.assert_allclose(ours.history["lr"], rates, rtol=1e-6)
    return got


OPTIMIZERS = {  # a name, the user's optimizer with two settings members differ by
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.8, nesterov=True),
    "sgd-dampening": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.5, dampening=0.3),
    "sgd-plain": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.8, 0.99), weight_decay=1e-3),
    "adam-amsgrad": lambda params, lr: torch.optim.Adam(params, lr=lr, amsgrad=True),
    "adamw": lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=0.05),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr, alpha=0.9, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_stacked_optimizer_moves_every_member_as_torch_class_does(name):
    make, lr = OPTIMIZERS[name], 1e-2
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, optimizer=lambda params: make(params, lr))
    members = [Member(Arm("a"), 0), Member(Arm("a"), 1), Member(Arm("a"), 2, lr=3e-3)]  # one at its own rate
    run_and_compare(members, config, lambda module, m: make(module.parameters(), m.lr or lr))


@pytest.mark.parametrize("spelled,torch_class,settings", [
    ("sgd", torch.optim.SGD, {"momentum": 0.9}), ("adam", torch.optim.Adam, {}), ("adamw", torch.optim.AdamW, {}),
    ("rmsprop", torch.optim.RMSprop, {}),
])
def test_spelled_optimizers_are_torch_classes_with_torch_defaults(spelled, torch_class, settings):
    config = TrainConfig(epochs=2, batch_size=BATCH, lr=5e-3, optimizer=spelled)
    run_and_compare([Member(Arm("a"), 3)], config,
                    lambda module, m: torch_class(module.parameters(), lr=5e-3, **settings))


SCHEDULERS = {  # a name, the user's scheduler, its interval
    "step": (lambda opt: S.StepLR(opt, step_size=2, gamma=0.5), "epoch"),
    "multistep": (lambda opt: S.MultiStepLR(opt, milestones=[1, 3], gamma=0.3), "epoch"),
    "exponential": (lambda opt: S.ExponentialLR(opt, gamma=0.7), "epoch"),
    "cosine": (lambda opt: S.CosineAnnealingLR(opt, T_max=EPOCHS), "epoch"),
    "cosine-per-step": (lambda opt: S.CosineAnnealingLR(opt, T_max=EPOCHS * 6), "step"),
    "warmup-then-cosine": (lambda opt: S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.25, total_iters=2),
                                                            S.CosineAnnealingLR(opt, T_max=2)], milestones=[2]), "epoch"),
    "lambda": (lambda opt: S.LambdaLR(opt, lambda epoch: 1 / (1 + epoch)), "epoch"),
    "onecycle": (lambda opt: S.OneCycleLR(opt, max_lr=1e-2, total_steps=EPOCHS * 6), "step"),
    "plateau": (lambda opt: S.ReduceLROnPlateau(opt, factor=0.5, patience=0), "epoch"),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_each_scheduler_sets_every_members_rate_as_torch_does(name):
    make_sched, interval = SCHEDULERS[name]
    make_opt = lambda params: torch.optim.Adam(params, lr=1e-2)  # noqa: E731 - betas cycled by OneCycleLR
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, optimizer=make_opt, scheduler=make_sched,
                         scheduler_interval=interval)
    members = [Member(Arm("a"), 0), Member(Arm("a"), 1)]
    if name not in ("onecycle", "plateau"):  # a rate of its own scales a multiplicative schedule
        members.append(Member(Arm("a"), 2, lr=4e-3))
    run_and_compare(members, config, lambda module, m: torch.optim.Adam(module.parameters(), lr=m.lr or 1e-2),
                    make_sched, interval)


def test_plateau_follows_each_members_own_validation_loss():
    config = TrainConfig(epochs=8, batch_size=BATCH, optimizer=lambda p: torch.optim.SGD(p, lr=0.5),
                         scheduler=lambda opt: S.ReduceLROnPlateau(opt, factor=0.1, patience=0))
    got = train(SPLITS, [Member(Arm("a"), 0), Member(Arm("a"), 1)], SPEC, config)
    histories = [m.history for m in got.members]
    for h in histories:  # each member's rate falls the epoch after its own validation loss did not improve
        best = h["val_loss"].cummin().shift(1)
        worse = (h["val_loss"] >= best)[:-1].to_numpy()
        cuts = (h["lr"].to_numpy()[1:] < h["lr"].to_numpy()[:-1])
        np.testing.assert_array_equal(cuts, worse)


@pytest.mark.parametrize("factory", ["mlp", "cnn", "frozen"])
def test_adamw_cosine_warmup_and_clipping_match_a_plain_pytorch_loop(factory):
    """The contract: one member trained by goodfit with AdamW, cosine after a linear warm-up and clipping equals
    the user's module trained by a plain loop with the same optimizer, scheduler, seed and data order."""
    splits, spec = SPLITS, SPEC
    if factory == "cnn":
        splits, spec = make_splits("sequence", n=64, shape=(16,)), _conv
    elif factory == "frozen":
        spec = _pretrained
    make_opt = lambda params: torch.optim.AdamW(params, lr=3e-3, weight_decay=0.05)  # noqa: E731
    make_sched = lambda opt: S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.2, total_iters=2),  # noqa: E731
                                                  S.CosineAnnealingLR(opt, T_max=3)], milestones=[2])
    config = TrainConfig(epochs=5, batch_size=BATCH, optimizer=make_opt, scheduler=make_sched, clip_grad=0.5)
    run_and_compare([Member(Arm("a"), 4), Member(Arm("a"), 7)], config,
                    lambda module, m: make_opt([p for p in module.parameters() if p.requires_grad]), make_sched,
                    clip=0.5, splits=splits, spec=spec)


def _conv():
    return nn.Sequential(nn.Unflatten(1, (1, 16)), nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(56, 3))


PRETRAINED = torch.Generator().manual_seed(123)
BACKBONE = {"weight": torch.randn(32, 6, generator=PRETRAINED), "bias": torch.randn(32, generator=PRETRAINED)}


def _pretrained():
    """A fine-tuning model: a "pretrained" backbone loaded and frozen, a new head drawn by the seed."""
    backbone = nn.Linear(6, 32)
    backbone.load_state_dict(BACKBONE)
    backbone.requires_grad_(False)
    return nn.Sequential(backbone, nn.ReLU(), nn.Linear(32, 3))


def test_frozen_pretrained_layer_stays_bit_for_bit_and_is_not_counted_as_trained():
    arms = [Arm("baseline"), Arm("l2", (WeightDecay(0.1),)), Arm("decay", (WeightDecay(0.1, decoupled=True),))]
    got = train(SPLITS, [Member(a, s) for a in arms for s in (0, 1)], _pretrained,
                TrainConfig(epochs=3, batch_size=BATCH, optimizer="adamw", clip_grad=1.0))
    heads = []
    for m in got.members:
        assert torch.equal(m.state_dict["0.weight"], BACKBONE["weight"])
        assert torch.equal(m.state_dict["0.bias"], BACKBONE["bias"])
        assert m.num_params == 32 * 3 + 3 and m.frozen_params == 32 * 6 + 32
        heads.append(m.state_dict["2.weight"])
    assert not torch.equal(heads[0], heads[1]), "the seed draws the new head"


def test_parameter_groups_from_a_model_taking_optimizer_keep_their_own_rates():
    def make_opt(model):
        return torch.optim.SGD([{"params": model[0].parameters(), "lr": 1e-3},
                                {"params": model[2].parameters()}], lr=5e-2, momentum=0.9)

    def make_sched(opt):
        return S.StepLR(opt, step_size=1, gamma=0.5)

    factory = lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))  # noqa: E731
    config = TrainConfig(epochs=3, batch_size=BATCH, optimizer=make_opt, scheduler=make_sched)
    got = run_and_compare([Member(Arm("a"), 0), Member(Arm("a"), 1)], config, lambda module, m: make_opt(module),
                          make_sched, spec=factory)
    assert got.members[0].history["lr"].tolist() == [1e-3, 5e-4, 2.5e-4]  # the first group's, as logged


def test_decay_arm_adds_to_the_optimizers_own_decay():
    arm = Arm("decay", (WeightDecay(0.2, decoupled=True),))
    make_opt = lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.05)  # noqa: E731
    config = TrainConfig(epochs=3, batch_size=BATCH, optimizer=make_opt,
                         scheduler=lambda opt: S.ExponentialLR(opt, gamma=0.5))
    ours = train(SPLITS, [Member(arm, 0)], SPEC, config).members[0]

    def arm_decay(module, opt):  # the arm's own shrink, at the rate of the moment, before AdamW's step
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.endswith("weight"):
                    p.mul_(1 - opt.param_groups[0]["lr"] * 0.2)

    net = ours.architecture.make_net([member_settings(Member(arm, 0))], "cpu")
    module, _ = plain_loop(ours, Member(arm, 0), SPLITS, lambda m: make_opt(m.parameters()),
                           lambda opt: S.ExponentialLR(opt, gamma=0.5), epochs=3, before_step=arm_decay)
    assert net is not None
    assert_same(ours, module)


def test_an_optimizer_goodfit_does_not_stack_trains_each_member_alone_and_says_so():
    make_opt = lambda params: torch.optim.Adagrad(params, lr=0.05)  # noqa: E731
    config = TrainConfig(epochs=2, batch_size=BATCH, optimizer=make_opt, scheduler=lambda o: S.StepLR(o, 1, 0.5))
    got = run_and_compare([Member(Arm("a"), 0), Member(Arm("a"), 1)], config, lambda m, _: make_opt(m.parameters()),
                          lambda o: S.StepLR(o, 1, 0.5))
    assert any("Adagrad is not one goodfit stacks" in n for n in got.notes)


def test_spelled_schedule_and_clipping_are_the_same_route_as_the_users_own():
    spelled = TrainConfig(epochs=6, batch_size=BATCH, optimizer="adamw", lr=2e-3, scheduler="cosine", warmup=2,
                          clip_grad=1.0)
    own = TrainConfig(epochs=6, batch_size=BATCH, optimizer=lambda p: torch.optim.AdamW(p, lr=2e-3),
                      scheduler=lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1 / 3, total_iters=2),
                                                             S.CosineAnnealingLR(o, T_max=4)], milestones=[2]),
                      clip_grad=1.0)
    a, b = (train(SPLITS, [Member(Arm("a"), 0)], SPEC, c).members[0] for c in (spelled, own))
    np.testing.assert_allclose(a.history["lr"], b.history["lr"], rtol=1e-12)
    for name, tensor in a.state_dict.items():
        assert torch.equal(tensor, b.state_dict[name])


def test_history_records_a_constant_rate_too():
    got = train(SPLITS, [Member(Arm("a"), 0), Member(Arm("a"), 1, lr=3e-3)], SPEC, TrainConfig(epochs=2))
    assert got.members[0].history["lr"].tolist() == [1e-3, 1e-3]
    assert got.members[1].history["lr"].tolist() == [3e-3, 3e-3]


@pytest.mark.parametrize("settings,words", [
    ({"optimizer": lambda params: "adam"}, "returned a str, not a torch.optim optimizer"),
    ({"optimizer": lambda params: torch.optim.SGD(params, lr=-1)}, "failed on the model's parameters"),
    ({"optimizer": lambda p: torch.optim.Adam(p), "lr": 0.1}, "give it in the optimizer (lr=...)"),
    ({"optimizer": "adam", "momentum": 0.9}, "momentum is SGD's and RMSprop's"),
    ({"optimizer": "lion"}, "optimizer 'lion' is unknown"),
    ({"scheduler": "linear"}, "schedule 'linear' is unknown"),
    ({"scheduler": "cosine", "warmup": 4}, "fewer than the 4 epochs"),
    ({"scheduler": lambda opt: 3}, "returned a int, not a torch.optim.lr_scheduler"),
    ({"clip_grad": 0}, "gradient clipping needs a norm > 0"),
])
def test_settings_that_cannot_run_are_refused_in_one_line(settings, words):
    with pytest.raises(GoodfitError) as err:
        config = TrainConfig(epochs=4, **settings)
        train(SPLITS, [Member(Arm("a"), 0)], SPEC, config)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("scheduler", ["plateau", "cosine-per-step"])
def test_members_leaving_early_leave_the_others_schedules_as_they_were(scheduler):
    from goodfit.remedies import EarlyStopping

    make_sched, interval = SCHEDULERS[scheduler]
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, optimizer=lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9),
                         scheduler=make_sched, scheduler_interval=interval)
    members = [Member(Arm("es", (EarlyStopping(patience=1),)), 0), Member(Arm("a"), 1), Member(Arm("a"), 2, lr=0.1)]
    together = train(SPLITS, members, SPEC, config).members
    assert together[0].stopped_epoch is not None and together[0].stopped_epoch < EPOCHS, "the test needs one to leave"
    for member, ours in zip(members, together):
        alone = train(SPLITS, [member], SPEC, config).members[0]
        np.testing.assert_allclose(ours.history["lr"], alone.history["lr"], rtol=1e-12)
        assert_same(ours, _as_module(alone))


def _as_module(result):
    module = result.architecture.build()
    module.load_state_dict(result.state_dict)
    return module
