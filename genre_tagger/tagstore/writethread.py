"""A writing scan's tag writes, on a thread of their own.

The scan's main loop hands each file to be written (and each classification cache row)
to :class:`WriterThread` through a bounded queue and goes on collecting classification
results; the thread runs a :class:`~genre_tagger.tagstore.write.WriteRun` — the one write path,
with its protocol unchanged (intent journaled and fsynced before the file is touched,
completion after) — over its own journal connection (SQLite objects belong to the
thread that made them). Copying a new file, its fsync and the journal's fsyncs then
overlap decoding and classification instead of holding them up.

    with WriterThread(journal.path, "scan ...", model_id) as w:   # lock + recovery, on the thread
        w.cache_put(path, size, mtime_ns, model_id, entry)        # (JournalBusyError raised here)
        w.write(item, path, genres, options)
        for item, res in w.finished(): ...                        # WriteResults finished so far
        for item, res in w.finished(wait=True): ...               # the rest, each as it finishes
    # leaving normally: every queued write done; by an exception (Ctrl-C twice, the
    # consumer gone): queued writes are dropped unstarted, the one in progress finishes

Every write the thread starts is finished by it (the protocol has no half-done state
that a started write leaves behind; a kill is reconciled by recovery at the next start).
The thread writes files in the order they were handed over; per-file problems come back
as ``WriteResult(status="error")`` with a one-line reason, as from ``WriteRun.apply``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import Journal, JournalError
from .tags import TagOptions
from .write import Expect, WriteResult, WriteRun

DEPTH = 16  # jobs waiting for the thread at most: the scan's loop waits when it is this far ahead
COMMIT_EVERY = 1.0  # seconds: cache rows are committed about this often (and with every write's intent)
_POLL = 0.2  # seconds: waits on the thread look this often whether it is still alive


@dataclass
class _Write:
    item: Any  # the caller's, given back with the result
    path: Path
    genres: list[str]
    options: TagOptions
    expect: Expect | None = None


@dataclass
class _CacheRow:
    path: Path
    size: int
    mtime_ns: int
    model: str
    entry: dict


_STOP = object()


class WriterThreadError(RuntimeError):
    """The writer thread ended unexpectedly (a bug, not a file's problem)."""


class WriterThread:
    """A :class:`WriteRun` on a dedicated thread, fed by a bounded queue (see the module)."""

    def __init__(self, journal_path: str | Path, command: str, model_id: str | None = None, depth: int = DEPTH):
        self._journal_path, self._command, self._model_id = Path(journal_path), command, model_id
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._results: queue.SimpleQueue[tuple[Any, WriteResult]] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._drop = threading.Event()  # set on an exception: queued writes are not started
        self._error: BaseException | None = None
        self._unreported = 0  # writes handed over whose result has not been taken yet
        # not a daemon: the interpreter waits for it at exit, so a write is never cut short
        self._thread = threading.Thread(target=self._main, name="genre-tagger writer")
        self.run_id: int | None = None  # the journal run, once the first file is written

    # -- the caller's side (the scan's thread) ---------------------------------------------------
    def __enter__(self) -> WriterThread:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:  # JournalBusyError, JournalError: nothing was written
            self._thread.join()
            raise self._error
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._drop.set()
        self._put(_STOP, check=False)
        self._thread.join()
        if exc_type is None and isinstance(self._error, JournalError):
            raise self._error  # a full disk under the journal: one line for the user
        if exc_type is None and self._error is not None:
            raise WriterThreadError(f"tag writer stopped: {self._error}") from self._error

    def write(
        self, item: Any, path: str | Path, genres: list[str], options: TagOptions = TagOptions(), expect: Expect | None = None
    ) -> None:
        """Queue one file's write (waits while the queue is full); its result comes back,
        with ``item``, from :meth:`finished`. ``expect``: what the decision saw (see
        :class:`~genre_tagger.tagstore.write.Expect`), checked just before the write;
        ``redecide`` then runs on the writer thread."""
        self._put(_Write(item, Path(path), list(genres), options, expect))
        self._unreported += 1

    def cache_put(self, path: str | Path, size: int, mtime_ns: int, model: str, entry: dict) -> None:
        """Queue a classification cache row (written in order with the writes, which move it)."""
        self._put(_CacheRow(Path(path), size, mtime_ns, model, entry))

    def finished(self, wait: bool = False) -> Iterator[tuple[Any, WriteResult]]:
        """``(item, WriteResult)`` of the writes finished so far, one by one; ``wait``: of
        every write handed over, each as soon as it is done."""
        while self._unreported:
            try:
                done = self._results.get(timeout=_POLL) if wait else self._results.get_nowait()
            except queue.Empty:
                if not wait:
                    return
                self._check()
                continue
            self._unreported -= 1
            yield done

    def _put(self, job: object, check: bool = True) -> None:
        while True:
            try:
                self._jobs.put(job, timeout=_POLL)
                return
            except queue.Full:
                if check:
                    self._check()
                elif not self._thread.is_alive():
                    return

    def _check(self) -> None:
        if not self._thread.is_alive():
            if isinstance(self._error, JournalError):
                raise self._error
            raise WriterThreadError(f"tag writer stopped: {self._error or 'unknown reason'}") from self._error

    # -- the thread ------------------------------------------------------------------------------
    def _main(self) -> None:
        journal = None
        try:
            journal = Journal(self._journal_path)
            with WriteRun(journal, self._command, self._model_id) as run:
                self._ready.set()
                self._serve(journal, run)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            self._error = e
        finally:
            self._ready.set()
            if journal is not None:
                journal.close()

    def _serve(self, journal: Journal, run: WriteRun) -> None:
        last_commit = time.monotonic()
        while True:
            ending = not threading.main_thread().is_alive()  # the program ends without having left
            if ending:  # the ``with`` (the scan's generator never closed): queued writes are dropped,
                self._drop.set()  # the run is finished, then the interpreter exits
            try:
                job = self._jobs.get(timeout=_POLL)
            except queue.Empty:
                if ending:
                    return
                continue
            if job is _STOP:
                return
            if isinstance(job, _CacheRow):
                journal.cache_put(job.path, job.size, job.mtime_ns, job.model, job.entry, commit=False)
            elif not self._drop.is_set():
                res = run.apply(job.path, job.genres, job.options, expect=job.expect)  # never raises for one file's problem
                self.run_id = run.run_id
                self._results.put((job.item, res))
            if time.monotonic() - last_commit > COMMIT_EVERY:
                journal.commit()
                last_commit = time.monotonic()
