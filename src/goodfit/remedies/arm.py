"""An `Arm`: a name and at most one remedy of each kind; the baseline is an arm with none."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from goodfit.errors import GoodfitError
from goodfit.remedies.registry import REGISTRY, REMEDIES


@dataclass(frozen=True)
class Arm:
    """A named combination of remedies; the baseline is an arm with none.

    Args:
        name: how reports call it.
        remedies: at most one remedy of each kind. Default none.

    Example:
        >>> from goodfit.remedies import Dropout, WeightDecay, BatchNorm
        >>> arm = Arm("dropout+wd", (Dropout(0.3), WeightDecay(1e-4)))
        >>> arm.get(Dropout).rate, arm.get(BatchNorm) is None
        (0.3, True)
        >>> Arm.from_dict(arm.to_dict()) == arm
        True
    """

    name: str
    remedies: tuple = ()

    def __post_init__(self):
        if not self.name or not str(self.name).strip():
            raise GoodfitError("an arm needs a non-empty name")
        unknown = [r for r in self.remedies if type(r) not in REGISTRY]
        if unknown:
            raise GoodfitError(f"arm {self.name!r}: {unknown[0]!r} is not a remedy; use {', '.join(REMEDIES)}")
        kinds = [type(r).key for r in self.remedies]
        dupes = {k for k in kinds if kinds.count(k) > 1}
        if dupes:
            raise GoodfitError(f"arm {self.name!r} has more than one {', '.join(sorted(dupes))}; keep one of each")

    def get(self, cls):
        """The remedy of this type in the arm, or None."""
        return next((r for r in self.remedies if isinstance(r, cls)), None)

    @property
    def words(self) -> tuple[str, ...]:
        """How its remedies are spelled in arms and advice: `('dropout', 'l2')`."""
        return tuple(r.word for r in self.remedies)

    def describe(self) -> str:
        """The arm in words: `dropout 0.2, augment shift 0.1 + noise 0.05`, or `no remedy`."""
        return ", ".join(r.describe() for r in self.remedies) or "no remedy"

    def to_dict(self) -> dict:
        return {"name": self.name, "remedies": [{"remedy": type(r).key, **asdict(r)} for r in self.remedies]}

    @classmethod
    def from_dict(cls, d: dict) -> "Arm":
        remedies = []
        for r in d.get("remedies", []):
            r = dict(r)
            remedies.append(REMEDIES[r.pop("remedy")](**r))
        return cls(d["name"], tuple(remedies))
