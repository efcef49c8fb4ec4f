"""Augmentations keep shapes and labels and change inputs by the requested amount."""
import math

import pytest
import torch

import numpy as np

from goodfit.augment import FIELDS, augment_batch, draw, member_streams
from goodfit.remedies import Augment


def _run(augments, kind, x, y=None):
    """One step of `augment_batch` for members given their `Augment` (None: no augmentation)."""
    k, b = x.shape[:2]
    y = torch.zeros(x.shape[:2], dtype=torch.long) if y is None else y
    augments = [a or Augment() for a in augments]
    draws = [draw(a, member_streams(i), 1, b, tuple(x.shape[2:])) for i, a in enumerate(augments)]
    fill = {"noise": np.zeros((1, b) + tuple(x.shape[2:]), np.float32), "lam": np.ones((1, b), np.float32),
            "order": np.arange(b, dtype=np.float32)[None]}
    stacked = {key: torch.from_numpy(np.stack([d.get(key, fill.get(key)) for d in draws]))[:, 0]
               for key in ("uniform", "noise", "lam", "order") if any(key in d for d in draws)}
    strength = {f: torch.tensor([getattr(a, f) for a in augments]) for f in FIELDS}
    return augment_batch(x, y, strength, stacked, kind)


def test_a_members_draws_do_not_depend_on_how_many_steps_are_drawn_at_once():
    a = Augment(noise=0.1, mixup=0.2)
    whole = draw(a, member_streams(5), 6, 8, (3,))
    streams = member_streams(5)
    first, second = draw(a, streams, 2, 8, (3,)), draw(a, streams, 4, 8, (3,))
    for key in whole:
        np.testing.assert_array_equal(whole[key], np.concatenate([first[key], second[key]]))


def test_noise_has_the_requested_standard_deviation_and_spares_other_members():
    x = torch.zeros(2, 64, 50)
    out, y = _run([Augment(noise=0.2), None], "table", x)
    assert out.shape == x.shape and torch.equal(y, torch.zeros(2, 64, dtype=torch.long))
    assert out[0].std().item() == pytest.approx(0.2, rel=0.05)
    assert torch.equal(out[1], x[1])


def test_flip_mirrors_about_the_requested_fraction_of_images():
    x = torch.arange(8.0).repeat(1, 400, 1, 8, 1)[0].unsqueeze(0)  # (1, 400, 1, 8, 8) ramps
    x = x.reshape(1, 400, 1, 8, 8)
    out, _ = _run([Augment(flip=0.5)], "image", x)
    flipped = (out[0, :, 0, 0, 0] == 7).float().mean().item()
    assert flipped == pytest.approx(0.5, abs=0.08)
    assert sorted(out[0, 0, 0, 0].tolist()) == list(range(8))


def test_rotation_stays_within_the_requested_angle():
    img = torch.zeros(1, 1, 1, 33, 33)
    img[..., 16, 16:] = 1.0  # a ray pointing right from the centre
    x = img.expand(1, 200, 1, 33, 33).clone()
    out, _ = _run([Augment(rotate=30)], "image", x)
    ys, xs = torch.meshgrid(torch.arange(33) - 16.0, torch.arange(33) - 16.0, indexing="ij")
    w = out[0, :, 0]  # (200, 33, 33)
    angles = torch.rad2deg(torch.atan2((w * ys).sum((1, 2)), (w * xs).sum((1, 2))))
    assert angles.abs().max().item() <= 31
    assert angles.abs().max().item() >= 20, "angles should spread over the whole range"


def test_shift_moves_sequences_by_at_most_the_requested_fraction():
    x = torch.zeros(1, 300, 40)
    x[..., 20] = 1.0
    out, _ = _run([Augment(shift=0.1)], "sequence", x)
    pos = out[0].argmax(-1).float()
    assert (pos - 20).abs().max().item() <= 4 and (pos != 20).any()
    assert torch.all(out[0].sum(-1) == 1)


def test_zoom_and_shift_change_pixels_but_keep_shape():
    x = torch.rand(1, 16, 1, 8, 8)
    out, _ = _run([Augment(zoom=0.2, shift=0.1)], "image", x)
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_mixup_mixes_inputs_and_returns_both_labels_with_weights():
    x = torch.eye(4).repeat(1, 1, 1)  # (1, 4, 4) one-hot rows
    y = torch.arange(4)[None]
    out, (ya, yb, lam) = _run([Augment(mixup=0.4)], "table", x, y)
    assert torch.equal(ya, y) and sorted(yb[0].tolist()) == [0, 1, 2, 3]
    expected = lam[0, :, None] * x[0] + (1 - lam[0, :, None]) * x[0][yb[0]]
    torch.testing.assert_close(out[0], expected)
    assert ((lam > 0) & (lam < 1)).all()


def test_augmentations_that_do_not_fit_the_data_kind_are_refused():
    from goodfit.errors import GoodfitError

    with pytest.raises(GoodfitError, match="does not apply to table data"):
        Augment.from_names("rotate", "table")
    with pytest.raises(GoodfitError, match="does not apply to sequence"):
        Augment(rotate=10).check_kind("sequence")
    assert math.isclose(Augment.from_names("rotate=20", "image").rotate, 20)


@pytest.mark.parametrize("kind,sample,augment", [
    ("image", (1, 8, 8), Augment(rotate=15, flip=0.5, zoom=0.1, shift=0.1, noise=0.05)),
    ("sequence", (1, 20), Augment(shift=0.2, noise=0.1)),
    ("table", (5,), Augment(noise=0.1)),
])
def test_a_whole_block_transformed_at_once_is_each_step_transformed_alone(kind, sample, augment):
    """The engine changes a block of steps' samples in one pass: every sample as its step alone would
    change it, the short last step included."""
    from goodfit.augment import transform

    steps, batch, k = 3, 4, 2
    draws = [draw(augment, member_streams(s), steps, batch, sample) for s in range(k)]
    stacked = {key: torch.from_numpy(np.stack([d[key] for d in draws])) for key in draws[0]}  # (k, steps, batch, ...)
    strength = {f: torch.tensor([getattr(augment, f), getattr(augment, f) / 2]) for f in FIELDS}
    x = torch.randn((k, steps * batch - 1) + sample)  # the last step one sample short
    n = x.shape[1]
    block = transform(x, strength, {key: v.reshape((k, -1) + v.shape[3:])[:, :n] for key, v in stacked.items()}, kind)
    for s in range(steps):
        part = x[:, s * batch:(s + 1) * batch]
        alone, _ = augment_batch(part, torch.zeros(part.shape[:2], dtype=torch.long), strength,
                                 {key: v[:, s, :part.shape[1]] for key, v in stacked.items()}, kind)
        torch.testing.assert_close(block[:, s * batch:(s + 1) * batch], alone, rtol=1e-6, atol=1e-6)
