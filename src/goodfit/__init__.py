"""goodfit: is my network memorizing, since when, and which regularization fixes it on my data?

The flow: data -> remedies -> engine -> history -> diagnose / stats / weights -> report.
"""
from goodfit.data import Conditions, Dataset, load, split
from goodfit.diagnose import Diagnosis, diagnose, diagnose_seeds
from goodfit.engine import Member, TrainConfig, train
from goodfit.errors import GoodfitError
from goodfit.history import History, read_history
from goodfit.integrations import Monitor, hf_callback, keras_callback, lightning_callback
from goodfit.lint import lint
from goodfit.models import auto, cnn1d, cnn2d, mlp
from goodfit.remedies import Arm, Augment, BatchNorm, Dropout, EarlyStopping, Shrink, WeightDecay
from goodfit.study import Study, StudyResult

__version__ = "0.1.0"
__all__ = [
    "Arm", "Augment", "BatchNorm", "Conditions", "Dataset", "Diagnosis", "Dropout", "EarlyStopping", "GoodfitError",
    "History", "Member", "Monitor", "Shrink", "Study", "StudyResult", "TrainConfig", "WeightDecay", "auto", "cnn1d",
    "cnn2d", "diagnose", "diagnose_seeds", "hf_callback", "keras_callback", "lightning_callback", "lint", "load", "mlp",
    "read_history", "split", "train",
]
