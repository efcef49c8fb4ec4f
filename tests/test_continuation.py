"""Training on from where the previous call ended gives the members trained straight through."""
import numpy as np
import pytest
import torch

from goodfit.engine import Member, TrainConfig, train
from goodfit.engine.continuation import Continuation
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay

from conftest import make_splits
from test_engine import ARMS, KINDS, _assert_same_history


def _same(a, b):
    _assert_same_history(a.history, b.history)
    assert (a.best_epoch, a.stopped_epoch, a.diverged) == (b.best_epoch, b.stopped_epoch, b.diverged), a.member.arm.name
    for name, tensor in b.state_dict.items():
        torch.testing.assert_close(a.state_dict[name], tensor, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("kind,shape,model,augment", KINDS)
def test_survivors_trained_on_equal_members_trained_straight_through(kind, shape, model, augment, monkeypatch):
    """Every remedy's state goes on (weights, Adam moments, dropout and augmentation streams, batch-norm
    statistics, early stopping's best copy and patience): 3 epochs, then 4 more for some members,
    then 7 more for fewer, is each member's own 14 epochs."""
    import importlib

    monkeypatch.setattr(importlib.import_module("goodfit.engine.train"), "step_seconds",  # CNNs: together
                        lambda arch, members, *args, **kwargs: float(len(members) == 1) + 1.0)
    splits = make_splits(kind, shape=shape)
    arms = ARMS + [Arm("augment", (Augment.from_names(augment, kind),)),
                   Arm("late", (EarlyStopping(patience=4), Dropout(0.1)))]
    members = [Member(arm, seed) for arm in arms for seed in (0, 1)]
    spec = ModelSpec(model, 16, 2)
    config = TrainConfig(epochs=3, batch_size=16)
    c = Continuation()
    train(splits, members, spec, config, continuation=c)
    second = members[::2] + [Member(Arm("new"), 5)]  # a newcomer trains from the start beside them
    middle = train(splits, second, spec, TrainConfig(epochs=7, batch_size=16), continuation=c)
    assert c.continued + c.reused == len(second) - 1 and c.continued > 0
    third = [Member(Arm(f"renamed-{m.arm.name}", m.arm.remedies), m.seed) for m in second[::2]]
    last = train(splits, third, spec, TrainConfig(epochs=14, batch_size=16), continuation=c)
    assert c.continued + c.reused == len(third)
    straight = train(splits, third, spec, TrainConfig(epochs=14, batch_size=16))
    for ours, theirs in zip(last.members, straight.members):
        assert ours.member == theirs.member  # the new call's names, not the first's
        _same(ours, theirs)
    alone = train(splits, [second[-1]], spec, TrainConfig(epochs=7, batch_size=16)).members[0]
    _same(middle.members[-1], alone)


def test_members_that_stopped_come_back_as_they_were_and_others_train_anew():
    splits = make_splits("table", n=90)
    spec = ModelSpec("mlp", 16, 2)
    early = Member(Arm("early", (EarlyStopping(patience=1),)), 0)
    c = Continuation()
    first = train(splits, [early, Member(Arm("b"), 0)], spec, TrainConfig(epochs=12, batch_size=16), continuation=c)
    assert first.members[0].stopped_epoch is not None  # patience 1 on noise stops early
    again = train(splits, [early], spec, TrainConfig(epochs=30, batch_size=16), continuation=c)
    assert (c.reused, c.continued) == (1, 0)
    assert again.members[0].history.equals(first.members[0].history)
    other = TrainConfig(epochs=30, batch_size=16, lr=3e-3)  # another setting: nothing carries over
    fresh = train(splits, [Member(Arm("b"), 0)], spec, other, continuation=c)
    assert (c.reused, c.continued) == (0, 0)
    _same(fresh.members[0], train(splits, [Member(Arm("b"), 0)], spec, other).members[0])


def test_a_continuation_holds_only_the_calls_given_it():
    """A call without the continuation leaves nothing in it: its member, asked for again, trains from the
    start, while the member of the call that was given it goes on from its epochs."""
    splits = make_splits("table", n=60)
    spec, held, passing = ModelSpec("mlp", 8, 1), Member(Arm("held"), 0), Member(Arm("passing"), 1)
    c = Continuation()
    train(splits, [held], spec, TrainConfig(epochs=2), continuation=c)
    train(splits, [passing], spec, TrainConfig(epochs=2))
    later = train(splits, [held, passing], spec, TrainConfig(epochs=3), continuation=c)
    assert (c.continued, c.reused) == (1, 0)
    straight = train(splits, [held, passing], spec, TrainConfig(epochs=3))
    _same(later.members[0], straight.members[0])
    _same(later.members[1], straight.members[1])
