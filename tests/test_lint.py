"""Lints fire on the mistake they name and stay quiet on the fix they suggest."""
import torch
from torch import nn

from goodfit.lint import lint


def codes(*args, **kwargs):
    return [f.code for f in lint(*args, **kwargs)]


def net(dropout_first=False):
    if dropout_first:
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(8), nn.Linear(8, 2))
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))


def test_adam_with_weight_decay_suggests_adamw():
    findings = lint(net(), torch.optim.Adam(net().parameters(), weight_decay=1e-4))
    assert findings[0].code == "adam-coupled-weight-decay" and "AdamW" in findings[0].fix


def test_adamw_and_adam_without_decay_pass():
    model = net()
    assert "adam-coupled-weight-decay" not in codes(model, torch.optim.AdamW(model.parameters(), weight_decay=1e-2))
    assert codes(model, torch.optim.Adam(model.parameters())) == []


def test_decay_on_biases_and_norm_layers_is_found_and_split_groups_pass():
    model = net()
    found = lint(model, torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4))
    assert [f.code for f in found] == ["decay-on-bias-and-norm"] and "1.weight" in found[0].message
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 1e-4}, {"params": rest, "weight_decay": 0.0}]
    assert codes(model, torch.optim.SGD(groups, lr=0.1)) == []


def test_dropout_directly_before_batchnorm_is_found():
    assert codes(net(dropout_first=True)) == ["dropout-before-batchnorm"]
    assert codes(net()) == []


def test_batchnorm_with_tiny_batches_is_found():
    assert codes(net(), batch_size=4) == ["batchnorm-tiny-batch"]
    assert codes(net(), batch_size=64) == []
    assert codes(nn.Linear(3, 3), batch_size=2) == []


def test_model_left_in_train_mode_for_evaluation_is_found():
    model = net()
    assert codes(model, evaluating=True) == ["model-in-train-mode"]
    assert codes(model.eval(), evaluating=True) == []
    assert codes(model.train()) == []
