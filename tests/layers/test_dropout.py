"""`StackedDropout` applies the masks handed to its `MemberDropout` site, member by member, in either layout:
with the kept units torch's own dropout layer drew, it computes what that layer computes; in eval mode it
passes its input on. A module with its own dropout layers trains in a crowd as alone, at each member's rate."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from goodfit.errors import GoodfitError
from goodfit.nn.layers import MemberDropout, StackedDropout
from goodfit.nn.layers.dropout import SELU_ALPHA
from goodfit.nn.stacked import MEMBER, Pass, to_layout, to_member

from conftest import make_splits
from layers.reference import K, assert_trains_in_a_crowd_as_alone

KINDS = {"dropout": nn.Dropout, "dropout1d": nn.Dropout1d, "dropout2d": nn.Dropout2d, "alpha": nn.AlphaDropout,
         "feature-alpha": nn.FeatureAlphaDropout}
SAMPLES = {nn.Dropout: (4, 6), nn.Dropout1d: (4, 6), nn.Dropout2d: (4, 3, 5), nn.AlphaDropout: (4, 6),
           nn.FeatureAlphaDropout: (4, 3, 5)}


def _site(layer: nn.Module, masks: list[tuple]) -> MemberDropout:
    """A dropout site as the population leaves it before a pass: this pass's masks handed over, none used yet."""
    site = MemberDropout(layer)
    site.hand(masks)
    return site


def _stacked(site: MemberDropout, x: torch.Tensor, layout: str, train: bool = True) -> torch.Tensor:
    """The site's counterpart on member inputs `x (K, B, ...)` handed over in `layout`; output in member layout."""
    out = StackedDropout([site])(to_layout(x, MEMBER, layout, K), layout, {}, {}, Pass(train=train, K=K))
    return to_member(out, layout, K)


def _inputs(sample: tuple, batch: int = 5) -> torch.Tensor:
    return torch.randn((K, batch) + sample, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("kind", [nn.Dropout, nn.Dropout1d, nn.Dropout2d], ids=["dropout", "dropout1d", "dropout2d"])
@pytest.mark.parametrize("layout", StackedDropout.layouts)
def test_stacked_dropout_multiplies_each_member_by_its_own_mask(kind, layout):
    site = MemberDropout(kind(0.5))
    x = _inputs(SAMPLES[kind]).requires_grad_(True)
    shape = (K, x.shape[1]) + site.mask_shape(tuple(x.shape[2:]))
    keep = torch.rand(shape, generator=torch.Generator().manual_seed(1)) > 0.5
    mask = keep.float() * 2.0
    out = _stacked(_site(kind(0.5), [(mask,)]), x, layout)
    torch.testing.assert_close(out, x * mask, rtol=0, atol=0)
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
    (grad,) = torch.autograd.grad((out * cotangent).sum(), x)
    torch.testing.assert_close(grad, cotangent * mask, rtol=0, atol=0)


@pytest.mark.parametrize("kind", [nn.AlphaDropout, nn.FeatureAlphaDropout], ids=["alpha", "feature-alpha"])
@pytest.mark.parametrize("layout", StackedDropout.layouts)
def test_stacked_alpha_dropout_scales_and_shifts_each_member(kind, layout):
    x = _inputs(SAMPLES[kind])
    site = MemberDropout(kind(0.3))
    shape = (K, x.shape[1]) + site.mask_shape(tuple(x.shape[2:]))
    scale, shift = (torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in (1, 2))
    out = _stacked(_site(kind(0.3), [(scale, shift)]), x, layout)
    torch.testing.assert_close(out, x * scale + shift, rtol=1e-6, atol=1e-6)


def _kept_by_torch(layer: nn.Module, x: torch.Tensor, out: torch.Tensor, mask_shape: tuple) -> np.ndarray:
    """Which units (or channels) torch's own dropout layer kept, read off its output for input `x`."""
    if isinstance(layer, (nn.AlphaDropout, nn.FeatureAlphaDropout)):
        p = layer.p
        a = 1 / math.sqrt((SELU_ALPHA ** 2 * p + 1) * (1 - p))
        dropped = torch.isclose(out, torch.tensor((p - 1) * SELU_ALPHA * a), rtol=0, atol=1e-6)  # the dropped value
    else:
        dropped = (out == 0) & (x != 0)
    kept = ~dropped
    dims = tuple(d for d in range(1, kept.dim()) if mask_shape[d - 1] == 1)
    return (kept.all(dim=dims, keepdim=True) if dims else kept).numpy()


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
@pytest.mark.parametrize("layout", StackedDropout.layouts)
def test_with_the_units_torch_kept_stacked_dropout_computes_torchs_dropout(kind, layout):
    x = _inputs(SAMPLES[kind], batch=8)
    site = MemberDropout(kind(0.4))
    mask_shape = site.mask_shape(tuple(x.shape[2:]))
    want, kept = [], []
    for k in range(K):
        layer = kind(0.4).train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(100 + k)
            want.append(layer(x[k]))
        kept.append(_kept_by_torch(layer, x[k], want[-1], mask_shape))
    keep = np.stack(kept)  # (K, B, *mask shape)
    assert 0 < keep.mean() < 1
    engine_mask = torch.from_numpy(keep).float() / 0.6  # as the engine draws it: 0, or 1 / keep-probability
    masks = site.scale_and_shift(engine_mask, torch.full((K,), 0.4))
    out = _stacked(_site(kind(0.4), [masks]), x, layout)
    torch.testing.assert_close(out, torch.stack(want), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", StackedDropout.layouts)
def test_in_eval_mode_or_without_masks_stacked_dropout_passes_its_input_on(layout):
    x = _inputs((4, 6))
    mask = torch.zeros(K, 5, 4, 6)
    assert torch.equal(_stacked(_site(nn.Dropout(0.5), [(mask,)]), x, layout, train=False), x)
    assert torch.equal(_stacked(_site(nn.Dropout(0.5), []), x, layout), x)


def test_a_site_uses_its_masks_in_call_order_and_refuses_a_call_beyond_them():
    x = _inputs((6,))
    first, second = torch.full((K, 5, 6), 2.0), torch.full((K, 5, 6), 3.0)
    site = _site(nn.Dropout(0.5), [(first,), (second,)])
    layer = StackedDropout([site])
    ctx = Pass(train=True, K=K)
    assert torch.equal(layer(x, MEMBER, {}, {}, ctx), 2 * x)
    assert torch.equal(layer(x, MEMBER, {}, {}, ctx), 3 * x)
    with pytest.raises(GoodfitError, match="ran more than 2 times in one forward pass"):
        layer(x, MEMBER, {}, {}, ctx)


class DropoutNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(6, 32), nn.Linear(32, 32), nn.Linear(32, 3)
        self.drop, self.alpha = nn.Dropout(0.3), nn.AlphaDropout(0.2)

    def forward(self, x):
        x = self.drop(torch.relu(self.fc1(x)))
        return self.head(self.alpha(torch.selu(self.fc2(x))))


def test_a_module_with_its_own_dropout_trains_in_a_crowd_as_alone(monkeypatch):
    assert_trains_in_a_crowd_as_alone(DropoutNet, make_splits("table"), StackedDropout, monkeypatch)
