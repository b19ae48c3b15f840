"""SQLite journal of tag writes (for undo) and the classification cache.

One database in the user data folder (platformdirs; ``GENRE_TAGGER_DATA_DIR``
overrides it). Every run is a row in ``runs``; every file changed in a run is a row in
``changes`` with the genres before and after, so ``--undo`` can restore them.
The cache maps (path, size, mtime, model id) to the model's probabilities.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started REAL NOT NULL,
  finished REAL,
  command TEXT NOT NULL,
  model TEXT,
  undone_by INTEGER,
  undo_of INTEGER
);
CREATE TABLE IF NOT EXISTS changes (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  path BLOB NOT NULL,
  before TEXT NOT NULL,
  after TEXT NOT NULL,
  PRIMARY KEY (run_id, path)
);
CREATE TABLE IF NOT EXISTS cache (
  path BLOB NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  model TEXT NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (path, model)
);
"""


def data_dir() -> Path:
    env = os.environ.get("GENRE_TAGGER_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("genre-tagger", appauthor=False))


@dataclass
class Run:
    id: int
    started: float
    finished: float | None
    command: str
    model: str | None
    changes: int
    undone_by: int | None
    undo_of: int | None


def pathkey(p: str | Path) -> bytes:
    """The absolute path as bytes: exact for every file name, UTF-8 or not."""
    return os.path.abspath(os.fsencode(p))


class Journal:
    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path else data_dir() / "journal.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.executescript(SCHEMA)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    # runs and changes -------------------------------------------------------
    def start_run(self, command: str, model: str | None = None, undo_of: int | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (started, command, model, undo_of) VALUES (?, ?, ?, ?)",
            (time.time(), command, model, undo_of),
        )
        self.db.commit()
        return int(cur.lastrowid)

    def finish_run(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET finished = ? WHERE id = ?", (time.time(), run_id))
        self.db.commit()

    def record(self, run_id: int, path: str | Path, before: list[str], after: list[str]) -> None:
        """Record one file's change; call right after the write succeeded."""
        self.db.execute(
            "INSERT OR REPLACE INTO changes (run_id, path, before, after) VALUES (?, ?, ?, ?)",
            (run_id, pathkey(path), json.dumps(before), json.dumps(after)),
        )
        self.db.commit()

    _RUN_SQL = (
        "SELECT r.id, r.started, r.finished, r.command, r.model, "
        "(SELECT COUNT(*) FROM changes c WHERE c.run_id = r.id), r.undone_by, r.undo_of FROM runs r "
    )

    def runs(self, limit: int = 50) -> list[Run]:
        rows = self.db.execute(self._RUN_SQL + "ORDER BY r.id DESC LIMIT ?", (limit,)).fetchall()
        return [Run(*r) for r in rows]

    def last_undoable(self) -> int | None:
        row = self.db.execute(
            "SELECT r.id FROM runs r WHERE r.undone_by IS NULL AND r.undo_of IS NULL "
            "AND EXISTS (SELECT 1 FROM changes c WHERE c.run_id = r.id) ORDER BY r.id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    def changes(self, run_id: int) -> list[tuple[str, list[str], list[str]]]:
        rows = self.db.execute("SELECT path, before, after FROM changes WHERE run_id = ? ORDER BY path", (run_id,))
        return [(os.fsdecode(p), json.loads(b), json.loads(a)) for p, b, a in rows]

    def get_run(self, run_id: int) -> Run | None:
        row = self.db.execute(self._RUN_SQL + "WHERE r.id = ?", (run_id,)).fetchone()
        return None if row is None else Run(*row)

    def mark_undone(self, run_id: int, by: int) -> None:
        self.db.execute("UPDATE runs SET undone_by = ? WHERE id = ?", (by, run_id))
        self.db.commit()

    # classification cache ----------------------------------------------------
    def cache_get(self, path: str | Path, size: int, mtime_ns: int, model: str) -> dict | None:
        row = self.db.execute(
            "SELECT result FROM cache WHERE path = ? AND model = ? AND size = ? AND mtime_ns = ?",
            (pathkey(path), model, size, mtime_ns),
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def cache_get_many(self, model: str) -> dict[bytes, tuple[int, int, dict]]:
        rows = self.db.execute("SELECT path, size, mtime_ns, result FROM cache WHERE model = ?", (model,))
        return {p: (s, m, json.loads(r)) for p, s, m, r in rows}

    def cache_put(self, path: str | Path, size: int, mtime_ns: int, model: str, result: dict, commit: bool = True) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cache (path, size, mtime_ns, model, result) VALUES (?, ?, ?, ?, ?)",
            (pathkey(path), size, mtime_ns, model, json.dumps(result)),
        )
        if commit:
            self.db.commit()

    def commit(self) -> None:
        self.db.commit()
