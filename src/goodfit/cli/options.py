"""The options several commands take alike, spelled once: the data's label column and task, and the training
settings of a `TrainConfig` with its defaults (written here, so that `goodfit --help` does not import the engine).
"""
from __future__ import annotations

import functools
import inspect

import typer

TARGET = typer.Option(None, "--target", help="Label column of a CSV or Parquet file.")
TASK = typer.Option(None, "--task", help="classification or regression (default: decided from the target).")
LABEL_NOISE = typer.Option(0.0, "--label-noise", help="Fraction of training labels replaced by another class.")
IMBALANCE = typer.Option(1.0, "--imbalance", help="Size of the last class relative to the first (1 = balanced).")
BATCH_SIZE = typer.Option(32, "--batch-size", help="Samples per step.")
LR = typer.Option(1e-3, "--lr", help="Learning rate.")
OPTIMIZER = typer.Option("adam", "--optimizer", help="adam, adamw, sgd (momentum 0.9 unless --momentum) or rmsprop.")
DEVICE = typer.Option("cpu", "--device", help="cpu, cuda or auto.")
LOSS = typer.Option("auto", "--loss", help="cross_entropy for classes; mse, mae or huber for a number.")

# The training's own settings beside --optimizer: TrainConfig's keyword -> (type, option)
TRAINING = {
    "momentum": (float, typer.Option(None, "--momentum", help="SGD's or RMSprop's momentum (default: sgd 0.9, "
                                                               "rmsprop 0).")),
    "weight_decay": (float, typer.Option(None, "--weight-decay",
                                         help="The optimizer's own weight decay, the baseline's (adamw: decoupled, "
                                              "default 0.01; the others: added to the gradient, default 0); a "
                                              "decay= or l2= arm adds to it.")),
    "scheduler": (str, typer.Option("constant", "--schedule", help="Learning-rate schedule: constant, step (a tenth "
                                                                    "at each third of the epochs), cosine or onecycle.")),
    "warmup": (int, typer.Option(0, "--warmup", help="Epochs of linear warm-up before the schedule.")),
    "clip_grad": (float, typer.Option(None, "--clip-grad", help="Scale each member's gradients down to this total "
                                                                "norm before each step (default: no clipping).")),
}


def with_training(command):
    """`command` with the training options of `TRAINING` after its `optimizer` option; it receives them as one
    keyword argument, `training`, a dict of `TrainConfig`'s keywords."""
    signature = inspect.signature(command)
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind != p.VAR_KEYWORD else p
              for p in signature.parameters.values() if p.name != "training"]
    at = [p.name for p in params].index("optimizer") + 1
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                               annotation=kind if option.default is not None else kind | None)
             for name, (kind, option) in TRAINING.items()]

    @functools.wraps(command)
    def with_options(**values):
        return command(**{k: v for k, v in values.items() if k not in TRAINING},
                       training={k: values[k] for k in TRAINING})

    with_options.__signature__ = signature.replace(parameters=params[:at] + added + params[at:])
    with_options.__annotations__ = {**command.__annotations__, **{p.name: p.annotation for p in added}}
    return with_options
