"""The remedies, each in its own home (one file: value, spelling, words, flags, search space, checks),
the registry that every other room reads them from, and the `Arm` that names a combination of them.

A remedy only describes a setting; the engine reads it. No remedy knows another or how training runs.
"""
from goodfit.remedies.arm import Arm
from goodfit.remedies.augment import AUGMENTATIONS, DEFAULT_STRENGTH, Augment
from goodfit.remedies.base import Flag, Remedy
from goodfit.remedies.batchnorm import BatchNorm
from goodfit.remedies.class_weights import CLASS_WEIGHTINGS, ClassWeights
from goodfit.remedies.dropout import Dropout
from goodfit.remedies.early_stopping import MONITORS, EarlyStopping
from goodfit.remedies.label_smoothing import LabelSmoothing
from goodfit.remedies.registry import REGISTRY, REMEDIES, WORDS, remedy_for, train_flags, word_of
from goodfit.remedies.shrink import Shrink
from goodfit.remedies.weight_decay import WeightDecay

__all__ = ["AUGMENTATIONS", "Arm", "Augment", "BatchNorm", "CLASS_WEIGHTINGS", "ClassWeights", "DEFAULT_STRENGTH",
           "Dropout", "EarlyStopping", "Flag", "LabelSmoothing", "MONITORS", "REGISTRY", "REMEDIES", "Remedy", "Shrink",
           "WORDS", "WeightDecay", "remedy_for", "train_flags", "word_of"]
