"""SQLite persistence of a study: its plan, every member's history, final metrics and diagnosis.

`study.db` is the source of truth; each finished unit is written in one transaction, so a study
killed at any moment resumes from the last unit written. While a study trains, `study.db.lock`
beside it names the run, and a second run of the same study refuses to start. Knows nothing of torch.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import time
import weakref
from pathlib import Path

import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history import METRICS, RATE

SERIES = METRICS + (RATE,)  # a history's columns as the store keeps them

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (unit TEXT PRIMARY KEY, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (unit TEXT PRIMARY KEY, error TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    member TEXT PRIMARY KEY, unit TEXT NOT NULL REFERENCES units(unit),
    condition INTEGER NOT NULL, arm TEXT NOT NULL, seed INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    member TEXT NOT NULL REFERENCES members(member), epoch INTEGER NOT NULL,
    {", ".join(f"{m} REAL" for m in SERIES)}, PRIMARY KEY (member, epoch));
"""

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here, so a second run is not refused
    fcntl = None

_HELD = weakref.WeakValueDictionary()  # lock path -> the Store of this process that holds it


def _this_run() -> dict:
    """Who holds a lock: this process's pid, host, start time and command line."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if name == "__main__.py":  # python -m goodfit
        name = Path(sys.argv[0]).parent.name
    elif name == "-c" or name.endswith(".py"):
        name = f"python {name}"
    command = " ".join([name, *sys.argv[1:]])
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "command": command if len(command) <= 80 else command[:77] + "..."}


def _described(lock: Path) -> str:
    """The run holding `lock`, as it wrote itself there: its command, pid, host and start."""
    try:
        run = json.loads(lock.read_text())
        started = time.localtime(run["started"])
        when = time.strftime("%H:%M" if started[:3] == time.localtime()[:3] else "%Y-%m-%d %H:%M", started)
        return f"{run['command']} (pid {run['pid']} on {run['host']}, started {when})"
    except (OSError, ValueError, KeyError, TypeError):  # it has the lock but has not written itself yet
        return "another run of this study"


def _take_lock(path: Path):
    """`path` opened and locked for this process, holding `_this_run()`; a lock whose process died is free.

    The operating system drops the lock when its process ends, even by SIGKILL, so a file left behind
    by a dead run is taken over. A run that ends removes the file while it still holds the lock, so a
    lock taken on a removed file is let go and taken again on the file now at `path`.
    """
    while True:
        try:
            handle = open(path, "a+")
        except OSError as err:
            raise GoodfitError(f"cannot write {path}: {err.strerror}; pass another --out") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        except OSError:  # a file system without locks: the study runs unguarded, as SQLite itself would
            return handle
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    handle.truncate(0)
    handle.write(json.dumps(_this_run()))
    handle.flush()
    return handle


class Store:
    """A study's `study.db`.

    Args:
        path: the database file; created with its tables when missing.
        lock: hold `study.db.lock` until `close()`, as a study that trains does, so that another
            process opening the same store with a lock gets a `GoodfitError` naming this run (its
            command, pid, host and start). A lock left by a process that died is taken over; one
            held by a store of this process that was never closed (a run interrupted in a notebook)
            is taken from it. Reading needs no lock: `goodfit report` reads while a study runs.
            Default False.

    Example:
        >>> import tempfile, os
        >>> s = Store(os.path.join(tempfile.mkdtemp(), "study.db"))
        >>> s.bind_plan({"arms": ["baseline"]}); s.finished_units()
        set()
    """

    def __init__(self, path: str | Path, lock: bool = False):
        self.path = Path(path)
        self._lock, self._lock_path = None, self.path.with_name(self.path.name + ".lock").resolve()
        if lock and fcntl is not None:
            if (earlier := _HELD.get(str(self._lock_path))) is not None:
                earlier._release()
            self._lock = _take_lock(self._lock_path)
            if self._lock is None:
                raise GoodfitError(f"{self.path.parent} is in use by {_described(self._lock_path)}; "
                                   "wait for it to finish, or pass another --out")
            _HELD[str(self._lock_path)] = self
        try:
            self.db = sqlite3.connect(self.path)
            self.db.executescript(SCHEMA)
            have = {row[1] for row in self.db.execute("PRAGMA table_info(history)")}
            with self.db:  # a study.db written before a metric was added gains its column
                for m in (m for m in SERIES if m not in have):
                    self.db.execute(f"ALTER TABLE history ADD COLUMN {m} REAL")
        except sqlite3.DatabaseError as err:
            self._release()
            raise GoodfitError(f"{self.path} is not a goodfit study database ({err}); "
                               "use another --out folder or delete the file") from None

    def _release(self) -> None:
        """Let go of the lock, removing its file first (see `_take_lock`)."""
        if self._lock is not None:
            self._lock_path.unlink(missing_ok=True)
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.db.close()
        self._release()

    def running(self) -> str | None:
        """The run that holds this store's lock now, described by its command, pid, host and start; else None.

        Taking the lock to test it could turn away a study starting at that moment, so this reads the
        lock file and asks whether its process lives; a process on another host is taken to live.
        """
        try:
            run = json.loads(self._lock_path.read_text())
            if run["host"] == socket.gethostname():
                os.kill(run["pid"], 0)
        except PermissionError:  # it lives, under another user
            pass
        except (OSError, ValueError, KeyError, TypeError):  # no lock file, or its process is gone
            return None
        return _described(self._lock_path)

    def plan(self) -> dict | None:
        return self.meta("plan")

    def bind_plan(self, plan: dict) -> None:
        """Record the plan, or check that it is the one already recorded here."""
        stored = self.plan()
        if stored is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('plan', ?)", (json.dumps(plan, sort_keys=True),))
            return
        if json.loads(json.dumps(plan, sort_keys=True)) != stored:
            changed = sorted(k for k in set(plan) | set(stored) if plan.get(k) != stored.get(k))
            raise GoodfitError(
                f"{self.path.parent} holds a study with another plan (differs in: {', '.join(changed)}); "
                "pass a new --out folder to start a new study, or repeat the original command to resume it")

    def meta(self, key: str) -> dict | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def finished_units(self) -> set[str]:
        return {u for (u,) in self.db.execute("SELECT unit FROM units")}

    def finished_members(self) -> set[str]:
        """Keys of the members already stored, whichever unit trained them."""
        return {m for (m,) in self.db.execute("SELECT member FROM members")}

    def save_unit(self, unit: str, seconds: float, records: list[dict], histories: dict[str, pd.DataFrame]) -> bool:
        """Write one finished unit, its members and their histories, all or nothing; it is no longer failed.

        A unit or member the store holds already (written by another run of the study) keeps what
        was stored first. Returns whether the unit was written.

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "study.db"))
            >>> s.save_unit("c0-mlp", 1.5, [], {}), s.save_unit("c0-mlp", 2.0, [], {}), s.unit_seconds()
            (True, False, {'c0-mlp': 1.5})
        """
        with self.db:  # the DELETE begins the write transaction, so no other writer comes between check and write
            self.db.execute("DELETE FROM failures WHERE unit = ?", (unit,))
            if not self.db.execute("INSERT OR IGNORE INTO units VALUES (?, ?)", (unit, seconds)).rowcount:
                return False
            for r in records:
                if not self.db.execute("INSERT OR IGNORE INTO members VALUES (?, ?, ?, ?, ?, ?)",
                                       (r["member"], unit, r["condition"], r["arm"], r["seed"], json.dumps(r))).rowcount:
                    continue
                frame = histories[r["member"]]
                rows = frame.reindex(columns=["epoch", *SERIES]).astype(object)
                rows = rows.where(pd.notna(rows), None)
                self.db.executemany(f"INSERT INTO history (member, epoch, {', '.join(SERIES)}) "
                                    f"VALUES (?, ?, {', '.join('?' * len(SERIES))})",
                                    [(r["member"], *row) for row in rows.itertuples(index=False)])
        return True

    def save_failure(self, unit: str, error: str, detail: str = "") -> None:
        """Record that a unit failed: its one-line `error` and the `detail` (traceback). It stays unfinished.

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "study.db"))
            >>> s.save_failure("c0-mlp-w256-d2", "ValueError: bad"); s.failures(), s.finished_units()
            ({'c0-mlp-w256-d2': 'ValueError: bad'}, set())
        """
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?)", (unit, error, detail))

    def failures(self) -> dict[str, str]:
        """The units whose last attempt failed, each with its one-line error."""
        return dict(self.db.execute("SELECT unit, error FROM failures ORDER BY rowid"))

    def records(self) -> list[dict]:
        return [json.loads(rec) for (rec,) in self.db.execute("SELECT record FROM members ORDER BY rowid")]

    def history(self) -> pd.DataFrame:
        """Every member's history: `member` key, 1-based `epoch` and the metrics the study logged."""
        frame = pd.read_sql_query("SELECT * FROM history ORDER BY member, epoch", self.db)
        return frame[[c for c in frame.columns if c in ("member", "epoch") or frame[c].notna().any()]]

    def unit_seconds(self) -> dict[str, float]:
        return dict(self.db.execute("SELECT unit, seconds FROM units"))
