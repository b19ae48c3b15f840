"""SQLite journal of tag writes (write-ahead, for undo and crash recovery) and the
classification cache.

One database in the user data folder (platformdirs; ``GENRE_TAGGER_DATA_DIR``
overrides it). Every run is a row in ``runs``; every tag write is a row in ``writes``,
committed *before* the file is touched (state ``pending``) with the genres before and
after, the exact raw genre data before, and what will be written (the original bytes of
an in-place region, or the temporary file's name and the original tag region); it
becomes ``done`` (or ``failed``) afterwards. :mod:`genre_tagger.tagstore.write` owns the
protocol; this module only stores rows. A lock file beside the database serialises
writers (:meth:`Journal.lock`). The cache maps (path, size, mtime, model id) to the
model's probabilities.

A full disk: every method that writes turns SQLite's and the OS's errors into
:class:`JournalError` (:class:`JournalFullError` when the disk is full) and rolls back,
and a write run checks the free space first (:meth:`Journal.check_space`, a margin of
:data:`SPACE_MARGIN`), so a run on a nearly full disk stops with one line, before SQLite
has to grow its WAL index (a memory-mapped ``-shm`` file: on a full disk a page of it
that cannot be allocated kills the process with SIGBUS). ``locking_mode=EXCLUSIVE``
(a WAL index in the heap, no ``-shm``) would remove that risk but lock out every other
connection — the scan's own second connection (its writer thread), the app reading the
history during a write — so it is not used.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import GenreTaggerError
from .overlay import pread, pwrite

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
CREATE TABLE IF NOT EXISTS writes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  path BLOB NOT NULL,
  state TEXT NOT NULL,
  before TEXT NOT NULL,
  after TEXT NOT NULL,
  plan TEXT NOT NULL,
  old BLOB,
  new BLOB,
  undone_by INTEGER,
  undo_of INTEGER,
  note TEXT
);
CREATE INDEX IF NOT EXISTS writes_path ON writes(path);
CREATE INDEX IF NOT EXISTS writes_run ON writes(run_id);
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
    finished: float | None  # None: still running, or interrupted (see ``interrupted``)
    command: str
    model: str | None
    changes: int  # files written (done)
    undone_by: int | None  # the undo run that restored every file
    undo_of: int | None
    undone: int = 0  # files of this run restored by an undo so far
    interrupted: bool = False  # the process ended before the run finished (found on a later start)
    unknown: int = 0  # interrupted writes whose file had changed since: left as found, not undoable
    unchecked: int = 0  # interrupted writes whose file could not be reached yet (checked at the next start)


@dataclass
class WriteRow:
    """One tag write as journaled (see :mod:`genre_tagger.tagstore.write` for ``plan``)."""

    id: int
    run_id: int
    path: str
    state: str  # pending | done | failed | unknown
    before: list[str]
    after: list[str]
    plan: dict
    old: bytes | None
    new: bytes | None
    undone_by: int | None
    undo_of: int | None


class JournalBusyError(RuntimeError):
    """Another process holds the journal's write lock."""


class JournalError(GenreTaggerError):
    """The journal cannot be opened or locked (a read-only or full disk, a damaged
    database): nothing can be written, since no write happens without it."""

    def __init__(self, path: Path, e: BaseException):
        why = getattr(e, "strerror", None) or str(e) or type(e).__name__
        super().__init__(path, f"cannot open the journal ({why}); nothing was written "
                               "(GENRE_TAGGER_DATA_DIR can name another folder for it)")


SPACE_MARGIN = 1 << 20  # free bytes the journal's disk keeps beyond what a write journals (WAL growth, its index)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, round(n / 1024))} KB"


class JournalFullError(JournalError):
    """The journal's disk has too little free space: nothing more is written (a write is
    never begun without its intent on disk, so every file is as it was or as written)."""

    def __init__(self, folder: Path, need: int, free: int):
        GenreTaggerError.__init__(
            self, folder,
            f"not enough free space for the journal ({_size(free)} free, {_size(need)} needed); nothing more was "
            "written (free some space, or GENRE_TAGGER_DATA_DIR can name another folder for the journal)",
        )  # fmt: skip
        self.need, self.free = need, free


