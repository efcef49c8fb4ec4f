"""`StackedEmbedding` computes what each member's own `nn.Embedding` does, its padding row getting no gradient
as in torch, and a module that embeds integer-valued inputs trains in a crowd as alone."""
import numpy as np
import pytest
import torch
from torch import nn

from goodfit.data import Conditions, Dataset, split
from goodfit.nn.layers import StackedEmbedding, Unstackable

from layers.reference import (K, assert_matches_torch, assert_trains_in_a_crowd_as_alone, module_net, randomized,
                              run_stacked)

SETTINGS = {"plain": {}, "padding": {"padding_idx": 2}, "negative-padding": {"padding_idx": -1},
            "grad-by-frequency": {"scale_grad_by_freq": True, "padding_idx": 0}}


def _indices(shape: tuple, vocabulary: int = 10) -> torch.Tensor:
    return torch.randint(vocabulary, (K,) + shape, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("sample", [(), (6,), (3, 4)], ids=["B", "B-L", "B-L-M"])
def test_stacked_embedding_matches_each_members_embedding(setting, sample):
    layers = [nn.Embedding(10, 4, **setting) for _ in range(K)]
    assert_matches_torch(StackedEmbedding, layers, _indices((12,) + sample))


def test_a_padding_vector_set_by_the_user_is_looked_up_as_in_torch():
    """torch zeroes the padding row of a new embedding, but a user may set it (a whole-table init does)."""
    layers = [randomized(nn.Embedding(10, 4, padding_idx=3), seed) for seed in range(K)]
    assert all(layer.weight[3].abs().sum() > 0 for layer in layers)
    assert_matches_torch(StackedEmbedding, layers, _indices((12, 6)))


def test_the_padding_row_gets_no_gradient():
    layers = [nn.Embedding(10, 4, padding_idx=2) for _ in range(K)]
    x = _indices((12, 6))
    assert (x == 2).any(dim=(1, 2)).all()
    _, _, grads, _ = run_stacked(StackedEmbedding, layers, x, torch.ones(K, 12, 6, 4), train=True, layout="member")
    assert torch.equal(grads["weight"][:, 2], torch.zeros(K, 4))
    assert (grads["weight"].abs().sum(-1) > 0).sum() > K  # other rows do get one


class PaddedBag(nn.Module):
    """Its whole table drawn at random, the padding row included, as `nn.init.normal_` on the weight does."""

    def __init__(self):
        super().__init__()
        self.embed, self.head = nn.Embedding(8, 6, padding_idx=3), nn.Linear(6, 3)
        nn.init.normal_(self.embed.weight)

    def forward(self, x):
        return self.head(self.embed(x.long()).mean(1))


def test_a_converted_module_reads_the_padding_vector_the_users_module_reads():
    net = module_net(PaddedBag, _token_splits())
    assert net.path == "converted"
    x = torch.tensor([[3.0] * 12, [3.0, 1.0] * 6])
    predicted = net.predict(x)
    with torch.no_grad():
        for k in range(K):
            torch.testing.assert_close(predicted[k], net.to_module(k)(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("setting", [{"max_norm": 1.0}, {"sparse": True}], ids=["max-norm", "sparse"])
def test_an_embedding_with_max_norm_or_sparse_gradients_is_not_stacked(setting):
    with pytest.raises(Unstackable, match="max_norm or sparse"):
        StackedEmbedding([nn.Embedding(10, 4, **setting) for _ in range(K)])


class BagOfTokens(nn.Module):
    """Float inputs holding token ids: embedded, averaged over positions, classified."""

    def __init__(self):
        super().__init__()
        self.embed, self.head = nn.Embedding(8, 6, padding_idx=0), nn.Linear(6, 3)

    def forward(self, x):  # (B, L) of integer-valued floats
        return self.head(self.embed(x.long()).mean(1))


def _token_splits(n: int = 120, length: int = 12, classes: int = 3):
    """Sequences of token ids 0..7 as floats; a class shows in which tokens are common."""
    rng = np.random.default_rng(0)
    y = (np.arange(n) % classes).astype(np.int64)
    X = rng.integers(0, 5, size=(n, length)) + (rng.random((n, length)) < 0.5) * y[:, None]
    return split(Dataset("tokens", X.astype(np.float32), y, "sequence", tuple(map(str, range(classes))),
                         standardize=False), Conditions(), 0)


def test_a_module_that_embeds_tokens_trains_in_a_crowd_as_alone(monkeypatch):
    splits = _token_splits()
    assert splits.X_train.min() >= 0 and np.array_equal(splits.X_train, np.round(splits.X_train))
    assert_trains_in_a_crowd_as_alone(BagOfTokens, splits, StackedEmbedding, monkeypatch)
