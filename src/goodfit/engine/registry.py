"""The per-member pieces the loop runs, in the order they act at each point of a step.

A new remedy is one file under `engine/` with a piece (`init`, `update`, `select`; see `piece.py`)
and one line here. Batch norm, width and the application of dropout masks live in the layers
(`goodfit.nn`), since they act inside the forward pass.
"""
from goodfit.engine.augmentation import Augmentation
from goodfit.engine.class_weights import BalancedSampling, LossWeights
from goodfit.engine.clipping import GradientClipping
from goodfit.engine.decay import DecoupledDecay, L2Penalty
from goodfit.engine.dropout import DropoutMasks
from goodfit.engine.early_stopping import EarlyStop
from goodfit.engine.label_smoothing import Smoothing

# Balanced sampling draws a block's samples before augmentation changes them; class weights act on the
# labels (or mixup's pair) before smoothing spreads a share of each sample's weight over the classes.
# Clipping comes first at the gradient: a user's loop clips what backward left, and the optimizer's own
# decay (the L2 and decoupled decay arms included) acts after it.
PIECES = (BalancedSampling(), Augmentation(), DropoutMasks(), LossWeights(), Smoothing(), GradientClipping(),
          L2Penalty(), DecoupledDecay(), EarlyStop())
