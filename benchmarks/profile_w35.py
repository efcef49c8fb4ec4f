"""Where a step of W35 goes: torch.profiler over goodfit's engine, by operator and shape, per step.

    python benchmarks/profile_w35.py            # 35 members; prints the 25 costliest operators
    python benchmarks/profile_w35.py --members 8 --top 40

Two runs of 2 and 4 epochs are profiled and subtracted, so what is counted is what each extra
epoch costs (setup, the first epoch's warm-up and the final test pass cancel out), divided by its
steps. Python between the operators and numpy's dropout masks are not torch operators: the gap
between the table's total and the wall time per step is theirs.

It runs on one thread: on several, the engine trains a large population as one population per
thread in worker threads, whose operators torch's profiler (enabled on the calling thread) does not
record. `--threads 2` times the wall per step that way, with an empty table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import profile

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import w35  # noqa: E402

from goodfit.engine import train  # noqa: E402
from goodfit.models import ModelSpec  # noqa: E402


def per_step(members: int = 35, short: int = 2, long: int = 4) -> tuple[list[tuple[float, float, str, str]], float]:
    """(rows of (ms per step, calls per step, operator, input shapes), costliest first; wall ms per step)."""
    work = w35(long, members)
    people = list(work.members)
    spec, splits = ModelSpec(work.arch, work.width, work.depth), work.splits()
    train(splits, people[:2], spec, w35(1, 2).config())  # warm-up
    costs, walls = {}, {}
    for epochs in (short, long):
        with profile(record_shapes=True) as prof:
            start = time.perf_counter()
            train(splits, people, spec, w35(epochs, members).config())
            walls[epochs] = time.perf_counter() - start
        costs[epochs] = {(e.key, str(e.input_shapes)): (e.self_cpu_time_total, e.count)
                         for e in prof.key_averages(group_by_input_shape=True)}
    steps = (long - short) * -(-len(splits.y_train) // work.batch_size)
    rows = []
    for key, (us, count) in costs[long].items():
        us0, count0 = costs[short].get(key, (0.0, 0))
        rows.append(((us - us0) / 1e3 / steps, (count - count0) / steps, *key))
    rows.sort(reverse=True)
    return rows, (walls[long] - walls[short]) * 1e3 / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=35)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1; see above)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, wall = per_step(args.members)
    for ms, calls, op, shapes in rows[: args.top]:
        print(f"{ms:7.3f} ms {calls:5.2f}x  {op:28s} {shapes[:90]}")
    print(f"torch operators: {sum(r[0] for r in rows):.2f} ms a step; wall: {wall:.2f} ms a step "
          f"(profiler on), {args.members} members, {args.threads} thread(s)")


if __name__ == "__main__":
    main()
