"""What a training function is handed for one member: `Settings`, the arm's remedies as plain values.

A remedy the function never reads is a remedy it did not apply: `unapplied` names them, so an arm the
function ignores is an error, never a silent second baseline.
"""
from __future__ import annotations

from typing import Any

from goodfit.errors import GoodfitError
from goodfit.remedies import REGISTRY, Arm

NAMES = tuple(name for remedy in REGISTRY for name in remedy.setting_names)  # every remedy's setting names
OWN = ("arm", "seed", "epochs")  # what every member has, remedy or not


class Settings:
    """One member's remedies as plain values, for a training function `fit(settings, seed)`.

    Attributes (None where the arm does not use the remedy: keep your own value there):
        arm: the arm's name. seed: the member's seed. epochs: the epochs to train (a recipe's rung
        budget).
        dropout: the dropout rate. weight_decay: decoupled weight decay (AdamW's, the HF Trainer's
        `weight_decay`). l2: an L2 penalty added to the gradient. label_smoothing: the smoothing amount.
        early_stopping: the patience in epochs (stop, and restore the best validation epoch's weights).
        augment: augmentation strengths by name (`{"shift": 0.1, "noise": 0.05}`). batchnorm: True.
        width: the fraction of hidden units to keep. class_weights: `loss` or `sampling`.

    Example:
        >>> from goodfit.grammar import parse_arm
        >>> s = Settings(parse_arm("dropout=0.3+early_stopping=5", "table"), seed=2, epochs=20)
        >>> s.dropout, s.weight_decay, s.epochs
        (0.3, None, 20)
        >>> [r.word for r in s.unapplied()]
        ['early_stopping']
    """

    def __init__(self, arm: Arm, seed: int, epochs: int):
        values: dict[str, Any] = {}
        for remedy in arm.remedies:
            values |= remedy.settings()
        object.__setattr__(self, "_arm", arm)
        object.__setattr__(self, "_values", {"arm": arm.name, "seed": int(seed), "epochs": int(epochs), **values})
        object.__setattr__(self, "_read", set())

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in NAMES and name not in OWN:
            raise AttributeError(f"settings has no {name!r}; it has {', '.join(OWN + NAMES)}")
        self._read.add(name)
        return self._values.get(name)

    def __setattr__(self, name: str, value) -> None:
        raise GoodfitError("settings are the arm's; read them, do not change them")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Settings({shown})"

    def __getstate__(self):
        return {"arm": self._arm, "values": self._values, "read": self._read}

    def __setstate__(self, state) -> None:
        object.__setattr__(self, "_arm", state["arm"])
        object.__setattr__(self, "_values", state["values"])
        object.__setattr__(self, "_read", set(state["read"]))

    def to_dict(self) -> dict:
        """The values, as plain JSON: what the member was told."""
        return dict(self._values)

    def unapplied(self) -> list:
        """The arm's remedies whose values the function never read."""
        return [r for r in self._arm.remedies if not any(n in self._read for n in r.settings())]

    def check_applied(self, name: str) -> None:
        """Refuse a member whose function ignored one of its arm's remedies (`name`: the function's)."""
        missing = self.unapplied()
        if missing:
            words = ", ".join(f"settings.{n}" for r in missing for n in r.settings())
            raise GoodfitError(f"{name} never read {words}, so arm {self._arm.name!r} would train as the baseline; "
                               "apply it in the function, or leave the arm out")
