"""The population engine: trains K members at once, one forward and backward pass for all.

The rooms, in the order a run flows through them:
    config.py          `TrainConfig` (shared by all members: the user's optimizer, schedule, clipping) and
                       `Member` (arm, seed, own rate)
    torch_settings.py  torch.optim settings as values; a user's optimizer or scheduler described for a plan
    optimizers.py      the user's optimizer read into a plan (kind, groups by parameter name) and stepped for
                       all members on torch's kernels (`StackedOptimizer`)
    schedule.py        each member's optimizer settings over training, as the user's scheduler sets them
    members.py         from members to layer settings and architectures
    population.py      one population: net, optimizer and schedule, pieces with their state, `select(keep)`
    loop.py            the loop, which knows no remedy by name; evaluation; results
    train.py           `train`: groups members, cuts populations to memory and cache
    continuation.py    what one `train` call left, a longer one trains on from
    piece.py           the protocol every per-member remedy follows: `init`, `update`, `select`
    registry.py        the pieces the loop runs, in order
    augmentation.py, dropout.py, decay.py, early_stopping.py, label_smoothing.py, class_weights.py: one
    remedy each; clipping.py: the training's own gradient clipping
    memory.py          memory budget, blocks and chunks, process settings
    results.py         `EpochMetrics`, `MemberResult`, `TrainResult`

A single model is a population of one. The engine records metrics and never formats text.
"""
from goodfit.engine.config import OPTIMIZERS, Member, TrainConfig
from goodfit.engine.loop import EpochCallback
from goodfit.engine.members import architecture_of, member_settings
from goodfit.engine.memory import BLOCK_BYTES, EVAL_BYTES, flushing_denormals, member_bytes
from goodfit.engine.results import CLASSIFICATION, REGRESSION, EpochMetrics, MemberResult, TrainResult
from goodfit.engine.train import train

__all__ = ["BLOCK_BYTES", "CLASSIFICATION", "EVAL_BYTES", "OPTIMIZERS", "REGRESSION", "EpochCallback", "EpochMetrics", "Member",
           "MemberResult", "TrainConfig", "TrainResult", "architecture_of", "flushing_denormals", "member_bytes",
           "member_settings", "train"]
