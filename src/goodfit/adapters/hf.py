"""The Hugging Face adapter: a study member from the user's `transformers.Trainer`, the arm's remedies put into it.

`fit(make_trainer)` is what `Study(fit=...)` calls for each member; transformers is imported only when it trains.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING

from goodfit.adapters.keras import as_test_scores
from goodfit.errors import GoodfitError
from goodfit.integrations.hf import _transformers, hf_callback

if TYPE_CHECKING:
    from goodfit.fit.settings import Settings

# Where models keep a dropout rate: config fields of BERT/RoBERTa/ViT, DistilBERT, GPT-2, BART/T5, Llama,
# Wav2Vec2 and DeBERTa, and the float attributes their modules copy them into. `fit(dropout_names=...)` adds more.
DROPOUT_NAMES = (
    "dropout", "dropout_rate", "hidden_dropout", "hidden_dropout_prob", "attention_dropout",
    "attention_probs_dropout_prob", "activation_dropout", "classifier_dropout", "classifier_dropout_prob",
    "seq_classif_dropout", "qa_dropout", "pooler_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop",
    "summary_first_dropout", "summary_last_dropout", "feat_proj_dropout", "final_dropout",
)


def set_dropout(model, rate: float, names: Sequence[str] = DROPOUT_NAMES) -> int:
    """Set every dropout of a built model to `rate`, where the model keeps one.

    A model built from its config has copied the config's rates into its layers, so the config alone
    changes nothing: this sets the config fields among `names`, the `p` of every `nn.Dropout` (1d, 2d,
    3d, alpha), and the float attributes among `names` that modules use for functional dropout (Llama's
    attention, BART's layers).

    Args:
        model: a `torch.nn.Module`, usually a transformers model with a `config`.
        rate: the dropout probability, in [0, 1).
        names: the config fields and module attributes that hold a rate. Default `DROPOUT_NAMES`.

    Returns:
        How many dropouts of the built model were set (config fields not counted).

    Raises:
        GoodfitError: the model has no dropout under any of `names` nor any dropout layer.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1))
        >>> set_dropout(net, 0.3), net[1].p
        (1, 0.3)
    """
    import torch

    layers = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d, torch.nn.AlphaDropout,
              torch.nn.FeatureAlphaDropout)
    config = getattr(model, "config", None)
    fields = [n for n in names if config is not None and hasattr(config, n)]
    for name in fields:
        setattr(config, name, rate)
    count = 0
    for module in model.modules():
        if isinstance(module, layers):
            module.p, count = rate, count + 1
        for name in names:
            if isinstance(getattr(module, name, None), float):
                setattr(module, name, rate)
                count += 1
    if not fields and not count:
        raise GoodfitError(f"{type(model).__name__} has no dropout to set: no dropout layer, nor a config field "
                           f"among {', '.join(names)}; pass fit(..., dropout_names=[...]) or leave dropout out")
    return count


def l2_callback(strength: float, decayed: Callable):
    """A `transformers.TrainerCallback` that adds the L2 penalty's gradient, `strength * w`, to each weight's.

    It acts just before each optimizer step, after the Trainer unscaled and clipped the gradients (where
    `torch.optim.Adam(weight_decay=...)` adds its own), on the parameters `decayed(model)` names:
    `Trainer.get_decay_parameter_names`, the weights `decay=` acts on (not biases and norms). It reaches
    an optimizer of your own too, as `args.weight_decay` does not.

    Args:
        strength: the L2 coefficient: the gradient of `strength / 2 * ||w||^2` is added.
        decayed: `decayed(model) -> list of parameter names` to act on.

    Returns:
        The callback, for `trainer.add_callback`.
    """
    import torch

    transformers = _transformers()

    class L2Penalty(transformers.TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            names = set(decayed(model))
            self.weights = [p for n, p in model.named_parameters() if n in names and p.requires_grad]

        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            with torch.no_grad():
                for w in self.weights:
                    if w.grad is not None:
                        w.grad.add_(w, alpha=strength)

    return L2Penalty()


class _BestKeptInMemory(logging.Filter):
    """Holds back the Trainer's warning that an `EarlyStoppingCallback` without `load_best_model_at_end` leaves
    the last weights: goodfit's callback puts the best epoch's back."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Using EarlyStoppingCallback without load_best_model_at_end")


