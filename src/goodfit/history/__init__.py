"""The history table (member, epoch, metrics per epoch) and its readers, one file per log format.

The flow: table -> columns, clean, rate -> series -> frame -> a reader per format -> detect -> read.
"""
from goodfit.history.columns import JUDGED, OVERRIDES, SLOT_NAMES, VALIDATION, ZERO_BASED
from goodfit.history.detect import FORMAT_NAMES, FORMATS, detect_format
from goodfit.history.frame import history_from_frame
from goodfit.history.goodfit_csv import read_goodfit_csv, read_run_config
from goodfit.history.json_history import read_json_history
from goodfit.history.keras_csv import read_keras_csv
from goodfit.history.lightning_csv import read_lightning_csv
from goodfit.history.mlflow_run import read_mlflow
from goodfit.history.read import read_history, read_line
from goodfit.history.series import history_from_series
from goodfit.history.table import COLUMNS, METRICS, RATE, SCORE_WORDS, SCORES, History
from goodfit.history.tensorboard_events import read_tensorboard
from goodfit.history.trainer_state import read_trainer_state

__all__ = ["COLUMNS", "FORMATS", "FORMAT_NAMES", "JUDGED", "METRICS", "RATE", "OVERRIDES", "SCORES", "SCORE_WORDS",
           "SLOT_NAMES", "VALIDATION", "ZERO_BASED", "History", "detect_format", "history_from_frame",
           "history_from_series", "read_goodfit_csv", "read_history", "read_json_history", "read_keras_csv",
           "read_lightning_csv", "read_line", "read_mlflow", "read_run_config", "read_tensorboard",
           "read_trainer_state"]
