"""Training members for longer without training them again: what one `train` call left, the next
takes up where it ended.

A member's run depends only on its arm, seed, rate, data and the shared settings, never on who
else trains beside it; so a member trained for 11 epochs and then for 22 more is the member trained
for 33. A `Continuation` handed to `train` keeps, after the call, each population as its last
epoch left it (`loop.Paused`: weights, optimizer moments, random streams, early-stopping state and
the epochs so far), and the results of members that stopped early or diverged, which a longer run
ends the same way. The next call with the same continuation trains the held members on from their
last epoch and hands the finished ones back as they are; everything else trains from the start.
Successive halving (`goodfit.recipe`) trains its survivors this way, rung after rung.

In this process only: an executor that runs units elsewhere trains every member from the start,
with the same results.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.loop import Paused
from goodfit.engine.results import MemberResult


def _identity(member: Member) -> tuple:
    """What a member's run depends on besides data and settings: remedies, seed, rate (not the arm's name)."""
    return member.arm.remedies, member.seed, member.lr


def _same_run(a: TrainConfig, b: TrainConfig) -> bool:
    """Whether a run under `b` is a run under `a` trained for longer: the same settings but the epochs, and the
    same epochs too for a spelled schedule, which spreads itself over them (a user's scheduler counts steps)."""
    spread = a.scheduler in ("step", "cosine", "onecycle") or b.scheduler in ("step", "cosine", "onecycle")
    others = [f.name for f in fields(TrainConfig) if f.name != "epochs"]
    same = all(getattr(a, name) == getattr(b, name) for name in others)
    return same and (not spread or a.epochs == b.epochs)


@dataclass
class Continuation:
    """What the last `train` call that was given this left behind for a longer one.

    Attributes:
        paused: populations after their last epoch, with their members still training.
        finished: per member identity, its result when it stopped early or diverged.
        continued: members the last call trained on from where they were, not from the start.
        reused: members the last call handed back finished, untrained.

    Example:
        >>> from goodfit.data import load, split, Conditions
        >>> from goodfit.engine import train
        >>> from goodfit.remedies import Arm
        >>> s, c = split(load("wine"), Conditions(), seed=0), Continuation()
        >>> short = train(s, [Member(Arm("a"), 0), Member(Arm("a"), 1)], config=TrainConfig(epochs=2), continuation=c)
        >>> longer = train(s, [Member(Arm("a"), 1)], config=TrainConfig(epochs=5), continuation=c)
        >>> c.continued, longer.members[0].history["epoch"].tolist()
        (1, [1, 2, 3, 4, 5])
    """

    paused: list[tuple[Paused, Splits | list[Splits], TrainConfig]] = field(default_factory=list)
    finished: dict[tuple, tuple[MemberResult, Splits | list[Splits], TrainConfig]] = field(default_factory=dict)
    continued: int = 0
    reused: int = 0

    def take(self, members: list[Member], splits: Splits | list[Splits], config: TrainConfig
             ) -> tuple[dict[int, MemberResult], list[tuple[Paused, list[int]]]]:
        """Of `members` (a new call's, with its `splits` and `config`): those whose result is known, by
        position, and per held population the positions that train on from it; the rest train anew.
        Lets go of the populations (each goes on once) and of the finished results it did not hand back."""
        wanted: dict[tuple, list[int]] = {}
        for i, m in enumerate(members):
            wanted.setdefault(_identity(m), []).append(i)
        known, still = {}, {}
        for key, (result, their_splits, their_config) in self.finished.items():
            stopped_at = int(result.history["epoch"].max()) if len(result.history) else 0
            if key in wanted and their_splits is splits and _same_run(their_config, config) \
                    and stopped_at <= config.epochs:
                for i in wanted.pop(key):
                    known[i] = _renamed(result, members[i], i)
                still[key] = self.finished[key]  # a longer call still ends it the same way
        resumed = []
        for paused, their_splits, their_config in self.paused:
            if their_splits is not splits or not _same_run(their_config, config) or paused.epoch >= config.epochs:
                continue
            keep, positions = [], []
            for k, m in enumerate(paused.run.members):
                if wanted.get(_identity(m)):
                    keep.append(k)
                    positions.append(wanted[_identity(m)].pop(0))
            if keep:
                resumed.append((paused.resumed(keep, positions), positions))
        self.paused, self.finished = [], still
        self.continued, self.reused = sum(len(p) for _, p in resumed), len(known)
        return known, resumed

    def hold(self, paused: Paused | None, results: list[MemberResult], splits: Splits | list[Splits],
             config: TrainConfig) -> None:
        """Keep a population after its last epoch, and the results of its members that will not go on."""
        if paused is not None:
            self.paused.append((paused, splits, config))
        for r in results:
            if r.stopped_epoch is not None or r.diverged:
                self.finished[_identity(r.member)] = (r, splits, config)


def _renamed(result: MemberResult, member: Member, position: int) -> MemberResult:
    """A finished member's result as the new call's: its member (the arm may be named anew) and position."""
    return replace(result, member=member, history=result.history.assign(member=position))
