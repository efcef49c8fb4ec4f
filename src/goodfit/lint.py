"""Lints for a model and its optimizer: regularization set up in ways that quietly do something else.

Reads module and optimizer settings; trains nothing and needs no data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

MIN_BATCHNORM_BATCH = 16  # below this, batch statistics are noisy (Wu & He 2018, Group Normalization)

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_BATCHNORMS = (nn.modules.batchnorm._BatchNorm,)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


@dataclass(frozen=True)
class Finding:
    """One problem found, where, and how to fix it.

    Args:
        code: a short stable name, e.g. `adam-coupled-weight-decay`.
        where: the module or parameter group concerned.
        message: what is wrong, with the numbers.
        fix: what to do instead.

    Example:
        >>> Finding("model-in-train-mode", "model", "dropout is active", "call model.eval()").code
        'model-in-train-mode'
    """

    code: str
    where: str
    message: str
    fix: str

    def to_dict(self) -> dict:
        return asdict(self)


def _adam_coupled(optimizer: torch.optim.Optimizer) -> list[Finding]:
    name = type(optimizer).__name__
    if name not in ("Adam", "Adamax", "NAdam", "RAdam"):
        return []
    out = []
    for i, group in enumerate(optimizer.param_groups):
        decay = group.get("weight_decay", 0.0) or 0.0
        if decay > 0 and not group.get("decoupled_weight_decay", False):
            out.append(Finding("adam-coupled-weight-decay", f"param group {i}",
                               f"{name}(weight_decay={decay:g}) adds an L2 term to the gradient, which Adam then "
                               "rescales per parameter: weights with large gradients are barely decayed",
                               f"use torch.optim.AdamW(weight_decay={decay:g}) (decoupled decay; Loshchilov & Hutter 2019)"))
    return out


def _decay_on_bias_and_norm(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[Finding]:
    names = {id(p): n for n, p in model.named_parameters()}
    norm_params = {id(p) for m in model.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    out = []
    for i, group in enumerate(optimizer.param_groups):
        if not (group.get("weight_decay", 0.0) or 0.0) > 0:
            continue
        hit = [names.get(id(p), "?") for p in group["params"] if p.dim() < 2 or id(p) in norm_params]
        if hit:
            shown = ", ".join(hit[:4]) + (f" and {len(hit) - 4} more" if len(hit) > 4 else "")
            out.append(Finding("decay-on-bias-and-norm", f"param group {i}",
                               f"weight decay {group['weight_decay']:g} also shrinks {len(hit)} bias or normalization "
                               f"parameter(s) ({shown}), which only shifts or scales activations",
                               "put parameters with p.dim() < 2 in a second group with weight_decay=0"))
    return out


def _leaf_order(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if not list(m.children())]


def _dropout_before_batchnorm(model: nn.Module) -> list[Finding]:
    leaves = _leaf_order(model)
    out = []
    for (n1, m1), (n2, m2) in zip(leaves, leaves[1:]):
        if isinstance(m1, _DROPOUTS) and isinstance(m2, _BATCHNORMS) and m1.p > 0:
            out.append(Finding("dropout-before-batchnorm", f"{n1} -> {n2}",
                               f"dropout (p={m1.p:g}) feeds batch norm directly: batch norm learns statistics with "
                               "units dropped and sees other statistics in evaluation (variance shift; Li et al. 2019)",
                               "move dropout after the batch norm and activation, or after the last batch norm"))
    return out


def _tiny_batches(model: nn.Module, batch_size: int | None) -> list[Finding]:
    if batch_size is None or batch_size >= MIN_BATCHNORM_BATCH:
        return []
    bns = [n for n, m in model.named_modules() if isinstance(m, _BATCHNORMS)]
    if not bns:
        return []
    return [Finding("batchnorm-tiny-batch", ", ".join(bns[:3]) + (" ..." if len(bns) > 3 else ""),
                    f"batch size {batch_size} with {len(bns)} batch-norm layer(s): statistics of so few samples "
                    "are noisy and training and evaluation disagree",
                    f"use a batch of at least {MIN_BATCHNORM_BATCH}, or GroupNorm / LayerNorm instead")]


def _train_mode(model: nn.Module) -> list[Finding]:
    active = [n or "model" for n, m in model.named_modules() if m.training and isinstance(m, _DROPOUTS + _BATCHNORMS)]
    if not active:
        return []
    return [Finding("model-in-train-mode", ", ".join(active[:3]) + (" ..." if len(active) > 3 else ""),
                    f"{len(active)} dropout or batch-norm layer(s) are in training mode during evaluation: dropout "
                    "stays on and batch norm uses (and updates) batch statistics",
                    "call model.eval() before evaluating and model.train() before training again")]


def lint(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, batch_size: int | None = None,
         evaluating: bool = False) -> list[Finding]:
    """Find regularization that is set up to do something other than what was meant.

    Checks: Adam (not AdamW) with `weight_decay` (a coupled L2 penalty); weight decay on biases and
    normalization parameters; dropout directly before batch norm (in module order); batch norm
    with batches smaller than `MIN_BATCHNORM_BATCH`; and, when `evaluating`, dropout or batch
    norm left in training mode.

    Args:
        model: the module.
        optimizer: its optimizer. Default None (optimizer checks skipped).
        batch_size: the training batch size. Default None (batch-size check skipped).
        evaluating: the model is about to be evaluated, so training mode is a mistake. Default False.

    Returns:
        The findings, in the order above; empty when all is well.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 2))
        >>> opt = torch.optim.Adam(net.parameters(), weight_decay=1e-4)
        >>> [f.code for f in lint(net, opt, batch_size=4, evaluating=True)]
        ['adam-coupled-weight-decay', 'decay-on-bias-and-norm', 'dropout-before-batchnorm', 'batchnorm-tiny-batch', 'model-in-train-mode']
    """
    findings = []
    if optimizer is not None:
        findings += _adam_coupled(optimizer) + _decay_on_bias_and_norm(model, optimizer)
    findings += _dropout_before_batchnorm(model) + _tiny_batches(model, batch_size)
    if evaluating:
        findings += _train_mode(model)
    return findings
