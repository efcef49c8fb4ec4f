"""Label smoothing and class weights: they change training the way they should, and only for their members."""
import numpy as np
import pytest
import torch

from goodfit.data import Conditions, load, split
from goodfit.engine import Member, TrainConfig, train
from goodfit.engine.class_weights import inverse_frequency
from goodfit.errors import GoodfitError
from goodfit.grammar import parse_arm
from goodfit.models import ModelSpec
from goodfit.nn.losses import Loss, target_weights
from goodfit.remedies import Arm, ClassWeights, LabelSmoothing


def _probabilities(result, X: np.ndarray) -> np.ndarray:
    module = result.architecture.build()
    module.load_state_dict(result.state_dict)
    with torch.no_grad():
        return torch.softmax(module(torch.as_tensor(X)), -1).numpy()


@pytest.fixture(scope="module")
def imbalanced():
    """Digits with the last classes cut to a twentieth of the first (106 down to 5 training images)."""
    return split(load("digits"), Conditions(imbalance=0.05), seed=0)


@pytest.fixture(scope="module")
def trained(imbalanced):
    arms = [Arm("baseline"), parse_arm("class_weights", "image"), parse_arm("class_weights=balanced", "image"),
            parse_arm("label_smoothing=0.2", "image")]
    members = [Member(a, seed) for a in arms for seed in (0, 1)]
    result = train(imbalanced, members, ModelSpec("mlp"), TrainConfig(epochs=12))
    return {name: [r for r in result.members if r.member.arm.name == name] for name in (a.name for a in arms)}


def _recall_of_rare_classes(results, s) -> float:
    rare = np.arange(7, 10)  # 10, 7 and 5 training images
    recalls = []
    for r in results:
        pred = _probabilities(r, s.X_test.reshape(len(s.X_test), -1)).argmax(1)
        recalls.append(np.mean([(pred[s.y_test == c] == c).mean() for c in rare]))
    return float(np.mean(recalls))


def test_class_weights_raise_the_recall_of_cut_down_classes(trained, imbalanced):
    base = _recall_of_rare_classes(trained["baseline"], imbalanced)
    for name in ("class_weights", "class_weights=balanced"):
        weighted = _recall_of_rare_classes(trained[name], imbalanced)
        assert weighted > base + 0.05, (name, weighted, base)


def test_label_smoothing_keeps_the_model_from_certainty(trained, imbalanced):
    amount, C = 0.2, imbalanced.num_classes
    most = 1 - amount + amount / C  # the probability that minimizes the smoothed loss
    X = imbalanced.X_train.reshape(len(imbalanced.X_train), -1)
    smoothed = np.mean([_probabilities(r, X).max(1).mean() for r in trained["label_smoothing=0.2"]])
    plain = np.mean([_probabilities(r, X).max(1).mean() for r in trained["baseline"]])
    assert smoothed < most + 0.02 < plain, (smoothed, most, plain)


def test_a_member_trains_as_it_would_alone_next_to_members_with_label_remedies(imbalanced):
    arms = [Arm("baseline"), Arm("w", (ClassWeights(),)), Arm("b", (ClassWeights("balanced"),)),
            Arm("s", (LabelSmoothing(0.1),))]
    together = train(imbalanced, [Member(a, 3) for a in arms], ModelSpec("mlp"), TrainConfig(epochs=2))
    for arm, got in zip(arms, together.members):
        alone = train(imbalanced, [Member(arm, 3)], ModelSpec("mlp"), TrainConfig(epochs=2)).members[0]
        np.testing.assert_allclose(got.history["val_loss"], alone.history["val_loss"], rtol=1e-5)
    assert together.members[0].history["val_loss"].tolist() == train(
        imbalanced, [Member(arms[0], 3)], ModelSpec("mlp"), TrainConfig(epochs=2)).members[0].history["val_loss"].tolist()


def test_one_hot_target_weights_give_the_labels_loss_bit_for_bit():
    out, y = torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([[0, 1, 2, 3, 0]] * 2)
    (a, ga), (b, gb) = (_loss_and_grad(out, t) for t in (y, target_weights(y, 4)))
    assert torch.equal(a, b) and torch.equal(ga, gb)
    q = torch.softmax(torch.randn(2, 5, 4), -1) * 3  # weighted soft targets: the gradient is sum(q) * softmax - q
    torch.testing.assert_close(_loss_and_grad(out, q)[1], q.sum(-1, keepdim=True) * torch.softmax(out, -1) - q)


def _loss_and_grad(out: torch.Tensor, targets) -> tuple[torch.Tensor, torch.Tensor]:
    o = out.clone().requires_grad_()
    losses = Loss().per_sample(o, targets)
    losses.sum().backward()
    return losses.detach(), o.grad


def test_inverse_frequency_weights_average_one_over_the_training_set():
    y = np.array([0] * 90 + [1] * 9 + [2])
    w = inverse_frequency(y, 4)
    assert w[3] == 0 and np.isclose(w[y].mean(), 1.0) and w[2] == 100 / 3


def test_label_remedies_are_refused_on_a_regression():
    s = split(load("diabetes"), Conditions(), seed=0)
    with pytest.raises(GoodfitError, match="needs classes"):
        train(s, [Member(Arm("s", (LabelSmoothing(),)), 0)], config=TrainConfig(epochs=1))
