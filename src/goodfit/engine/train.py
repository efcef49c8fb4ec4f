"""The engine's entry point: `train` groups members by architecture, cuts each group into populations
that fit the memory budget and the CPU's cache, trains them one after another and returns every
member's result in the caller's order.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import torch

from goodfit.data.splits import Splits
from goodfit.engine.config import Member, TrainConfig
from goodfit.engine.continuation import Continuation
from goodfit.engine.loop import EpochCallback, step_seconds, train_population
from goodfit.engine.members import architecture_of, check_member, member_settings
from goodfit.engine.memory import (BLOCK_BYTES, CPU_WORKING_SET, PARALLEL_BYTES, available_memory, chunks,
                                   denormals_flushed, eval_bytes, member_bytes, reuse_freed_memory, state_bytes,
                                   torch_threads)
from goodfit.engine.population import optimizer_plan
from goodfit.engine.results import MemberResult, TrainResult
from goodfit.errors import GoodfitError
from goodfit.models import ModelSpec
from goodfit.remedies import EarlyStopping, WeightDecay


def _run(jobs: list[tuple], members: list[Member], splits: Splits | list[Splits], config: TrainConfig, on_epoch,
         threads: int, pause: bool = False) -> list[tuple]:
    """Train every population; on a CPU with several threads, populations run side by side, one thread
    each, costliest first. Each population's arithmetic is then single-threaded, so its results do not
    depend on the timing of the others. With `pause`, each hands back its population after the last epoch."""
    def one(job: tuple, single: bool) -> tuple:
        if single:  # a worker's own thread; the caller restores the count when all are done
            torch.set_num_threads(1)
        with denormals_flushed():  # per thread
            _, arch, chunk, _, paused = job
            data = [splits[i] for i in chunk] if isinstance(splits, list) else splits
            return train_population(arch, [members[i] for i in chunk], data, config, on_epoch, chunk, paused, pause)

    side_by_side = any(job[3] for job in jobs)  # populations timed faster on a thread each
    if threads < 2 or len(jobs) < 2 or (sum(job[0] for job in jobs) < PARALLEL_BYTES and not side_by_side):
        return [one(job, False) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda j: -jobs[j][0])
    with torch_threads(threads), ThreadPoolExecutor(threads) as pool:
        done = dict(zip(order, pool.map(lambda j: one(jobs[j], True), order)))
    return [done[j] for j in range(len(jobs))]


def own_splits(splits: Splits | list[Splits], members: list[Member]) -> Splits | list[Splits]:
    """One `Splits` shared by every member, or each member's own (a list as long as `members`).

    A list whose entries are all one object is that object: the members share it.

    Example:
        >>> from goodfit.data import load, split, Conditions
        >>> from goodfit.remedies import Arm
        >>> s = split(load("wine"), Conditions(), seed=0)
        >>> own_splits([s, s], [Member(Arm("a"), 0), Member(Arm("a"), 1)]) is s
        True
    """
    if isinstance(splits, Splits):
        return splits
    splits = list(splits)
    if len(splits) != len(members):
        raise GoodfitError(f"{len(splits)} splits for {len(members)} members; give one Splits, or one per member")
    if all(s is splits[0] for s in splits):
        return splits[0]
    first = splits[0]
    for s in splits[1:]:
        if (s.kind, s.input_shape, s.num_classes, s.task) != (first.kind, first.input_shape, first.num_classes, first.task):
            raise GoodfitError(f"members' splits differ in kind, sample shape or classes ({s.kind} {s.input_shape} "
                               f"{s.num_classes} against {first.kind} {first.input_shape} {first.num_classes}); "
                               "give members of one data set")
    return splits


def _sizes(s: Splits) -> tuple[int, int, int]:
    return len(s.y_train), len(s.y_val), len(s.y_test)


def _one_chain(arch, member: Member) -> bool:
    """Whether the module runs as one fused chain of batched matmuls (an MLP, `ModuleNet.one_chain`): its
    population is not timed. W35's 18 members took 6.7 ms a step together against 11.7 ms one by one, and
    timing them cost 0.3 s, 4% of its 20 epochs on 2 cores."""
    return arch.make_net([member_settings(member)], "cpu").one_chain


def _decay_on_top(plan, members: list[Member]) -> list[str]:
    """A line saying that the weight-decay arms add to the decay the optimizer itself applies, when it does."""
    own = sorted({float(dict(g.settings).get("weight_decay", 0.0)) for g in plan.groups} - {0.0})
    arms = sorted({m.arm.name for m in members if m.arm.get(WeightDecay)})
    if not own or not arms:
        return []
    return [f"{', '.join(arms)}: the arm's weight decay acts on top of the optimizer's own ({plan.describe()}, "
            f"weight_decay={'/'.join(f'{d:g}' for d in own)}), which every member has"]


def _together_or_alone(job: tuple, members: list[Member], splits: Splits | list[Splits], config: TrainConfig,
                       notes: list[str], threads: int) -> list[tuple]:
    """A population as it is, cut into one population per thread side by side, or cut into members that
    train alone, whichever times fastest; one of a fused chain (`_one_chain`) as it is.

    A few timed steps (`loop.step_seconds`) of the population on every thread are set against a
    `threads`-th of it on one thread (the populations run side by side, so a step of all takes that
    long) and against its first member alone (times the members one thread has to train). Grouped
    convolutions of a few members use a second thread poorly, and a large model on a small CPU may
    train fastest member by member: its user must not pay for the population. `notes` gets one line
    with the figures. Jobs are `(cost, architecture, positions, side by side, paused)`.
    """
    cost, arch, chunk, _, paused = job
    if len(chunk) < 2 or paused is not None or _one_chain(arch, members[chunk[0]]):
        return [job]
    K = len(chunk)
    data = [splits[i] for i in chunk] if isinstance(splits, list) else splits

    def timed(n: int, count: int) -> float:
        """A step of the population's first `n` members on `count` threads."""
        with torch_threads(count):
            return step_seconds(arch, [members[i] for i in chunk[:n]], data[:n] if isinstance(data, list) else data,
                                config)

    per_thread = -(-K // threads)
    ways = {"together": timed(K, threads)}
    if threads > 1:
        ways["side by side"] = timed(per_thread, 1)
    alone = timed(1, 1 if threads > 1 else threads)
    ways["member by member"] = alone * per_thread
    best = min(ways, key=ways.get)
    parts = [f"{ways['together'] * 1e3:.1f} ms a step together"]
    if threads > 1:
        parts.append(f"{ways['side by side'] * 1e3:.1f} ms as {min(threads, K)} populations side by side")
    parts.append(f"{alone * 1e3:.1f} ms each alone ({ways['member by member'] * 1e3:.1f} ms for all"
                 f"{f' on {threads} threads' if threads > 1 else ''})")
    choice = {"together": "trains them together", "side by side": f"trains {min(threads, K)} populations side by side",
              "member by member": "trains member by member"}[best]
    notes.append(f"model factory {arch.name}: {K} members take {', '.join(parts)}: {choice}")
    if best == "together":
        return [job]
    if best == "side by side":
        return [(cost * len(c) // K, arch, c, True, None) for c in chunks(chunk, per_thread)]
    return [(cost // K, arch, [i], threads > 1, None) for i in chunk]


def train(splits: Splits | list[Splits], members: list[Member], model: ModelSpec = ModelSpec(),
          config: TrainConfig = TrainConfig(), on_epoch: EpochCallback | None = None,
          continuation: Continuation | None = None) -> TrainResult:
    """Train every member; members of one architecture train together as one population.

    A population that would not fit in `config.memory_budget` is cut into smaller populations
    trained one after another, and so is one whose weights, gradients and optimizer state would
    not stay in a CPU's cache (`CPU_WORKING_SET`); each member's results are the same either way.

    Args:
        splits: the data, already split: one `Splits` for every member, or a list with each
            member's own (seeds that each drew their own split of one pool). Members with their own
            splits still train in one population when their sets have the same sizes; each sees
            only its own data, so its results are those it has alone.
        members: arms and seeds to train.
        model: a `ModelSpec` (default `auto`, by the data's kind), or your own factory: a callable
            returning a fresh `nn.Module` mapping `(B, *sample)` to logits; it receives `dropout=`,
            `batchnorm=` and `width=` keywords when an arm uses those remedies.
        config: settings every member shares. Default `TrainConfig()`.
        on_epoch: called after each epoch of each population with a dict of `epoch`, `epochs`,
            `members` (positions in `members` of those still training), `metrics` (an `EpochMetrics`:
            train and validation loss and accuracy and the running loss, each `(K,)` by name),
            `architecture` and `net` (the population's network as it stands, for a caller that
            measures more than the metrics; `loop.predictions(net, X, y)` gives its outputs). Default None.
        continuation: members the previous call given it trained, held in this process: those asked for
            again with more epochs (same splits object and settings) train on from where they ended,
            those that stopped early come back as they were, and afterwards it holds this call's
            (`engine.continuation`). Default None: every member trains from the start, nothing is held.

    Returns:
        A `TrainResult` with one `MemberResult` per member, in order.

    Example:
        >>> from goodfit.data import load, split, Conditions
        >>> s = split(load("wine"), Conditions(), seed=0)
        >>> from goodfit.remedies import Arm
        >>> r = train(s, [Member(Arm("baseline"), 0)], config=TrainConfig(epochs=3))
        >>> r.members[0].history["epoch"].tolist()
        [1, 2, 3]
    """
    if not members:
        raise GoodfitError("no members to train; give at least one arm and one seed")
    splits = own_splits(splits, members)
    own = isinstance(splits, list)
    first = splits[0] if own else splits
    config.loss_for(first.task)  # a loss of the other task is refused before anything trains
    for m in members:
        check_member(m, first.kind, first.task)
    start = time.perf_counter()
    known, resumed = continuation.take(members, splits, config) if continuation is not None else ({}, [])
    going_on = {i for _, positions in resumed for i in positions}
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):  # members with their own data train together when their sets' sizes agree
        if i in known or i in going_on:
            continue
        key = (architecture_of(m, model, first),) + ((_sizes(splits[i]),) if own else ())
        groups.setdefault(key, []).append(i)
    device = config.resolved_device()
    if device.type == "cpu":
        reuse_freed_memory()
    threads = torch.get_num_threads() if device.type == "cpu" else 1
    budget = config.memory_budget or available_memory(device) // 2
    data = (0 if own else first.X_train.nbytes + first.X_val.nbytes) + BLOCK_BYTES + eval_bytes(device)
    jobs = []  # (cost, architecture, positions, side by side, paused) of each population
    notes: list[str] = []
    for (arch, *_), positions in groups.items():
        group = [members[i] for i in positions]
        settings = member_settings(group[0])
        plan = optimizer_plan(arch, group[0], config)
        per_member = (member_bytes(arch, settings, first, config, any(m.arm.get(EarlyStopping) for m in group))
                      + (first.input_bytes if own else 0))  # a member's own copy of its data
        most = max(1, (budget - data) // per_member)
        params = state_bytes(arch, settings)[0]
        if device.type == "cpu":
            most = min(most, max(1, CPU_WORKING_SET // (4 * params)))
            if threads > 1 and len(positions) * params >= PARALLEL_BYTES:  # big enough to share out
                shared = max(1, (budget // threads - data) // per_member)  # side by side, they share the budget
                most = min(most, shared, -(-len(positions) // threads))
        notes += [n for n in _decay_on_top(plan, group) if n not in notes]
        if plan.kind == "solo":  # the user's own class steps one member's parameters at a time
            most = 1
            notes.append(f"optimizer {plan.cls.__name__} is not one goodfit stacks (SGD, Adam, AdamW, RMSprop): "
                         "each member trains alone with it")
        jobs += [(len(chunk) * params, arch, chunk, False, None) for chunk in chunks(positions, most)]
    for paused, positions in resumed:  # trained on as the populations they were
        arch = paused.run.arch
        jobs.append((len(positions) * state_bytes(arch, member_settings(members[positions[0]]))[0], arch, positions,
                     False, paused))
    # populations that run side by side anyway (`_run`) have a thread each: they are timed on one
    shared = threads > 1 and len(jobs) > 1 and sum(job[0] for job in jobs) >= PARALLEL_BYTES
    jobs = [part for job in jobs
            for part in _together_or_alone(job, members, splits, config, notes, 1 if shared else threads)]
    results: list[MemberResult | None] = [None] * len(members)
    for i, r in known.items():
        results[i] = r
    ran = _run(jobs, members, splits, config, on_epoch, threads, continuation is not None)  # pause: to go on
    for chunk, (trained, note, held) in zip([job[2] for job in jobs], ran):
        for pos, r in zip(chunk, trained):
            results[pos] = r
        if note and note not in notes:
            notes.append(note)
        if continuation is not None:
            continuation.hold(held, trained, splits, config)
    return TrainResult(results, time.perf_counter() - start, first.num_classes, notes)
