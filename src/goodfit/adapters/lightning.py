"""A study member trained by the user's own LightningModule: the arm's settings applied around it, its history recorded.

Lightning is imported when a member trains, so this module imports without it.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

from goodfit.errors import GoodfitError
from goodfit.fit import Settings
from goodfit.integrations.lightning import _lightning, lightning_callback


def decay_callback(pl, l2: float | None, decay: float | None):
    """A Lightning `Callback` that adds the arm's weight decay to every optimizer step, as goodfit's engine does.

    It acts on the weights (parameters of two dimensions and more; biases and norms are left alone) just
    before the optimizer steps, after the gradients are unscaled and before Lightning clips them. `l2`
    adds `l2 * w` to each weight's gradient (the gradient of `l2 / 2 * ||w||^2`, the engine's `L2Penalty`);
    `decay` multiplies each weight by `1 - lr * decay` at its parameter group's rate of the moment (AdamW's
    decoupled decay, the engine's `DecoupledDecay`). Either comes on top of the decay the optimizer itself
    applies: your optimizer is left as you wrote it.
    """

    class WeightDecay(pl.Callback):
        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            with torch.no_grad():
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        if p.grad is None or p.dim() < 2:
                            continue
                        if l2:
                            p.grad.add_(p, alpha=l2)
                        if decay:
                            p.mul_(1 - group["lr"] * decay)

    return WeightDecay()


@contextmanager
def as_it_was(pl):
    """While a member trains, Lightning's info lines (devices found, a tip, why `fit` stopped) held back (warnings
    still show); after, torch's deterministic-algorithms switch, which a `Trainer` sets for the process, put back."""
    logger = logging.getLogger(pl.__name__)
    level = logger.level
    deterministic = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])


@dataclass
class LightningMember:
    """`fit(settings, seed)` for a study: one member trained by Lightning. Build it with `fit`.

    Named as `make_module` is, which is how a study's results name the model.
    """

    make_module: Callable
    make_trainer: Callable | None = None
    make_data: Callable | None = None

    def __post_init__(self):
        functools.update_wrapper(self, self.make_module)

    def trainer(self, pl, settings: Settings, seed: int):
        """The user's trainer, or a quiet deterministic one without logger or checkpoints; `settings.epochs` long."""
        if self.make_trainer is None:
            return pl.Trainer(max_epochs=settings.epochs, deterministic=True, enable_progress_bar=False, logger=False,
                              enable_checkpointing=False, enable_model_summary=False)
        trainer = self.make_trainer(settings, seed)
        trainer.fit_loop.max_epochs = settings.epochs  # the study's budget (a recipe's rung), whatever it said
        return trainer

    def data(self, pl, settings: Settings, seed: int) -> dict:
        """`trainer.fit`'s keywords for `make_data`'s data: none (the module's own loaders), a datamodule or loaders."""
        if self.make_data is None:
            return {}
        data = self.make_data(settings, seed)
        if isinstance(data, pl.LightningDataModule):
            return {"datamodule": data}
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise GoodfitError(f"make_data returned a {type(data).__name__}; return a LightningDataModule or the "
                               "dataloaders (train, val)")
        return {"train_dataloaders": data[0], "val_dataloaders": data[1]}

    def __call__(self, settings: Settings, seed: int):
        pl = _lightning()
        with as_it_was(pl):
            return self.train(pl, settings, seed)

    def train(self, pl, settings: Settings, seed: int):
        """The member trained: the recorder it trained with."""
        pl.seed_everything(seed, workers=True, verbose=False)
        module = self.make_module(settings, seed)
        trainer = self.trainer(pl, settings, seed)
        patience = settings.early_stopping
        recorder = lightning_callback(verbose=False, restore_best_weights=patience is not None)
        if patience is not None:
            trainer.callbacks.append(pl.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience))
        l2, decay = settings.l2, settings.weight_decay
        if l2 or decay:
            trainer.callbacks.append(decay_callback(pl, l2, decay))
        trainer.callbacks.append(recorder)
        trainer.fit(module, **self.data(pl, settings, seed))
        return recorder


def fit(make_module: Callable, make_trainer: Callable | None = None,
        make_data: Callable | None = None) -> LightningMember:
    """A study member's training function for your LightningModule: `Study(fit=fit(make_module), arms=[...])`.

    Each member seeds everything (`seed_everything(seed, workers=True)`), builds your module with
    `make_module(settings, seed)`, where you read the settings your module applies
    (`Net(dropout=settings.dropout or 0.0)`; None where the arm does not use a remedy), and trains it for
    `settings.epochs` epochs. What the adapter applies itself:

    - `settings.early_stopping`: Lightning's `EarlyStopping(monitor="val_loss", patience=...)`, and the
      weights of the best validation epoch restored at the end, whether or not training stopped
      (goodfit's early stopping). Without it the member keeps its last weights.
    - `settings.l2`, `settings.weight_decay`: added at each optimizer step on top of your optimizer's own
      decay, to the weights only (see `decay_callback`): your `configure_optimizers` runs unchanged.

    Whatever else the arm uses (dropout, augmentation, label smoothing, batch norm, width, class weights)
    is yours to read, in `make_module` or `make_data`; a remedy nobody read makes the member an error.
    The module logs `val_loss` in its `validation_step` (and `train_loss`, `val_acc`, ...); goodfit's
    `lightning_callback` records them.

    Args:
        make_module: `make_module(settings, seed)` returns the LightningModule, untrained.
        make_trainer: `make_trainer(settings, seed)` returns your `Trainer` (its `max_epochs` is set to
            `settings.epochs`). None builds `Trainer(max_epochs=settings.epochs, deterministic=True,
            enable_progress_bar=False, logger=False, enable_checkpointing=False)`. Default None.
        make_data: `make_data(settings, seed)` returns a `LightningDataModule` or the dataloaders
            `(train, val)` for `trainer.fit`. None trains on the module's own `train_dataloader` and
            `val_dataloader`. Default None.

    Returns:
        A picklable callable `member(settings, seed)` (picklable when your functions are: define them at
        a module's top level), which returns the `lightning_callback` it trained with (`history_`,
        `restored_epoch_`).

    Raises:
        GoodfitError: `make_data` returned neither a datamodule nor `(train, val)`, or Lightning is not installed.

    Example:
        >>> from goodfit.grammar import parse_arm
        >>> member = fit(make_module, make_data=make_data)  # doctest: +SKIP
        >>> recorder = member(Settings(parse_arm("dropout=0.3", "table"), seed=0, epochs=3), 0)  # doctest: +SKIP
        >>> recorder.history_.epochs  # doctest: +SKIP
        3
    """
    return LightningMember(make_module, make_trainer, make_data)
