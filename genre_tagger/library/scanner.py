"""The headless scan: find files, classify (cached, in parallel), decide, write, journal.

The scanner yields one :class:`FileResult` per file as results arrive; the CLI and the
GUI render them. Per-file problems become ``status == "error"`` results with a
one-line reason; the scan always goes on.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import GenreTaggerError, TagError
from ..listen.model import Classification, Classifier, load_info
from ..listen.modelmeta import ModelMeta
from ..reasons import cannot_read
from ..tagstore.journal import Journal, pathkey
from ..tagstore.recover import recover
from ..tagstore.steps import identity
from ..tagstore.tags import TagOptions, read_tags
from ..tagstore.undo import undo_run
from ..tagstore.write import CHANGED as WRITE_CHANGED
from ..tagstore.write import Expect, WriteResult, read_only
from ..tagstore.writethread import COMMIT_EVERY, WriterThread
from .albums import ALBUM, FOLLOWS_ALBUM, GROUPINGS, AlbumDecision, AlbumGate, TrackRef, album_folder, settings_for, track_ref
from .files import iter_audio_files
from .policy import CHANGED, ERROR, TAGGED, UNCHANGED, WritePolicy, decide, display_genres, redecide
from .processes import exit_with_parent, start_fork_server, terminate_workers, worker_context, worker_count


@dataclass
class ScanOptions:
    policy: WritePolicy = field(default_factory=WritePolicy)
    tag_options: TagOptions = field(default_factory=TagOptions)
    model: str | Path | None = None  # metadata JSON / ONNX; None = the bundled model
    vocabulary: str | None = None  # one of the model's vocabularies (ModelMeta.vocabulary_names); None = its default
    workers: int = 0  # processes for decoding + inference; 0 = one per CPU core
    use_cache: bool = True
    in_process: bool = True  # workers == 1 classifies in this process; False: always a worker process (GUI)
    group: str = ALBUM  # ALBUM: decide per album (library.albums); TRACK: every track on its own


@dataclass
class FileResult:
    path: Path
    status: str
    genres: list[str] = field(default_factory=list)  # written (or would be)
    previous: list[str] = field(default_factory=list)
    top: list[tuple[str, float]] = field(default_factory=list)  # display names, all genres
    tags: list[tuple[str, float]] = field(default_factory=list)  # the taggers' extra genre-like tags
    classification: Classification | None = None  # every vocabulary's probabilities (see summarise)
    artist: str = ""
    title: str = ""
    album: str = ""
    duration: float = 0.0
    error: str = ""
    cached: bool = False
    album_artist: str = ""
    track_number: str = ""
    disc_number: str = ""
    read_only: bool = False  # a write would be refused (found by the scan, before any write)
    # the album decision (library.albums; empty with --group track or without an album)
    album_key: str = ""  # the album's name ("Artist — Album", or its folder's)
    album_tracks: int = 0  # tracks pooled into the album's decision
    album_top: list[tuple[str, float]] = field(default_factory=list)  # the album's pooled probabilities
    album_genres: list[str] = field(default_factory=list)  # what the album's decision writes ([]: unsure)
    decided_by: str = ""  # albums.FOLLOWS_ALBUM / OWN_CONTRADICTS / OWN_SINGLE; "" with --group track
    identity: tuple[int, ...] | None = None  # (device, inode, size, mtime_ns) before ``previous`` was read

    @property
    def album_confidence(self) -> float | None:
        return self.album_top[0][1] if self.album_top else None


def expectation(res: FileResult, policy: WritePolicy, top: list[tuple[str, float]] | None = None) -> Expect:
    """What the decision about ``res`` saw, for the write to check (see
    :class:`~genre_tagger.tagstore.write.Expect`): a file changed since is decided anew,
    on the same probabilities (``top``: the album's when it follows its album; default its own)."""
    return Expect(res.identity, list(res.previous), redecide(list(res.top if top is None else top), policy))


def apply_write(res: FileResult, w: WriteResult) -> FileResult:
    """``res`` as its write ended: written, found changed since the scan (and decided
    anew), or failed."""
    if w.status == ERROR:
        res.status, res.error, res.genres = ERROR, w.error, []
        return res
    res.previous = list(w.previous)
    res.genres = list(w.genres)
    if w.status == WRITE_CHANGED:
        res.status = CHANGED
    elif w.status == UNCHANGED:
        res.status = UNCHANGED
    return res


# ---------------------------------------------------------------------------
# worker process: one Classifier per process, reused for every file

_WORKER: Classifier | None = None


def _init_worker(model: str | None, threads: int, quiet_stderr: bool = False) -> None:
    global _WORKER
    if quiet_stderr:  # a worker process (not InlinePool): Ctrl-C is the main process's business,
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # and decoders' notes on fd 2 go nowhere (errors come back as results)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        exit_with_parent()  # the app killed (SIGKILL, crash): no worker is left behind
    _WORKER = Classifier(model, threads=threads)


def _classify(path: str) -> Classification | str:
    """Runs in a worker: decode + front-end + ONNX. Returns the Classification, or the
    one-line reason on failure (never raises for bad files)."""
    assert _WORKER is not None
    try:
        return _WORKER.classify_file(path)
    except GenreTaggerError as e:
        return e.reason
    except Exception as e:  # a worker must report, not die
        return f"unexpected error: {type(e).__name__}: {e}"


class InlinePool:
    """Same interface as the process pool, in this process (workers=1, tests, GUI fallback)."""

    def __init__(self, model: str | None):
        _init_worker(model, 0)

    def submit(self, fn, *args) -> Future:
        f: Future = Future()
        f.set_result(fn(*args))
        return f

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def summarise(
    c: Classification, meta: ModelMeta, vocabulary: str | None = None, mapping: dict[str, str] | None = None
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """What a user sees of a Classification in one vocabulary (None = the model's default):
    ``(top, tags)`` = all genres as (display name after the user's ``mapping``, p) best
    first, and the taggers' genre-like tags as (display name, p) best first. Switching
    vocabulary is a call of this with another name (no reclassification)."""
    vocab = meta.vocabulary(vocabulary)
    display = dict(zip(vocab.genres, vocab.display))
    return display_genres(c.ranked(vocab.name), display, mapping or {}), c.ranked_tags(meta.tag_display)


def cache_entry(c: Classification) -> dict:
    """The scan cache's row for a Classification (all vocabularies, rounded to 1e-6)."""
    d = c.to_dict()
    d["probs"] = {v: {g: round(p, 6) for g, p in ps.items()} for v, ps in c.probs.items()}
    d["tags"] = {t: round(p, 6) for t, p in c.tags.items()}
    return d


def from_cache_entry(d: dict, meta: ModelMeta) -> Classification | None:
    """A cached row back as a Classification; None if it lacks one of ``meta``'s vocabularies."""
    try:
        c = Classification.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return c if all(v in c.probs for v in meta.vocabulary_names) else None


class Scanner:
    def __init__(self, options: ScanOptions, journal: Journal | None = None):
        self.options = options
        self.info = load_info(options.model)
        vocab = self.info.vocabulary(options.vocabulary)  # ValueError naming the choices
        self.vocabulary = vocab.name
        self.policy = options.policy.with_default_threshold(vocab.min_confidence)
        if options.group not in GROUPINGS:
            raise ValueError(f"unknown grouping {options.group!r} (choose from: {', '.join(GROUPINGS)})")
        # album decisions: the model's album settings; a threshold the user chose applies to albums too
        self.album_settings = settings_for(vocab, options.policy.min_confidence) if options.group == ALBUM else None
        album_threshold = self.album_settings.min_confidence if self.album_settings is not None else self.policy.threshold
        self.album_policy = replace(self.policy, min_confidence=album_threshold)
        self.journal = journal or Journal()
        self.cancelled = threading.Event()
        self.run_id: int | None = None

    def cancel(self) -> None:
        self.cancelled.set()

    # -- per file --------------------------------------------------------------
    def _finish(self, path: Path, c: Classification, cached: bool) -> FileResult:
        info, opts = self.info, self.options
        res = FileResult(path=path, status=ERROR, cached=cached, duration=c.duration, classification=c)
        res.top, res.tags = summarise(c, info, self.vocabulary, self.policy.mapping)
        try:
            st = os.stat(path)  # before the tags: a change after it shows at the write
            tags = read_tags(path, opts.tag_options)
        except TagError as e:
            res.error = e.reason
            return res
        except OSError as e:
            res.error = cannot_read(e)
            return res
        res.identity = tuple(identity(st))
        res.artist, res.title, res.album = tags.artist, tags.title, tags.album
        res.album_artist, res.track_number, res.disc_number = tags.album_artist, tags.track_number, tags.disc_number
        res.previous = tags.genres
        if tags.duration:
            res.duration = tags.duration
        res.status, res.genres = decide(res.top, tags.genres, self.policy)
        try:
            res.read_only = read_only(path, st)
        except OSError:
            pass  # gone or unreachable since: the write says why
        return res

    def _settle(self, res: FileResult) -> Iterator[FileResult]:
        """Through the album gate (``--group album``): ``res`` and the other tracks of its
        album once the album can be decided; then :meth:`_report`."""
        if self._gate is None:
            yield from self._report(res)
            return
        ok = res.status != ERROR
        for r, d in self._gate.add(res.path, track_ref(res) if ok else None, res.top if ok else [], res):
            yield from self._report(self._album_decided(r, d))
        if not ok:
            yield from self._report(res)

    def _album_decided(self, res: FileResult, d: AlbumDecision) -> FileResult:
        """``res`` decided as its album says (see :func:`genre_tagger.library.albums.album_decisions`)."""
        res.decided_by = d.basis
        if d.album is not None:
            res.album_key, res.album_tracks, res.album_top = d.album.name, d.tracks, list(d.album_top)
            res.album_genres = decide(list(d.album_top), [], replace(self.album_policy, overwrite=True))[1] if d.tracks > 1 else []
        res.status, res.genres = decide(list(d.top), res.previous, self.album_policy if d.follows_album else self.policy)
        return res

    def _report(self, res: FileResult) -> Iterator[FileResult]:
        """Yield ``res``, or hand it to the writer thread if it is to be written; then the
        results of the writes finished meanwhile."""
        if self._writer is None:
            yield res
            return
        if res.status == TAGGED:  # the write path journals it and moves the cache row
            follows = res.decided_by == FOLLOWS_ALBUM
            expect = expectation(res, self.album_policy, res.album_top) if follows else expectation(res, self.policy)
            self._writer.write(res, res.path, res.genres, self.options.tag_options, expect)
        else:
            yield res
        yield from self._written()

    def _written(self, wait: bool = False) -> Iterator[FileResult]:
        """The results of the writes finished so far (``wait``: of all handed over)."""
        assert self._writer is not None
        for res, w in self._writer.finished(wait):
            self.run_id = self._writer.run_id
            yield apply_write(res, w)

    def _cache_put(self, path: Path, size: int, mtime: int, c: Classification) -> None:
        """Remember a classification (committed about once a second; in a writing scan by
        the writer thread, in order with the write that moves the row)."""
        if self._writer is not None:
            self._writer.cache_put(path, size, mtime, self.info.model_id, cache_entry(c))
            return
        self.journal.cache_put(path, size, mtime, self.info.model_id, cache_entry(c), commit=False)
        if time.monotonic() - self._last_commit > COMMIT_EVERY:
            self.journal.commit()
            self._last_commit = time.monotonic()

    def _error(self, path: Path, reason: str) -> FileResult:
        return FileResult(path=path, status=ERROR, error=reason)

    # -- the scan ----------------------------------------------------------------
    command: str = "scan"

    _writer: WriterThread | None = None
    _gate: AlbumGate | None = None
    _last_commit: float = 0.0

    def scan(self, roots: Iterable[str | Path], on_total: Callable[[int], None] | None = None) -> Iterator[FileResult]:
        """Yield one result per audio file under ``roots``; call ``on_total`` once the count is known.

        A writing scan holds the journal's lock throughout (raises
        :class:`~genre_tagger.tagstore.journal.JournalBusyError` at the start if another run writes);
        every scan first reconciles writes interrupted earlier."""
        if self.options.policy.dry_run:
            recover(self.journal)
            yield from self._scan(roots, on_total)
            return
        # the writes run on a thread of their own (lock, recovery and journal connection
        # too), so that copies and fsyncs overlap classification
        writer = WriterThread(self.journal.path, self.command, self.info.model_id)
        try:
            with writer as self._writer:
                yield from self._scan(roots, on_total)
                yield from self._written(wait=True)  # also after Ctrl-C: the files handed over are finished
        finally:  # the thread has ended: its last write is known
            self.run_id, self._writer = writer.run_id, None

    def _scan(self, roots: Iterable[str | Path], on_total: Callable[[int], None] | None = None) -> Iterator[FileResult]:
        roots = list(roots)  # walked twice: the files, then the album folders seen in part
        if worker_count(self.options.workers) > 1 or not self.options.in_process:
            start_fork_server()  # it imports the heavy modules while the files are listed
        errors: list[FileResult] = []
        files = []
        for p in iter_audio_files(roots, on_error=lambda p, why: errors.append(self._error(p, why))):
            if self.cancelled.is_set():  # Ctrl-C while listing a large library
                return
            files.append(p)
        if on_total:
            on_total(len(files) + len(errors))
        yield from errors
        self._gate = AlbumGate(files, self.album_settings) if self.album_settings is not None else None
        model_id = self.info.model_id
        todo: list[tuple[Path, int, int]] = []
        cache = self.journal.cache_get_many(model_id) if self.options.use_cache else {}
        if self._gate is not None:
            self._album_context(roots, files, cache)
        for p in files:
            if self.cancelled.is_set():
                break
            try:
                st = p.stat()
            except OSError as e:
                yield from self._settle(self._error(p, cannot_read(e)))
                continue
            hit = cache.get(pathkey(p))
            c = from_cache_entry(hit[2], self.info) if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns else None
            if c is not None:
                yield from self._settle(self._finish(p, c, cached=True))
            else:
                todo.append((p, st.st_size, st.st_mtime_ns))
        if todo and not self.cancelled.is_set():
            yield from self._classify_all(todo)  # a writing run is finished by WriteRun's exit (scan())
        if self._gate is not None:  # the end (or Ctrl-C): tracks still held are decided over what was seen
            gate, self._gate = self._gate, None
            for r, d in gate.flush():
                yield from self._report(self._album_decided(r, d))

    def _album_context(self, roots: Iterable[str | Path], files: list[Path], cache: dict) -> None:
        """Album folders the scan sees only in part (``--scan "Album/05 new.flac"``, or
        ``--scan "Album/Disc 2"``): their other tracks that the cache knows (unchanged since)
        lend their evidence to the album's decision; they are neither reported nor written."""
        dirs = [Path(os.path.abspath(r)) for r in roots if Path(r).is_dir()]
        folders = {album_folder(p) for p in files}
        partial = sorted(f for f in folders if not any(f == d or d in f.parents for d in dirs))
        if not partial:
            return
        scanned = {pathkey(p) for p in files}
        for p in iter_audio_files(partial):
            k = pathkey(p)
            hit = cache.get(k)
            if k in scanned or hit is None:
                continue
            try:
                st = p.stat()
                c = from_cache_entry(hit[2], self.info) if (hit[0], hit[1]) == (st.st_size, st.st_mtime_ns) else None
                if c is None:
                    continue
                tags = read_tags(p, self.options.tag_options)
            except (OSError, TagError):
                continue
            top, _ = summarise(c, self.info, self.vocabulary, self.policy.mapping)
            ref = TrackRef(p, tags.artist, tags.album, tags.album_artist, tags.track_number, tags.disc_number)
            self._gate.add_context(p, ref, top)

    def _pool(self, n: int):
        model = str(self.info.path)
        if n <= 1 and self.options.in_process:
            return InlinePool(model)
        return ProcessPoolExecutor(n, mp_context=worker_context(), initializer=_init_worker, initargs=(model, 1, True))

    def _classify_all(self, todo: list[tuple[Path, int, int]]) -> Iterator[FileResult]:
        n = worker_count(self.options.workers)
        n = max(1, min(n, len(todo)))
        pool = self._pool(n)
        pending: dict[Future, tuple[Path, int, int]] = {}
        queue = list(reversed(todo))
        self._last_commit = time.monotonic()
        try:
            while queue or pending:
                while queue and len(pending) < 2 * n and not self.cancelled.is_set():
                    item = queue.pop()
                    pending[pool.submit(_classify, str(item[0]))] = item
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    path, size, mtime = pending.pop(fut)
                    try:
                        c = fut.result()
                    except Exception as e:  # a crashed worker
                        if not self.cancelled.is_set():  # cancelled: files not finished are simply not reported
                            yield from self._settle(self._error(path, f"classification failed ({type(e).__name__})"))
                        continue
                    if isinstance(c, str):
                        yield from self._settle(self._error(path, c))
                        continue
                    if self.options.use_cache:
                        self._cache_put(path, size, mtime, c)
                    yield from self._settle(self._finish(path, c, cached=False))
                if self.cancelled.is_set():
                    queue.clear()
                    for fut in list(pending):  # not started yet: dropped; running: finished and reported
                        if fut.cancel():
                            del pending[fut]
        except BaseException:  # KeyboardInterrupt (a second Ctrl-C), GeneratorExit: stop the workers now
            terminate_workers(pool)
            raise
        finally:
            self.journal.commit()
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            except KeyboardInterrupt:  # a second Ctrl-C while the last files finish
                terminate_workers(pool)
                raise


def _file_result(w: WriteResult) -> FileResult:
    return FileResult(Path(w.path), w.status, genres=list(w.genres), previous=list(w.previous), error=w.error)


def undo(journal: Journal, run_id: int | None = None, options: TagOptions = TagOptions()) -> tuple[int | None, list[FileResult]]:
    """Restore the files a run wrote, through the write path (see
    :func:`genre_tagger.tagstore.undo.undo_run`). Returns (undo run id or None, results)."""
    new_run, results = undo_run(journal, run_id, options)
    return new_run, [_file_result(r) for r in results]