def _left(settings: Settings) -> set[str]:
    """The setting names of the arm's remedies that `make_trainer` did not read: the adapter applies these."""
    return {name for remedy in settings.unapplied() for name in remedy.settings()}


def _argument_changes(trainer, settings: Settings, left: set[str], seed: int) -> dict:
    """The `TrainingArguments` fields the member's settings change: seed, epochs, one evaluation and one log
    an epoch, and the remedies the Trainer holds as arguments."""
    args = trainer.args
    changes = {"seed": seed, "data_seed": seed, "num_train_epochs": settings.epochs, "max_steps": -1,
               "eval_strategy": "epoch", "logging_strategy": "epoch"}  # one history row an epoch
    if "weight_decay" in left:
        if trainer.optimizer is not None:
            raise GoodfitError("make_trainer gave the Trainer its own optimizer, which args.weight_decay does not "
                               "reach; let the Trainer build it (args.optim), or apply settings.weight_decay to yours")
        changes["weight_decay"] = settings.weight_decay
    if "label_smoothing" in left:
        changes["label_smoothing_factor"] = settings.label_smoothing
    if "early_stopping" in left:
        changes |= {"metric_for_best_model": "eval_loss", "greater_is_better": False}
    if args.load_best_model_at_end and args.save_strategy != "best":  # the Trainer checks that saves meet evaluations
        changes["save_strategy"] = "epoch"
    return changes


def _put_arguments(trainer, changes: dict) -> None:
    """Give a built Trainer a copy of its arguments with `changes`, and redo what its constructor derived from them.

    A copy, so that arguments `make_trainer` shares between members keep the user's values; field by field,
    as `__post_init__` would type them, since constructing `TrainingArguments` again (`dataclasses.replace`)
    resets accelerate's state under the Trainer's accelerator.
    """
    from transformers.integrations import get_reporting_integration_callbacks
    from transformers.trainer_pt_utils import LabelSmoother

    before, args = trainer.args, copy.copy(trainer.args)
    for name, value in changes.items():
        kind = type(getattr(before, name))
        setattr(args, name, kind(value) if issubclass(kind, Enum) else value)  # IntervalStrategy("epoch")
    args.do_eval, args.report_to = True, []  # what __post_init__ makes of an evaluation strategy, of "none"
    trainer.args = args
    for reporter in get_reporting_integration_callbacks(before.report_to):
        trainer.remove_callback(reporter)
    trainer.remove_callback(_transformers().PrinterCallback)  # each epoch's log dict printed: goodfit records it
    trainer.accelerator.dataloader_config.data_seed = args.data_seed
    if "label_smoothing_factor" in changes:
        trainer.label_smoother = LabelSmoother(epsilon=changes["label_smoothing_factor"])


class TrainerMember:
    """`make_trainer` as a study member: `member(settings, seed)` builds the Trainer, applies the arm, trains.

    Made by `fit`; see there. Named as `make_trainer` is, which is how a study's results name the model.
    """

    def __init__(self, make_trainer: Callable, dropout_names: tuple[str, ...], test_dataset):
        self.make_trainer, self.dropout_names, self.test_dataset = make_trainer, dropout_names, test_dataset
        named = make_trainer if hasattr(make_trainer, "__qualname__") else type(make_trainer)  # a callable object
        self.__module__, self.__qualname__, self.__name__ = named.__module__, named.__qualname__, named.__name__

    def __call__(self, settings: Settings, seed: int):
        transformers = _transformers()
        transformers.set_seed(seed)  # the model make_trainer builds starts from the member's seed
        trainer = self.make_trainer(settings, seed)
        if not isinstance(trainer, transformers.Trainer):
            raise GoodfitError(f"make_trainer returned a {type(trainer).__name__}; return a transformers.Trainer")
        if trainer.eval_dataset is None:
            raise GoodfitError("the Trainer needs an eval_dataset: goodfit judges by its validation curve")
        left = _left(settings)
        _put_arguments(trainer, _argument_changes(trainer, settings, left, seed))
        if "dropout" in left:
            set_dropout(trainer.model, settings.dropout, DROPOUT_NAMES + self.dropout_names)
        if "early_stopping" in left:
            trainer.add_callback(transformers.EarlyStoppingCallback(early_stopping_patience=settings.early_stopping))
        if "l2" in left:
            trainer.add_callback(l2_callback(settings.l2, trainer.get_decay_parameter_names))
        settings.check_applied("make_trainer")  # before training: an arm the Trainer cannot take fails at once
        recorder = hf_callback(verbose=False, restore_best_weights=settings.early_stopping is not None)
        trainer.add_callback(recorder)
        transformers.set_seed(seed)  # the Trainer seeded itself from the arguments make_trainer gave it
        quiet, logger = _BestKeptInMemory(), logging.getLogger("transformers.trainer_callback")
        logger.addFilter(quiet)
        try:
            trainer.train()
        finally:
            logger.removeFilter(quiet)
        if self.test_dataset is not None:  # on the last epoch's row, after the best weights came back
            metrics = trainer.predict(self.test_dataset, metric_key_prefix="test").metrics
            recorder.live.rows[-1] |= as_test_scores({k.removeprefix("test_"): v for k, v in metrics.items()})
        return recorder


