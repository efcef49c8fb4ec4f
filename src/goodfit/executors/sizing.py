"""How a unit is sized for a cluster: how many sub-populations it is cut into and what each asks for.

Pure arithmetic on Ray's resource dicts (`ray.cluster_resources()`, a node's `Resources`); no ray import.
"""
from __future__ import annotations

import math
from typing import NamedTuple

GPU_DEVICES = ("cuda", "auto")  # a unit asking for one of these takes GPUs when the cluster has any


class SubUnits(NamedTuple):
    """A unit cut for a cluster: members per sub-population, in order, and what each asks Ray for."""

    sizes: list[int]
    cpus: int
    gpus: int


def sub_units(members: int, share: float, cluster: dict, node: dict, member_bytes: int = 0,
              device: str = "cpu") -> SubUnits:
    """Cut a unit of `members` into sub-populations sized to the workers: their CPUs (or GPUs) and memory.

    A unit is owed its `share` of the cluster (its cost over all units' costs). On CPUs that is
    `share * cluster CPUs`; one task gets at most a whole node, so a unit owed more than a node's
    CPUs is cut into as many sub-populations as whole nodes its share spans, and each asks for its
    part of the share (at least one CPU, at most a node). It is also cut so that each
    sub-population's members fit in half a node's memory (`member_bytes` per member; 0: unknown,
    not considered), the budget the engine keeps on each worker. A unit that may use a GPU
    (`device` cuda or auto) on a cluster with GPUs is cut into one sub-population per GPU it is owed,
    each with one GPU and one CPU (the engine fits each to its GPU's memory). Members are never
    split and never number fewer than one per sub-population; sizes differ by at most one.

    Args:
        members: members in the unit.
        share: the unit's fraction of the study's work, in (0, 1].
        cluster: `ray.cluster_resources()`, e.g. `{"CPU": 16.0, "GPU": 2.0}`.
        node: the `Resources` of the largest node, e.g. `{"CPU": 8.0, "memory": 3.2e10}`.
        member_bytes: bytes one member needs while training (`goodfit.engine.member_bytes`). Default 0.
        device: the plan's device, `cpu`, `cuda` or `auto`. Default `cpu`.

    Returns:
        `SubUnits(sizes, cpus, gpus)`: members per sub-population, CPUs and GPUs each asks for.

    Example:
        >>> sub_units(8, 1.0, {"CPU": 2.0}, {"CPU": 1.0})  # one unit, two 1-CPU nodes: one half on each
        SubUnits(sizes=[4, 4], cpus=1, gpus=0)
        >>> sub_units(40, 1.0, {"CPU": 16.0}, {"CPU": 16.0})  # one machine: the whole unit on all its cores
        SubUnits(sizes=[40], cpus=16, gpus=0)
        >>> sub_units(40, 0.5, {"CPU": 160.0}, {"CPU": 16.0})  # half the work of ten 16-CPU nodes
        SubUnits(sizes=[8, 8, 8, 8, 8], cpus=16, gpus=0)
        >>> sub_units(10, 0.3, {"CPU": 2.0}, {"CPU": 2.0})  # a small share: one task, one CPU
        SubUnits(sizes=[10], cpus=1, gpus=0)
        >>> sub_units(40, 1.0, {"CPU": 16.0}, {"CPU": 16.0, "memory": 4e9}, member_bytes=200_000_000)
        SubUnits(sizes=[10, 10, 10, 10], cpus=4, gpus=0)
        >>> sub_units(3, 1.0, {"CPU": 8.0}, {"CPU": 1.0})  # never more sub-populations than members
        SubUnits(sizes=[1, 1, 1], cpus=1, gpus=0)
        >>> sub_units(40, 1.0, {"CPU": 16.0, "GPU": 4.0}, {"CPU": 4.0, "GPU": 1.0}, device="auto")
        SubUnits(sizes=[10, 10, 10, 10], cpus=1, gpus=1)
    """
    if members < 1 or not 0 < share <= 1 + 1e-9:
        raise ValueError(f"a unit needs at least one member and a share in (0, 1], got {members} and {share}")
    if cluster.get("GPU", 0) >= 1 and device in GPU_DEVICES:
        return SubUnits(_even(members, math.ceil(cluster["GPU"] * share - 1e-9)), 1, 1)
    node_cpus = max(1, int(node.get("CPU", 1)))
    owed = cluster.get("CPU", 1) * share
    parts = math.ceil(owed / node_cpus - 1e-9)
    if member_bytes and node.get("memory"):
        parts = max(parts, math.ceil(members * member_bytes / (node["memory"] / 2)))
    sizes = _even(members, parts)
    return SubUnits(sizes, max(1, min(node_cpus, math.ceil(owed / len(sizes) - 1e-9))), 0)


def _even(members: int, parts: int) -> list[int]:
    """`members` cut into `parts` (at least one, at most `members`) sizes that differ by at most one, larger first."""
    parts = max(1, min(members, parts))
    return [members // parts + (i < members % parts) for i in range(parts)]