def _full(e: BaseException) -> bool:
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(e, sqlite3.Error) and (
        getattr(e, "sqlite_errorcode", None) == 13 or "disk is full" in str(e)  # SQLITE_FULL
    )


def _guarded(method):
    """A journal method that writes: SQLite's and the OS's errors become :class:`JournalError`
    (:class:`JournalFullError` for a full disk), one line for the user, never a traceback."""

    @functools.wraps(method)
    def run(self, *a, **k):
        try:
            return method(self, *a, **k)
        except JournalError:
            raise
        except (OSError, sqlite3.Error) as e:
            try:  # what was not committed is dropped (recovery checks the files of writes left pending),
                self.db.rollback()  # and the database is not held locked by a half-done transaction
            except sqlite3.Error:
                pass
            if _full(e):
                raise JournalFullError(self.path.parent, SPACE_MARGIN, self.free_space()) from e
            raise JournalError(self.path, e) from e

    return run


def pathkey(p: str | Path) -> bytes:
    """The absolute path as bytes: exact for every file name, UTF-8 or not."""
    return os.path.abspath(os.fsencode(p))


class Journal:
    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path else data_dir() / "journal.sqlite3"
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30)
            self.db.executescript(SCHEMA)
            self.db.execute("PRAGMA journal_mode=WAL")
            # every commit reaches the disk before the file is touched: some SQLite builds
            # (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1) would otherwise use NORMAL in WAL mode,
            # where a power cut can lose the last commits, i.e. the intent of a finished write
            self.db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self.db.commit()
        except (OSError, sqlite3.Error) as e:
            if _full(e) or (isinstance(e, sqlite3.Error) and self.free_space() < SPACE_MARGIN):
                raise JournalFullError(path.parent, SPACE_MARGIN, self.free_space()) from e
            raise JournalError(path, e) from e
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self.active_runs: set[int] = set()  # runs this object is writing now (recovery leaves them alone)

    def _migrate(self) -> None:
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        if "interrupted" not in cols:
            self.db.execute("ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0")
        # journals of earlier versions: one row per changed file, genres only
        self.db.execute(
            "INSERT INTO writes (run_id, path, state, before, after, plan) "
            "SELECT run_id, path, 'done', before, after, '{}' FROM changes"
        )
        self.db.execute("DELETE FROM changes")

    def close(self) -> None:
        self.unlock(all_levels=True)
        self.db.close()

    # free space -----------------------------------------------------------------
    def free_space(self) -> int:
        """Bytes free for this user on the journal's disk (a large number if unknown)."""
        try:
            v = os.statvfs(self.path.parent)
        except (OSError, AttributeError):  # Windows has no statvfs
            return 1 << 62
        return v.f_bavail * v.f_frsize

    def check_space(self, need: int = 0) -> None:
        """Raise :class:`JournalFullError` unless the journal's disk has ``need`` bytes free
        and :data:`SPACE_MARGIN` more (checked before each write's intent and before an
        undo: SQLite on a full disk fails half-way, or dies of SIGBUS growing its WAL index)."""
        want, free = need + SPACE_MARGIN, self.free_space()
        if free < want:
            raise JournalFullError(self.path.parent, want, free)

    # the write lock --------------------------------------------------------------
    def lock(self, command: str = "") -> None:
        """Take the journal's write lock (re-entrant in this object); raises
        :class:`JournalBusyError` naming the holder if another process has it."""
        if self._lock_depth:
            self._lock_depth += 1
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise JournalError(lock_path, e) from e
        try:
            _try_lock(fd)
        except OSError as e:
            try:
                holder = pread(fd, 300, 0).decode("utf-8", "replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            who = f" ({holder})" if holder else ""
            raise JournalBusyError(
                f"another genre-tagger run is writing tags{who}; wait until it has finished and try again"
            ) from e
        try:
            os.ftruncate(fd, 0)
            pwrite(fd, f"pid {os.getpid()}: {command}"[:300].encode("utf-8", "replace"), 0)
        except OSError as e:  # a full disk: the holder's name is not written, the lock is not taken
            os.close(fd)
            if _full(e):
                raise JournalFullError(self.path.parent, SPACE_MARGIN, self.free_space()) from e
            raise JournalError(lock_path, e) from e
        self._lock_fd, self._lock_depth = fd, 1

    def unlock(self, all_levels: bool = False) -> None:
        if not self._lock_depth:
            return
        self._lock_depth = 0 if all_levels else self._lock_depth - 1
        if self._lock_depth == 0 and self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    @property
    def locked(self) -> bool:
        return self._lock_depth > 0

    # runs -----------------------------------------------------------------------
    @_guarded
    def start_run(self, command: str, model: str | None = None, undo_of: int | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (started, command, model, undo_of) VALUES (?, ?, ?, ?)",
            (time.time(), command, model, undo_of),
        )
        self.db.commit()
        return int(cur.lastrowid)

    @_guarded
    def finish_run(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET finished = ? WHERE id = ? AND finished IS NULL", (time.time(), run_id))
        self.db.commit()

    @_guarded
    def mark_interrupted(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET interrupted = 1 WHERE id = ?", (run_id,))
        self.db.commit()

    def unfinished_runs(self) -> list[int]:
        rows = self.db.execute("SELECT id FROM runs WHERE finished IS NULL AND interrupted = 0 ORDER BY id")
        return [int(r[0]) for r in rows]

    _RUN_SQL = (
        "SELECT r.id, r.started, r.finished, r.command, r.model, "
        "(SELECT COUNT(*) FROM writes w WHERE w.run_id = r.id AND w.state = 'done'), r.undone_by, r.undo_of, "
        "(SELECT COUNT(*) FROM writes w WHERE w.run_id = r.id AND w.state = 'done' AND w.undone_by IS NOT NULL), "
        "r.interrupted, (SELECT COUNT(*) FROM writes w WHERE w.run_id = r.id AND w.state = 'unknown'), "
        "(SELECT COUNT(*) FROM writes w WHERE w.run_id = r.id AND w.state = 'pending') FROM runs r "
    )

    def runs(self, limit: int = 50) -> list[Run]:
        rows = self.db.execute(self._RUN_SQL + "ORDER BY r.id DESC LIMIT ?", (limit,)).fetchall()
        return [Run(*r[:9], interrupted=bool(r[9]), unknown=r[10], unchecked=r[11]) for r in rows]

    def get_run(self, run_id: int) -> Run | None:
        row = self.db.execute(self._RUN_SQL + "WHERE r.id = ?", (run_id,)).fetchone()
        return None if row is None else Run(*row[:9], interrupted=bool(row[9]), unknown=row[10], unchecked=row[11])

    def last_undoable(self) -> int | None:
        """The newest run (not an undo) with written files not yet restored."""
        row = self.db.execute(
            "SELECT r.id FROM runs r WHERE r.undo_of IS NULL AND EXISTS (SELECT 1 FROM writes w "
            "WHERE w.run_id = r.id AND w.state = 'done' AND w.undone_by IS NULL) ORDER BY r.id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    @_guarded
    def mark_undone(self, run_id: int, by: int) -> None:
        self.db.execute("UPDATE runs SET undone_by = ? WHERE id = ?", (by, run_id))
        self.db.commit()

    # writes -----------------------------------------------------------------------
    _WRITE_SQL = "SELECT id, run_id, path, state, before, after, plan, old, new, undone_by, undo_of FROM writes "

    @staticmethod
    def _row(r) -> WriteRow:
        return WriteRow(r[0], r[1], os.fsdecode(r[2]), r[3], json.loads(r[4]), json.loads(r[5]), json.loads(r[6]), r[7], r[8], r[9], r[10])

    @_guarded
    def begin_write(
        self, run_id: int, path: str | Path, before: list[str], after: list[str], plan: dict,
        old: bytes | None, new: bytes | None, undo_of: int | None = None,
    ) -> int:
        """Record an intended write (state ``pending``), committed before the file is touched."""
        cur = self.db.execute(
            "INSERT INTO writes (run_id, path, state, before, after, plan, old, new, undo_of) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
            (run_id, pathkey(path), json.dumps(before), json.dumps(after), json.dumps(plan), old, new, undo_of),
        )
        self.db.commit()
        return int(cur.lastrowid)

    @_guarded
    def end_write(self, write_id: int, state: str, plan_update: dict | None = None, note: str | None = None, commit: bool = True) -> None:
        """Record how a write ended (``done``, ``failed`` or ``unknown``); an undo marks what
        it undid. ``commit=False``: the row is committed with the next commit (the next
        write's intent, the end of the run) — if that never comes, recovery finds the write
        pending and checks the file, so no fsync is spent on it."""
        # the plan is patched in SQLite (nothing of the row is read back into Python)
        patch = json.dumps(plan_update) if plan_update else None
        self.db.execute(
            "UPDATE writes SET state = ?, plan = CASE WHEN ? IS NULL THEN plan ELSE json_patch(plan, ?) END, note = ? WHERE id = ?",
            (state, patch, patch, note, write_id),
        )
        if state == "done":  # the write it undid, if it is an undo
            self.db.execute("UPDATE writes SET undone_by = ? WHERE id = (SELECT undo_of FROM writes WHERE id = ?)", (write_id, write_id))
        if commit:
            self.db.commit()

    @_guarded
    def update_plan(self, write_id: int, plan_update: dict) -> None:
        """Add to a pending write's plan (committed: a copy-back's digest of its new file)."""
        self.db.execute("UPDATE writes SET plan = json_patch(plan, ?) WHERE id = ?", (json.dumps(plan_update), write_id))
        self.db.commit()

    def writes(self, run_id: int, state: str | None = None) -> list[WriteRow]:
        sql = self._WRITE_SQL + "WHERE run_id = ?" + (" AND state = ?" if state else "") + " ORDER BY path, id"
        return [self._row(r) for r in self.db.execute(sql, (run_id, state) if state else (run_id,))]

    def pending_writes(self) -> list[WriteRow]:
        return [self._row(r) for r in self.db.execute(self._WRITE_SQL + "WHERE state = 'pending' ORDER BY id")]

    def later_write(self, path: str | Path, after_id: int) -> WriteRow | None:
        """The first later, completed, not undone write of the same file (undo writes,
        which put a file back as it was, do not count)."""
        r = self.db.execute(
            self._WRITE_SQL + "WHERE path = ? AND id > ? AND state = 'done' AND undone_by IS NULL "
            "AND undo_of IS NULL ORDER BY id LIMIT 1",
            (pathkey(path), after_id),
        ).fetchone()
        return None if r is None else self._row(r)

    # classification cache ----------------------------------------------------
    def cache_get_many(self, model: str) -> dict[bytes, tuple[int, int, dict]]:
        rows = self.db.execute("SELECT path, size, mtime_ns, result FROM cache WHERE model = ?", (model,))
        return {p: (s, m, json.loads(r)) for p, s, m, r in rows}

    @_guarded
    def cache_put(self, path: str | Path, size: int, mtime_ns: int, model: str, result: dict, commit: bool = True) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cache (path, size, mtime_ns, model, result) VALUES (?, ?, ?, ?, ?)",
            (pathkey(path), size, mtime_ns, model, json.dumps(result)),
        )
        if commit:
            self.db.commit()

    @_guarded
    def cache_move(self, path: str | Path, old: tuple[int, int], new: tuple[int, int], commit: bool = True) -> None:
        """After a tag write (audio verified unchanged): the cache rows of ``path`` for
        (size, mtime) ``old`` now describe ``new``."""
        if old != new:
            self.db.execute(
                "UPDATE cache SET size = ?, mtime_ns = ? WHERE path = ? AND size = ? AND mtime_ns = ?",
                (new[0], new[1], pathkey(path), old[0], old[1]),
            )
            if commit:
                self.db.commit()

    @_guarded
    def commit(self) -> None:
        self.db.commit()


def _try_lock(fd: int) -> None:
    """Exclusive, non-blocking lock of an open file (released when it is closed); OSError if held."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
