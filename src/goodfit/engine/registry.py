"""The per-member pieces the loop runs, in the order they act at each point of a step.

A new remedy is one file under `engine/` with a piece (`init`, `update`, `select`; see `piece.py`)
and one line here. Batch norm, width and the application of dropout masks live in the layers
(`goodfit.nn`), since they act inside the forward pass.
"""
from goodfit.engine.augmentation import Augmentation
from goodfit.engine.class_weights import BalancedSampling, LossWeights
from goodfit.engine.decay import DecoupledDecay, L2Penalty
from goodfit.engine.dropout import DropoutMasks
from goodfit.engine.early_stopping import EarlyStop
from goodfit.engine.label_smoothing import Smoothing
from goodfit.engine.learning_rate import OwnLearningRate

# Balanced sampling draws a block's samples before augmentation changes them; class weights act on the
# labels (or mixup's pair) before smoothing spreads a share of each sample's weight over the classes.
# L2 and decoupled decay act before the own learning rate takes its snapshot, so a member's rate
# stretches only the optimizer's step, as training at that rate would.
PIECES = (BalancedSampling(), Augmentation(), DropoutMasks(), LossWeights(), Smoothing(), L2Penalty(),
          DecoupledDecay(), OwnLearningRate(), EarlyStop())
