"""SQLite persistence of a study: its plan, every member's history, final metrics and diagnosis.

`study.db` is the source of truth; each finished unit is written in one transaction, so a study
killed at any moment resumes from the last unit written. Knows nothing of torch.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from goodfit.errors import GoodfitError
from goodfit.history import METRICS

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (unit TEXT PRIMARY KEY, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (unit TEXT PRIMARY KEY, error TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    member TEXT PRIMARY KEY, unit TEXT NOT NULL REFERENCES units(unit),
    condition INTEGER NOT NULL, arm TEXT NOT NULL, seed INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    member TEXT NOT NULL REFERENCES members(member), epoch INTEGER NOT NULL,
    {", ".join(f"{m} REAL" for m in METRICS)}, PRIMARY KEY (member, epoch));
"""


class Store:
    """A study's `study.db`.

    Args:
        path: the database file; created with its tables when missing.

    Example:
        >>> import tempfile, os
        >>> s = Store(os.path.join(tempfile.mkdtemp(), "study.db"))
        >>> s.bind_plan({"arms": ["baseline"]}); s.finished_units()
        set()
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.executescript(SCHEMA)
            have = {row[1] for row in self.db.execute("PRAGMA table_info(history)")}
            with self.db:  # a study.db written before a metric was added gains its column
                for m in (m for m in METRICS if m not in have):
                    self.db.execute(f"ALTER TABLE history ADD COLUMN {m} REAL")
        except sqlite3.DatabaseError as err:
            raise GoodfitError(f"{self.path} is not a goodfit study database ({err}); "
                               "use another --out folder or delete the file") from None

    def close(self) -> None:
        self.db.close()

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

    def save_unit(self, unit: str, seconds: float, records: list[dict], histories: dict[str, pd.DataFrame]) -> None:
        """Write one finished unit, its members and their histories, all or nothing; it is no longer failed."""
        with self.db:
            self.db.execute("DELETE FROM failures WHERE unit = ?", (unit,))
            self.db.execute("INSERT INTO units VALUES (?, ?)", (unit, seconds))
            for r in records:
                self.db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)",
                                (r["member"], unit, r["condition"], r["arm"], r["seed"], json.dumps(r)))
                frame = histories[r["member"]]
                rows = frame.reindex(columns=["epoch", *METRICS]).astype(object)
                rows = rows.where(pd.notna(rows), None)
                self.db.executemany(f"INSERT INTO history (member, epoch, {', '.join(METRICS)}) "
                                    f"VALUES (?, ?, {', '.join('?' * len(METRICS))})",
                                    [(r["member"], *row) for row in rows.itertuples(index=False)])

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
