"""`goodfit` as its console script runs it, stopped at a chosen point of a study until a test says go on.

    python tests/blocking_study.py SIGNALS POINT study --data wine ... --out OUT

POINT is where the study stops:
    unit:K:epoch:E   the K-th unit to start, when its epoch E has ended (nothing of that unit stored yet)
    writing:K        inside the transaction that writes the K-th unit to study.db, its history rows
                     inserted and not yet committed
    saved:K          just after the K-th unit was written to study.db
There it writes SIGNALS/reached and waits until SIGNALS/release exists; a test kills it there, or releases it.
So a test knows where a study was when it died, instead of guessing from the clock. A study that ends
without reaching its point exits with code 3 and says so.

The hooks wrap public seams only: `Study.run`'s `on_event` (the progress events `unit`, `epoch`, `unit_done`)
and `Store.save_unit`, whose writes go through `Store.db`.
"""
import inspect
import json
import os
import sys
import time
from pathlib import Path

from goodfit import cli
from goodfit.store import Store
from goodfit.study import Study


class _Point:
    def __init__(self, signals: Path, point: str):
        self.signals, self.point = signals, point
        kind, *where = point.split(":")
        self.kind, self.unit = kind, int(where[0])
        self.epoch = int(where[2]) if kind == "unit" else None
        self.started, self.saved, self.writes, self.reached = [], 0, 0, False

    def reach(self) -> None:
        """Say where the study is, then wait to be released (or killed)."""
        if self.reached:
            return
        self.reached = True
        (self.signals / "reached").write_text(json.dumps({"point": self.point, "pid": os.getpid()}))
        while not (self.signals / "release").exists():
            time.sleep(0.02)

    def on_event(self, event: dict) -> None:
        if event["type"] == "unit" and event["unit"] not in self.started:
            self.started.append(event["unit"])
        elif event["type"] == "epoch" and self.kind == "unit":
            if self.started.index(event["unit"]) + 1 == self.unit and event["epoch"] == self.epoch:
                self.reach()
        elif event["type"] == "unit_done" and self.kind == "saved":
            self.saved += 1
            if self.saved == self.unit:
                self.reach()


class _StopInHistoryWrite:
    """A study.db connection that stops once it has inserted history rows, inside the open transaction."""

    def __init__(self, db, reach):
        self.db, self.reach = db, reach

    def __enter__(self):
        return self.db.__enter__()

    def __exit__(self, *exc):
        return self.db.__exit__(*exc)

    def execute(self, *args):
        return self.db.execute(*args)

    def executemany(self, sql, rows):
        done = self.db.executemany(sql, rows)
        if "INTO history" in sql:
            self.reach()
        return done


def _hooked(point: _Point) -> None:
    run, signature = Study.run, inspect.signature(Study.run)

    def run_with_point(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        theirs = bound.arguments.get("on_event")

        def both(event: dict) -> None:
            if theirs is not None:
                theirs(event)
            point.on_event(event)

        bound.arguments["on_event"] = both
        return run(*bound.args, **bound.kwargs)

    save_unit = Store.save_unit

    def save_unit_with_point(self, *args, **kwargs):
        point.writes += 1
        if point.kind != "writing" or point.writes != point.unit:
            return save_unit(self, *args, **kwargs)
        real = self.db
        self.db = _StopInHistoryWrite(real, point.reach)
        try:
            return save_unit(self, *args, **kwargs)
        finally:
            self.db = real

    Study.run, Store.save_unit = run_with_point, save_unit_with_point


def main() -> None:
    signals, where, *args = sys.argv[1:]
    point = _Point(Path(signals), where)
    _hooked(point)
    sys.argv = ["goodfit", *args]  # the lock names the command as the console script's
    try:
        cli.main()
    except SystemExit as done:
        if done.code not in (0, None):
            raise
    if not point.reached:
        print(f"blocking_study: the study ended without reaching {where}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
