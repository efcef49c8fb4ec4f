"""Dropout masks hashed on the device: the same contracts as the host's, checked on the CPU."""
import numpy as np
import pytest
import torch

from goodfit.engine import Member, TrainConfig, train
from goodfit.engine import dropout as engine_dropout
from goodfit.engine.dropout import DropoutState, _hash32, counter_masks
from goodfit.nn.dropout import dropout_threshold
from goodfit.models import ModelSpec
from goodfit.remedies import Arm, Dropout

from conftest import make_splits

SIZES = [64, 64]  # two hidden layers of 64 units


def _state(*members: tuple[int, float]) -> DropoutState:
    """The dropout piece's state for members given as (seed, rate), one rate for both layers."""
    return DropoutState([s for s, _ in members], np.array([[dropout_threshold(r)] * len(SIZES) for _, r in members]),
                        [np.random.SFC64([s, 11]) for s, _ in members], SIZES)


def _counter_masks(state: DropoutState, first_step: int, steps: int, batch: int):
    return counter_masks(state, first_step, steps, batch, torch.device("cpu"))


def _lowbias32(x: np.ndarray) -> np.ndarray:
    """The reference, on unsigned 32-bit numpy integers, whose arithmetic wraps by definition."""
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def test_the_hash_matches_the_unsigned_reference_bit_for_bit():
    x = np.random.default_rng(0).integers(0, 2 ** 32, 100_000, dtype=np.uint64).astype(np.uint32)
    x[:4] = [0, 1, 2 ** 31, 2 ** 32 - 1]
    ours = _hash32(torch.from_numpy(x.view(np.int32).copy())).numpy().view(np.uint32)
    np.testing.assert_array_equal(ours, _lowbias32(x))


def test_a_members_masks_are_its_own_whoever_else_trains_and_however_many_steps_are_drawn():
    alone = _state((7, 0.3))
    crowd = _state((1, 0.5), (7, 0.3), (2, 0.0))
    whole = _counter_masks(alone, first_step=10, steps=6, batch=8)
    within = _counter_masks(crowd, first_step=10, steps=6, batch=8)
    halves = [_counter_masks(alone, first_step=f, steps=3, batch=8) for f in (10, 13)]
    for layer in range(2):
        assert torch.equal(whole[layer][0], within[layer][1])
        assert torch.equal(whole[layer], torch.cat([h[layer] for h in halves], 1))
    assert torch.equal(within[0][2], torch.ones_like(within[0][2]))  # no dropout: every unit kept, scale 1
    assert not torch.equal(whole[0][0, 0], whole[0][0, 1])  # a new mask every step


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_the_hashed_masks_drop_the_rate_and_scale_the_rest(rate):
    net = _state(*[(s, rate) for s in range(4)])
    masks = torch.cat(_counter_masks(net, first_step=0, steps=50, batch=32), -1)  # 4 x 50 x 32 x 128 units
    dropped = (masks == 0).float().mean().item()
    assert dropped == pytest.approx(rate, abs=0.005)
    kept = masks[masks > 0]
    assert torch.all(kept == kept[0]) and kept[0].item() == pytest.approx(1 / (1 - rate), rel=1e-4)
    # members with different seeds drop units independently: two differ where one alone drops, 2r(1-r) of the time
    for a, b in ((0, 1), (2, 3)):
        assert (masks[a] != masks[b]).float().mean().item() == pytest.approx(2 * rate * (1 - rate), abs=0.005)


def test_a_population_trained_with_hashed_masks_matches_each_member_alone(monkeypatch):
    monkeypatch.setattr(engine_dropout, "COUNTER_MASK_DEVICES", ("cpu",))
    splits = make_splits("table", shape=(6,))
    members = [Member(Arm(f"d{r}", (Dropout(r),) if r else ()), seed) for r in (0.0, 0.3, 0.5) for seed in (0, 1)]
    spec, config = ModelSpec("mlp", 16, 2), TrainConfig(epochs=4, batch_size=16)
    together = train(splits, members, spec, config)
    for i in (1, 3, 4):
        alone = train(splits, [members[i]], spec, config)
        np.testing.assert_allclose(together.members[i].history["val_loss"], alone.members[0].history["val_loss"],
                                   rtol=2e-4, atol=2e-5)
    monkeypatch.setattr(engine_dropout, "COUNTER_MASK_DEVICES", ())
    on_host = train(splits, members[3:4], spec, config)
    # the device's masks are not the host's, but drop as much: same member, a different curve of the same kind
    assert not np.allclose(on_host.members[0].history["train_loss"], together.members[3].history["train_loss"])
