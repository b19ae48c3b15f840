"""Long work off the GUI thread: QRunnables on the global QThreadPool whose results are
posted back through signals (in batches, so the event loop never stalls)."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QRunnable, Signal

from ..library.scanner import Scanner, ScanOptions
from ..tagstore.journal import Journal
from ..tagstore.tags import TagOptions


class ScanSignals(QObject):
    total = Signal(int)
    results = Signal(list)  # list[FileResult]
    finished = Signal(bool)  # cancelled?
    failed = Signal(str)


class ScanWorker(QRunnable):
    """Classify a folder (dry run: nothing is written); post results every ~100 ms."""

    def __init__(self, roots: list[str], options: ScanOptions, scanner_factory=None):
        super().__init__()
        self.roots, self.options = roots, options
        self.signals = ScanSignals()
        self.cancel_event = threading.Event()
        self._factory = scanner_factory or (lambda opts: Scanner(opts, Journal()))
        self.scanner: Scanner | None = None

    def cancel(self) -> None:
        self.cancel_event.set()
        if self.scanner is not None:
            self.scanner.cancel()

    def run(self) -> None:
        try:
            self.scanner = self._factory(self.options)
            if self.cancel_event.is_set():
                self.scanner.cancel()
            batch, last = [], time.monotonic()
            for r in self.scanner.scan(self.roots, on_total=self.signals.total.emit):
                batch.append(r)
                if time.monotonic() - last > 0.1:
                    self.signals.results.emit(batch)
                    batch, last = [], time.monotonic()
                if self.cancel_event.is_set():
                    self.scanner.cancel()
            if batch:
                self.signals.results.emit(batch)
            self.signals.finished.emit(self.cancel_event.is_set())
        except Exception as e:  # shown in the window, never a crash
            self.signals.failed.emit(str(e))


class WriteSignals(QObject):
    done = Signal(object, list)  # run id or None, results
    failed = Signal(str)


class WriteWorker(QRunnable):
    """Write the reviewed genres (or undo the last write) through the one write path
    (:mod:`genre_tagger.tagstore.write`), off the GUI thread."""

    def __init__(
        self,
        items: list[tuple],  # (path, genres) or (path, genres, tagstore.write.Expect)
        tag_options: TagOptions,
        model_id: str | None,
        undo_run: int | None = None,
        undo: bool = False,
        name: str = "",  # the write's name in the history (Review.write_name); not for an undo
    ):
        super().__init__()
        self.items, self.tag_options, self.model_id = items, tag_options, model_id
        self.name = name
        self.undo, self.undo_run = undo, undo_run
        self.undone_of: int | None = None  # the run an undo put back (known once it ran)
        self.signals = WriteSignals()

    def run(self) -> None:
        from ..tagstore.undo import undo_run
        from ..tagstore.write import WriteRun

        journal = None
        try:
            journal = Journal()
            if self.undo:
                run_id, results = undo_run(journal, self.undo_run, self.tag_options)
                done = journal.get_run(run_id) if run_id is not None else None
                self.undone_of = done.undo_of if done is not None else self.undo_run
            else:
                with WriteRun(journal, self.name, self.model_id) as run:
                    # (path, genres[, Expect]): a file changed since its review is decided anew
                    results = [run.apply(path, genres, self.tag_options, expect=rest[0] if rest else None)
                               for path, genres, *rest in self.items]  # fmt: skip
                run_id = run.run_id
            self.signals.done.emit(run_id, results)
        except Exception as e:  # shown in the window (e.g. nothing to undo, journal busy)
            self.signals.failed.emit(str(e).strip("'\""))
        finally:
            if journal is not None:
                journal.close()