def fit(make_trainer: Callable, *, dropout_names: Sequence[str] = (), test_dataset=None) -> TrainerMember:
    """A study member from your Hugging Face `Trainer`: `Study(fit=goodfit.hf.fit(make_trainer), arms=...)`.

    `make_trainer(settings, seed)` builds the model, the `TrainingArguments`, the datasets and
    `compute_metrics`, and returns the `transformers.Trainer`, with an `eval_dataset`. For each member the
    returned callable seeds everything with the member's seed (before `make_trainer`, so the model's
    initial weights too), then puts the arm into the Trainer and trains it with goodfit's callback
    (`goodfit.hf_callback`), which it returns: its `history_` is the member's, one row an epoch.

    - `decay=`: `args.weight_decay` (the Trainer's decoupled decay; not on biases and norms).
      `l2=`: the penalty's gradient added before each optimizer step (`l2_callback`).
      `label_smoothing=`: `args.label_smoothing_factor`.
    - `dropout=`: every dropout of the built model and its config (`set_dropout`).
    - `early_stopping=`: a `transformers.EarlyStoppingCallback` with that patience on `eval_loss`;
      goodfit's callback puts the best epoch's weights back from memory (no checkpoint needed, so
      `load_best_model_at_end` and the save strategy stay as you set them).
    - always: `seed` and `data_seed`, `num_train_epochs` (the study's epochs), an evaluation and a log
      every epoch (one history row each), and `report_to="none"`.
    - augment, batchnorm, shrink and class_weights have no Trainer argument: the member fails before
      training unless `make_trainer` reads and applies them itself.

    A remedy `make_trainer` reads from `settings` is its own to apply: the adapter leaves it alone.

    Args:
        make_trainer: `make_trainer(settings, seed) -> transformers.Trainer`; `settings` is a
            `goodfit.fit.Settings`.
        dropout_names: more config fields and module attributes that hold a dropout rate. Default none.
        test_dataset: a dataset the Trainer can predict on; after training (and the best weights put
            back) its loss and `compute_metrics`' accuracy become the last row's `test_loss` and
            `test_accuracy`. Default None: the study scores members on validation.

    Returns:
        The member function `member(settings, seed)`, picklable when `make_trainer` and `test_dataset`
        are; it returns goodfit's callback (`history_`, `restored_epoch_`, `diagnosis_`).

    Raises:
        GoodfitError: `make_trainer` is not callable or `dropout_names` is not a list of names; when a
            member trains: no `Trainer` or no `eval_dataset`, an arm it cannot apply, or no dropout to set.

    Example:
        >>> def make_trainer(settings, seed): ...  # build model, TrainingArguments, datasets; return the Trainer
        >>> member = fit(make_trainer)
        >>> member.__name__, member.dropout_names
        ('make_trainer', ())
    """
    if not callable(make_trainer):
        raise GoodfitError(f"fit takes your make_trainer(settings, seed) function, got a {type(make_trainer).__name__}")
    if isinstance(dropout_names, str) or not all(isinstance(n, str) for n in dropout_names):
        raise GoodfitError(f"dropout_names is a list of names, e.g. ['hidden_dropout'], got {dropout_names!r}")
    return TrainerMember(make_trainer, tuple(dropout_names), test_dataset)
