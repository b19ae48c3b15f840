"""The one write path for tags: scan, undo, the GUI's batch write and ``--set`` all use it.

Usage (the GUI's API too)::

    with WriteRun(journal, "gui write", model_id) as run:   # takes the journal's lock
        for path, genres in items:                          # (JournalBusyError if another
            res = run.apply(path, genres, options)          # process writes), reconciles
    run.run_id                                              # interrupted runs; apply never
                                                            # raises for one file
    # res: WriteResult(path, status "tagged" | "unchanged" | "error", genres, previous,
    #                  error = one-line reason, bytes_written, write_id)

    undo_run(journal, run_id or None, options) -> (undo run id or None, [WriteResult])
    recover(journal)   # at start-up: reconcile what a crash left (WriteRun does it too)

Protocol for one file (:meth:`WriteRun.apply`):

1. *Plan*: the tag family edits an :class:`~genre_tagger.overlay.Overlay` (the new file,
   in memory, the real file untouched).
2. *Check* the plan, on bytes: every tag item other than the genre identical (raw, see
   :mod:`genre_tagger.rawtags`), the genre reads back as asked, the audio payload
   carried over unchanged (proved from the overlay's segments, else compared by digest).
   Anything unexplained refuses the file with a one-line reason.
3. *Journal* the intent (``pending``), committed (fsync) before the file is touched:
   genres before/after, the raw genre data before, and either the original bytes of
   every range to be overwritten and the original length (in place) or the temporary
   file's name, the new file's layout and the original bytes it no longer holds
   (copy + rename).
4. *Write*: in place when at most :data:`INPLACE_LIMIT` bytes change — the tag fits its
   padding, or what grows is at the end of the file (a WAV/AIFF ID3 chunk, an MP4 ``moov``
   at the end): ``pwrite`` of the changed ranges (appended bytes first), fsync. A tag at
   the start that grows (or, undone, shrinks) on a file system that can move whole blocks
   (:mod:`genre_tagger.shift`: ext4): the padding is chosen so that the audio moves by
   whole blocks, the blocks are inserted (removed), the new head is written, fsync; the
   journal holds the original head. Otherwise a temporary file ``.gt-<run>-<n><ext>``
   beside the original (the new file copied from the overlay, fsync), renamed over it,
   the folder fsynced. A grown tag gets :data:`~genre_tagger.tags.PADDING` bytes of
   padding (a little more when that moves the audio by whole blocks) so later writes
   fit in place.
5. *Record* completion (``done``); move the file's classification cache row to its new
   size and mtime (the audio is unchanged).

A crash between any two steps is reconciled by :func:`recover` on the next start
(every :class:`WriteRun`, ``--history``, the GUI): finished writes are marked done,
half-written in-place ranges are restored from the journal, a shifting write whose
blocks have moved is completed (its new head written whole: no block move needed, and
only when both ends of the moved audio are where the move puts them), temporary files removed,
the run shown as interrupted.

``GENRE_TAGGER_CRASH_AT=<step>`` (tests only) ends the process with ``os._exit`` at a
step: journaled, appended, patch-half, shifted, head-half, patched, temp-written, renamed, done.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from . import shift
from .errors import TagError
from .journal import Journal, JournalBusyError, WriteRow
from .overlay import Overlay, pread, pread_ranges, pwrite_all, restore_segments
from .payload import payload_digest, payload_regions
from .rawtags import Unreadable
from .tags import FAMILIES, PADDING, Family, TagOptions, detect, read_tags, short_reason

TAGGED, UNCHANGED, ERROR = "tagged", "unchanged", "error"
IMAGE_LIMIT = 4 << 20  # the original tag region is journaled (for byte-exact undo) up to this size
INPLACE_LIMIT = 256 << 10  # at most this many bytes changed, appended or cut off: in place; more: a new file

__all__ = ["WriteRun", "WriteResult", "undo_run", "recover", "write_one", "JournalBusyError"]


@dataclass
class WriteResult:
    path: Path
    status: str  # tagged | unchanged | error
    genres: list[str] = field(default_factory=list)  # the genres now in the file (asked for)
    previous: list[str] = field(default_factory=list)
    error: str = ""
    bytes_written: int = 0
    write_id: int | None = None


def _step(name: str) -> None:
    if os.environ.get("GENRE_TAGGER_CRASH_AT") == name:
        os._exit(86)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _new_sha(fd: int, layout: list) -> str:
    """sha256 of the bytes a planned file holds where ``layout`` says they are new."""
    h = hashlib.sha256()
    for b in pread_ranges(fd, [(new_off, n) for new_off, base_off, n in layout if base_off < 0]):
        h.update(b)
    return h.hexdigest()


def _holds_new_file(real: Path, size: int, layout: list, new_sha: str) -> bool:
    """Whether ``real`` is the new file of a replacing write (its size, and its new bytes
    by their digest). OSError if it cannot be read."""
    if real.stat().st_size != size:
        return False
    fd = os.open(real, os.O_RDONLY)
    try:
        return _new_sha(fd, layout) == new_sha
    finally:
        os.close(fd)


def _copy_xattrs(src: int, dst: int) -> None:
    """Extended attributes (user.*, ACLs, ...) go with a new file that replaces the
    original, as an in-place writer would keep them (best effort: some need privileges)."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError:
            pass


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class _Plan:
    path: Path  # as given (shown)
    real: Path  # symlinks resolved: the file written
    family: Family
    container: str
    st: os.stat_result
    overlay: Overlay
    raw_before: dict
    raw_after: dict
    patches: list[tuple[int, bytes]] | None  # the changes made in place (Overlay.patches); None: shifted or a new file
    move: shift.Shift | None = None  # the head rewritten after the rest moved by whole blocks; None: a new file


class WriteRun:
    """A journal run that writes tags. Enter it to take the lock and reconcile interrupted
    runs; :meth:`apply` writes one file; leaving it finishes the run. The run row is
    created at the first write (a run that writes nothing leaves no trace)."""

    def __init__(self, journal: Journal, command: str, model_id: str | None = None, undo_of: int | None = None):
        self.journal, self.command, self.model_id, self.undo_of = journal, command, model_id, undo_of
        self.run_id: int | None = None
        self._swept: set[Path] = set()  # folders already cleared of earlier versions' temporary files

    def __enter__(self) -> WriteRun:
        self.journal.lock(self.command)  # JournalBusyError if another process writes
        try:
            recover(self.journal)
        except BaseException:
            self.journal.unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.run_id is not None:
                self.journal.finish_run(self.run_id)
                self.journal.active_runs.discard(self.run_id)
            self.journal.commit()
        finally:
            self.journal.unlock()

    def _run(self) -> int:
        if self.run_id is None:
            self.run_id = self.journal.start_run(self.command, self.model_id, self.undo_of)
            self.journal.active_runs.add(self.run_id)
        return self.run_id

    # -- one file -------------------------------------------------------------------------
    def apply(
        self,
        path: str | Path,
        genres: list[str],
        options: TagOptions = TagOptions(),
        *,
        raw: dict | None = None,
        undo_of: int | None = None,
        image: list[tuple] | None = None,
    ) -> WriteResult:
        """Set the genre of one file. Never raises for a problem of the file: returns a
        result with ``status == "error"`` and a one-line reason. ``raw`` (undo) restores
        recorded raw genre data instead of writing ``genres``; ``image`` (undo) is the
        whole previous file as overlay segments (see :func:`_exact_image`)."""
        path = Path(path)
        res = WriteResult(path, ERROR, genres=list(genres))
        try:
            res.previous = read_tags(path, options).genres
            if raw is None and image is None and res.previous == list(genres):
                res.status = UNCHANGED
                return res
            plan = self._plan(path, list(genres), options, raw, image)
            if plan is None:
                res.status = UNCHANGED
                return res
            res.write_id, res.bytes_written = self._commit(plan, res.previous, list(genres), options, undo_of)
            res.status = TAGGED
        except TagError as e:
            res.error = e.reason
        except Unreadable as e:
            res.error = f"{e} — not written"
        except Exception as e:  # noqa: BLE001 - one file's problem never ends the run
            res.error = f"not written ({short_reason(e)})"
        return res

    def _plan(self, path: Path, genres: list[str], options: TagOptions, raw: dict | None, image: list[tuple] | None) -> _Plan | None:
        real = path.resolve()  # write through symlinks, never replace the link itself
        if not real.is_file():
            raise TagError(path, "no such file")
        st = real.stat()
        if not os.access(real, os.W_OK) or not st.st_mode & 0o222:
            raise TagError(path, "file is read-only")  # no write bit counts, even for root
        if real.parent not in self._swept:
            self._swept.add(real.parent)
            sweep_old_temp_files(real.parent)
        family, container = detect(real)
        fd = os.open(real, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            ov = Overlay(fd, st.st_size)
            before, raw_before = family.view_raw(ov, st.st_size, container)
            after = None  # the planned file's view, parsed once

            def edit(padding: int = PADDING) -> tuple[Overlay, dict | None]:
                new = Overlay(fd, st.st_size)
                raw_after = family.edit(real, container, new, genres, options, raw, padding)  # None: read with the view below
                new.rebase(before.regions)
                return new, raw_after

            if image is not None:
                ov.segments = list(image)
                after, raw_after = family.view_raw(ov, ov.size, container)
            else:
                ov, raw_after = edit()
            patches = ov.patches(INPLACE_LIMIT)  # None: too much changes, a new file is written
            if patches == [] and ov.size == st.st_size:
                os.close(fd)
                return None  # nothing to change
            move = None
            if patches is None and (block := shift.block_size(fd)):  # the tag grows or shrinks at the start
                padding = PADDING
                for _ in range(4):  # the padding that makes the audio move by whole blocks
                    move, grow = shift.plan_shift(ov.tail(), block)
                    if move is not None or not grow or image is not None:
                        break
                    padding += grow if grow <= block // 2 else grow - block
                    ov, raw_after = edit(padding)
                if move is not None and max(move.head, move.old_head) > IMAGE_LIMIT:
                    move = None  # a head this large is not journaled: a new file
            if after is None:
                after, own = family.view_raw(ov, ov.size, container)
                raw_after = own if raw_after is None else raw_after
            if not before.same_others(after):
                raise TagError(path, f"another tag ({before.changed_item(after)}) would change; not written")
            if image is not None and raw_after["items"] != (raw or {}).get("items", raw_after["items"]):
                raise TagError(path, "verification failed: the original genre data could not be restored")
            if raw is not None and family.raw_restore:
                if raw_after["items"] != raw["items"]:
                    raise TagError(path, "verification failed: the recorded genre data could not be restored")
            elif image is None:
                got = family.info(family.load_from(ov, ov.size, container), options)[0]
                if got != genres:
                    raise TagError(path, f"verification failed: wrote {genres}, read back {got}")
            _check_payload(real, ov, st.st_size)
            return _Plan(path, real, family, container, st, ov, raw_before, raw_after, patches, move)
        except BaseException:
            os.close(fd)
            raise

    def _commit(self, plan: _Plan, before: list[str], after: list[str], options: TagOptions, undo_of: int | None) -> tuple[int, int]:
        ov, real = plan.overlay, plan.real
        try:
            patches = plan.patches
            common = {
                "identity": _identity(plan.st),
                "raw_before": plan.raw_before,
                "raw_after": plan.raw_after,
                "container": plan.container,
            }
            if patches is not None:
                old_size = plan.st.st_size
                olds = _old_bytes(ov.fd, patches, old_size, ov.size)
                news = b"".join(d for _, d in patches)
                p = dict(common, mode="inplace", ranges=[[off, len(d)] for off, d in patches], new_size=ov.size)
                wid = self.journal.begin_write(self._run(), plan.path, before, after, p, olds, news, undo_of)
                _step("journaled")
                return wid, self._write_in_place(plan, wid, patches, olds, options)
            if plan.move is not None:
                m = plan.move
                olds, news = pread(ov.fd, m.old_head, 0), ov.pread(0, m.head)
                p = dict(common, mode="shift", at=m.at, delta=m.delta, head=m.head, new_size=ov.size,
                         probe=_tail_probe(ov.fd, m.old_head, plan.st.st_size))  # fmt: skip
                wid = self.journal.begin_write(self._run(), plan.path, before, after, p, olds, news, undo_of)
                _step("journaled")
                shifted = self._write_shifted(plan, wid, p, olds, news, options)
                if shifted is not None:
                    return wid, shifted
                # the file system refused to move blocks (the intent is journaled as failed): a new file
            if not os.access(real.parent, os.W_OK):
                raise TagError(plan.path, "folder is read-only (a tag that grows needs a new file beside the original)")
            dropped = ov.dropped()
            keep_old = sum(n for _, n in dropped) <= IMAGE_LIMIT
            old = b"".join(pread_ranges(ov.fd, dropped)) if keep_old else None
            new = ov.new_bytes()
            tmp = real.parent / f".gt-{self._run()}-{os.urandom(4).hex()}{real.suffix.lower()}"
            p = dict(common, mode="replace", temp=os.fsdecode(tmp), new_size=ov.size, layout=ov.layout(),
                     dropped=[list(d) for d in dropped] if keep_old else None, new_sha=_sha(new))  # fmt: skip
            wid = self.journal.begin_write(self._run(), plan.path, before, after, p, old, None, undo_of)
            _step("journaled")
            return wid, self._write_replace(plan, wid, tmp, p, old, options)
        finally:
            if ov.fd >= 0:  # (a replacing write closes it before the rename)
                os.close(ov.fd)

    def _open_rw(self, plan: _Plan, wid: int) -> int:
        """The file opened for an in-place write (or the write journaled as failed and TagError)."""
        try:
            return os.open(plan.real, os.O_RDWR)
        except OSError as e:
            self.journal.end_write(wid, "failed", note=short_reason(e))
            raise TagError(plan.path, f"cannot open for writing ({short_reason(e)})") from e

    def _check_unchanged(self, plan: _Plan, wid: int, fd: int, now: bytes, olds: bytes) -> None:
        """The file still as planned: its identity and ``now``, the very bytes to be replaced
        (a tagger that keeps the mtime leaves the same identity), equal to ``olds``; else the
        write is journaled as failed and TagError raised."""
        if _identity(os.fstat(fd)) != _identity(plan.st) or now != olds:
            self.journal.end_write(wid, "failed", note="file changed while planning")
            raise TagError(plan.path, "file changed while it was being written; not written")

    def _write_in_place(self, plan: _Plan, wid: int, patches, olds: bytes, options: TagOptions) -> int:
        st = plan.st
        fd = self._open_rw(plan, wid)
        try:
            new_size, old_size = plan.overlay.size, st.st_size
            self._check_unchanged(plan, wid, fd, _old_bytes(fd, patches, old_size, new_size), olds)
            try:
                for off, data in patches:  # what is appended first: harmless until the rest is written
                    if off >= old_size:
                        pwrite_all(fd, data, off)
                        _step("appended")
                for i, (off, data) in enumerate(p for p in patches if p[0] < old_size):
                    half = len(data) // 2 if i == 0 else 0
                    if half:  # the first range in two writes: a kill in between leaves a torn range (tests)
                        pwrite_all(fd, data[:half], off)
                        _step("patch-half")
                    pwrite_all(fd, data[half:], off + half)
                if new_size < old_size:
                    os.ftruncate(fd, new_size)
                os.fsync(fd)
            except BaseException:
                _put_back(fd, patches, olds, old_size, new_size)
                os.fsync(fd)
                self.journal.end_write(wid, "failed", note="write failed; original bytes restored")
                raise
            new_st = _settle(fd, st, options)
        finally:
            os.close(fd)
        self._done(plan, wid, new_st)
        return sum(len(d) for _, d in patches)

    def _write_shifted(self, plan: _Plan, wid: int, p: dict, olds: bytes, news: bytes, options: TagOptions) -> int | None:
        """Move the audio by whole blocks, then write the new head (see :mod:`genre_tagger.shift`).
        None (the write journaled as failed, the file untouched) if the file system refuses
        to move blocks: the caller writes a new file instead."""
        st, m = plan.st, plan.move
        assert m is not None
        fd = self._open_rw(plan, wid)
        try:
            self._check_unchanged(plan, wid, fd, pread(fd, len(olds), 0), olds)
            if shift.block_size(fd) is None:  # asked again just before: its extents may have changed
                self.journal.end_write(wid, "failed", note="file no longer suited to moving blocks")
                return None
            try:
                shift.apply(fd, m)  # one step of the file system's journal: done whole or not at all
                os.fsync(fd)  # the move on disk before any byte lands in the moved blocks
                _step("shifted")
                if not _tail_at(fd, p, shifted=True):
                    raise OSError(errno.EIO, "the audio is not where the file system moved it")
                half = len(news) // 2  # in two writes: a kill in between leaves a torn head (tests)
                pwrite_all(fd, news[:half], 0)
                _step("head-half")
                pwrite_all(fd, news[half:], half)
                os.fsync(fd)
            except BaseException as e:  # an error or Ctrl-C, whether or not the blocks have moved
                moved = os.fstat(fd).st_size != st.st_size
                if moved and not _tail_at(fd, p, shifted=True):
                    # moved in part (a file system error half-way): nothing more is done to the
                    # file; the write stays pending, and recovery reports the file as changed
                    if isinstance(e, Exception):
                        raise TagError(plan.path, f"file system error while moving blocks ({short_reason(e)}); file left as it is") from e
                    raise
                if moved:
                    _shift_back(fd, m, olds)
                refused = not moved and isinstance(e, OSError)
                note = f"file system cannot move blocks ({short_reason(e)})" if refused else "write failed; original bytes restored"
                self.journal.end_write(wid, "failed", note=note)
                if refused and e.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.ENOTTY):
                    shift.refuse(st.st_dev)
                    return None
                raise
            new_st = _settle(fd, st, options)
        finally:
            os.close(fd)
        self._done(plan, wid, new_st)
        return len(news)

    def _write_replace(self, plan: _Plan, wid: int, tmp: Path, p: dict, old: bytes | None, options: TagOptions) -> int:
        real, st, ov = plan.real, plan.st, plan.overlay
        layout, new_sha = p["layout"], p["new_sha"]
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, stat.S_IMODE(st.st_mode))
            try:
                ov.copy_to(fd)
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except OSError:
                    pass
                _copy_xattrs(ov.fd, fd)
                if options.keep_mtime:
                    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.fsync(fd)  # data and metadata on disk before the rename
                if os.fstat(fd).st_size != ov.size or _new_sha(fd, layout) != new_sha:
                    raise TagError(plan.path, "verification failed: the new file reads back differently; not written")
            finally:
                os.close(fd)
            _step("temp-written")
            # the replaced bytes too: a tagger that keeps the mtime leaves the same identity
            if _identity(real.stat()) != _identity(st) or (old is not None and b"".join(pread_ranges(ov.fd, p["dropped"])) != old):
                raise TagError(plan.path, "file changed while it was being written; not written")
            base_fd, ov.fd = ov.fd, -1
            os.close(base_fd)  # Windows cannot replace a file that is open
            os.replace(tmp, real)
        except BaseException as e:
            try:
                renamed = not tmp.exists() and _holds_new_file(real, ov.size, layout, new_sha)
            except OSError:  # cannot tell: the write stays pending, recovery decides at the next start
                raise e from None
            if renamed:
                self._done(plan, wid, real.stat())  # Ctrl-C raised as the rename returned: written
                raise
            tmp.unlink(missing_ok=True)
            self.journal.end_write(wid, "failed", note=short_reason(e))
            raise
        _step("renamed")
        _fsync_dir(real.parent)
        self._done(plan, wid, real.stat())
        return ov.size

    def _done(self, plan: _Plan, wid: int, new_st: os.stat_result) -> None:
        # committed with the next write's intent or at the end of the run (one fsync less per file)
        self.journal.end_write(wid, "done", {"new_identity": _identity(new_st)}, commit=False)
        self.journal.cache_move(plan.path, (plan.st.st_size, plan.st.st_mtime_ns), (new_st.st_size, new_st.st_mtime_ns), commit=False)
        _step("done")


def _old_bytes(fd: int, patches, old_size: int, new_size: int) -> bytes:
    """What an in-place write overwrites: the bytes of its ranges within the file, and what
    is cut off at the end when the file shrinks (in the order :func:`_put_back` expects)."""
    olds = b"".join(pread_ranges(fd, [(off, len(d)) for off, d in patches if off < old_size]))
    if new_size < old_size:
        olds += pread(fd, old_size - new_size, new_size)
    return olds


def _settle(fd: int, st: os.stat_result, options: TagOptions) -> os.stat_result:
    """A file written in place, its changes on disk (crash step ``patched``): its
    modification time put back if asked; its new status."""
    _step("patched")
    if options.keep_mtime:
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    return os.fstat(fd)


def _shift_back(fd: int, m: shift.Shift, olds: bytes) -> None:
    """Undo a shifting write whose blocks have moved (the file is ``m.delta`` bytes longer or
    shorter than before): the audio back where it was, the original head ``olds`` back.
    Safe to repeat after a kill at any point: it starts from either size."""
    if m.delta > 0:
        # the original head written where it lands once the inserted blocks are removed, then removed
        pwrite_all(fd, olds[: m.at], 0)
        pwrite_all(fd, olds[m.at :], m.at + m.delta)
        os.fsync(fd)
        shift.revert(fd, m)
    else:  # the removed blocks inserted again (a hole), then the original head written over it
        shift.revert(fd, m)
        os.fsync(fd)  # the move on disk before any byte lands in the inserted blocks
        pwrite_all(fd, olds, 0)
    os.fsync(fd)


PROBE = 64 << 10  # bytes at each end of the moved part whose digests the journal keeps


def _tail_probe(fd: int, start: int, end: int) -> list:
    """Digests of the first and the last :data:`PROBE` bytes of ``[start, end)``: the part of
    the file a shifting write moves, to check that it sits where it should."""
    n = min(PROBE, end - start)
    return [n, _sha(pread(fd, n, start)), _sha(pread(fd, n, end - n))]


def _tail_at(fd: int, plan: dict, shifted: bool) -> bool:
    """Whether the part a shifting write moves is where it should be, moved or not (both of
    its ends compared with the journaled digests)."""
    probe = plan.get("probe")
    if probe is None:
        return True
    start, end = (plan["head"], plan["new_size"]) if shifted else (plan["head"] - plan["delta"], plan["identity"][2])
    n, first, last = probe
    return end - start >= n and _sha(pread(fd, n, start)) == first and _sha(pread(fd, n, end - n)) == last


def _put_back(fd: int, patches, olds: bytes, old_size: int, new_size: int) -> None:
    """Undo an in-place write, whole or partial: the original bytes, the original length."""
    pos = 0
    for off, data in patches:
        if off < old_size:
            pwrite_all(fd, olds[pos : pos + len(data)], off)
            pos += len(data)
    if new_size < old_size:
        pwrite_all(fd, olds[pos:], new_size)
    os.ftruncate(fd, old_size)


_OLD_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.genre-tagger\.tmp$")


def sweep_old_temp_files(folder: Path) -> list[Path]:
    """Remove the copies ``.<name>.XXXXXXXX.genre-tagger.tmp`` that versions before the
    journaled write path left beside ``<name>`` when they were killed (never recorded
    anywhere, so only their exact name pattern and an existing ``<name>`` identify them)."""
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    names = set(entries)
    for e in entries:
        m = _OLD_TEMP.match(e)
        if m and m.group("name") in names:
            try:
                (folder / e).unlink()
                removed.append(folder / e)
            except OSError:
                pass
    return removed


def _check_payload(real: Path, ov: Overlay, size: int) -> None:
    """The audio payload must be carried over unchanged: proved from the overlay's
    segments where possible, else by comparing digests."""
    with open(ov.fd, "rb", closefd=False) as base:  # the descriptor the plan was made from, not the path again
        base.seek(0)
        try:
            tail = ov.tail()
            regions = payload_regions(real, base, size, whole_from=tail[1] if tail else None)
            if regions and all(ov.keeps_base(a, b) for a, b in regions):
                return
        except Exception:  # noqa: BLE001 - fall back to the digests
            pass
        try:
            same = payload_digest(real, base, size) == payload_digest(real, ov, ov.size)
        except Exception as e:  # noqa: BLE001
            raise TagError(real, f"cannot verify audio payload ({short_reason(e)}); not written") from e
    if not same:
        raise TagError(real, "verification failed: audio data would change; not written")


# --- recovery ------------------------------------------------------------------------------


def recover(journal: Journal) -> list[tuple[str, str]]:
    """Reconcile writes interrupted by a crash or kill (call with the journal's lock held,
    or let it try the lock: if another process holds it, it is alive and nothing is done).
    Returns ``(path, what happened)`` per pending write."""
    if not journal.locked:
        try:
            journal.lock("recovery")
        except JournalBusyError:
            return []
        try:
            return recover(journal)
        finally:
            journal.unlock()
    out = []
    for w in journal.pending_writes():
        try:
            state, note = _recover_one(w)
        except OSError as e:
            if _may_come_back(w.path, e):  # e.g. a USB disk or NAS not mounted now: check at the next start
                out.append((w.path, f"could not be checked ({short_reason(e)}); checked again at the next start"))
                continue
            state, note = "unknown", f"could not check after an interruption ({short_reason(e)})"
        except Exception as e:  # noqa: BLE001 - recovery must never stop the app
            state, note = "unknown", f"could not check after an interruption ({short_reason(e)})"
        journal.end_write(w.id, state, note=note)
        out.append((w.path, note))
    for run_id in journal.unfinished_runs():
        if run_id not in journal.active_runs:  # a WriteRun of this very object is still going
            journal.mark_interrupted(run_id)
    return out


def _may_come_back(path: str, e: OSError) -> bool:
    """Whether a file that recovery cannot reach may be reachable later: its folder is
    missing (a disk not mounted), or the system refuses access for now. A file missing
    from a folder that is there was moved or deleted: that will not change."""
    if e.errno in (errno.EACCES, errno.EPERM, errno.EIO, errno.EROFS, errno.ENOTCONN, errno.ESTALE, errno.ENODEV):
        return True
    return not os.path.isdir(os.path.dirname(os.path.abspath(path)))


def _recorded_patches(plan: dict, news: bytes) -> list[tuple[int, bytes]]:
    """The ``(offset, new bytes)`` patches of a journaled in-place write (its ranges, cut
    from the new bytes recorded with it)."""
    out, pos = [], 0
    for off, n in plan.get("ranges", []):
        out.append((off, news[pos : pos + n]))
        pos += n
    return out


def _recover_one(w: WriteRow) -> tuple[str, str]:
    plan = w.plan
    real = Path(w.path).resolve()
    if plan.get("mode") == "shift":
        return _recover_shifted(real, plan, w.old or b"", w.new or b"")
    if plan.get("mode") == "replace":
        tmp = Path(plan["temp"])
        if tmp.exists():
            tmp.unlink()
        if _identity(real.stat()) == plan["identity"]:
            return "failed", "interrupted before the write; file unchanged"
        if _holds_new_file(real, plan["new_size"], plan["layout"], plan["new_sha"]):
            _fsync_dir(real.parent)  # the rename on disk before it is recorded
            return "done", "interrupted after the write; the write is complete"
        return "unknown", "interrupted; the file has changed since (left as is)"
    old_size = plan["identity"][2]
    new_size = plan.get("new_size", old_size)
    olds = w.old or b""
    patches = _recorded_patches(plan, w.new or b"")
    with open(real, "rb") as fh:  # checked read-only (a read-only mount can still be checked)
        size = os.fstat(fh.fileno()).st_size
        if size not in (old_size, new_size) and not min(old_size, new_size) <= size <= max(old_size, new_size):
            return "unknown", "interrupted; the file has changed since (left as is)"
        opos, state = 0, set()
        for off, data in patches:
            fh.seek(off)
            cur = fh.read(len(data))
            if off >= old_size:  # appended
                state.add("new" if cur == data else "old" if not cur else "torn")
                continue
            old_b = olds[opos : opos + len(data)]
            opos += len(data)
            if cur == data:
                state.add("new")
            elif cur == old_b:
                state.add("old")
            elif len(cur) == len(data) and all(c in (o, w) for c, o, w in zip(cur, old_b, data)):
                state.add("torn")  # partly written
            else:
                state.add("other")
        if "other" in state:
            return "unknown", "interrupted; the file has changed since (left as is)"
        whole = (state <= {"new"} and size == new_size) or (state <= {"old"} and size == old_size)
        if whole:
            os.fsync(fh.fileno())  # what a killed process left in the page cache, on disk before it is recorded
        if state <= {"new"} and size == new_size:
            return "done", "interrupted after the write; the write is complete"
        if state <= {"old"} and size == old_size:
            return "failed", "interrupted before the write; file unchanged"
    fd = os.open(real, os.O_RDWR)
    try:
        _put_back(fd, patches, olds, old_size, new_size)  # half written: the original bytes back
        os.fsync(fd)
    finally:
        os.close(fd)
    return "failed", "interrupted during the write; original bytes restored"


def _recover_shifted(real: Path, plan: dict, olds: bytes, news: bytes) -> tuple[str, str]:
    """A shifting write found pending: finished (marked done); or its blocks moved and the
    head partly written (the head written whole: completed, which needs no block move);
    or moved back with the head partly written back (the original head written); or not
    started. Anything else (the file changed since, or moved in part) is left as it is."""
    m = shift.Shift(plan["at"], plan["delta"], plan["head"])
    old_size, new_size = plan["identity"][2], plan["new_size"]
    with open(real, "rb") as fh:  # checked read-only (a read-only mount can still be checked)
        fd = fh.fileno()
        size = os.fstat(fd).st_size
        if size not in (old_size, new_size):
            return "unknown", "interrupted; the file has changed since (left as is)"
        moved = size == new_size
        cur = pread(fd, m.head if moved else m.old_head, 0)
        if cur == (news if moved else olds):
            os.fsync(fd)  # what a killed process left in the page cache, on disk before it is recorded
            return ("done", "interrupted after the write; the write is complete") if moved else \
                ("failed", "interrupted before the write; file unchanged")  # fmt: skip
        if not _explained(cur, olds, news, m, shifted=moved) or not _tail_at(fd, plan, shifted=moved):
            return "unknown", "interrupted; the file has changed since (left as is)"
    fd = os.open(real, os.O_RDWR)
    try:
        pwrite_all(fd, news if moved else olds, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    if moved:
        return "done", "interrupted during the write; the write was completed"
    return "failed", "interrupted during the write; original bytes restored"


def _explained(cur: bytes, olds: bytes, news: bytes, m: shift.Shift, shifted: bool) -> bool:
    """Whether every byte of a shifting write's head region is one that the write or its
    undoing (:func:`_shift_back`) can have left there after a kill: the original head
    ``olds``, the new head ``news``, or a hole's zero, each where it lands with the blocks
    moved (``shifted``) or not."""
    at, d = m.at, m.delta
    if not shifted and d > 0:  # a grown file is only ever moved back after its original head is in place
        return False
    for pos, c in enumerate(cur):
        if shifted:  # as after shift.apply: the new head partly written, or the original one
            if c == (news[pos] if pos < len(news) else -1):
                continue
            orig = olds[pos] if pos < at else 0 if at <= pos < at + d else olds[pos - d] if 0 <= pos - d < len(olds) else -1
        else:  # as after shift.revert of a shrinking write (a hole of -d bytes at ``at``)
            if c == olds[pos] or (at <= pos < at - d and c == 0):
                continue
            q = pos if pos < at else pos + d if pos >= at - d else -1
            orig = news[q] if 0 <= q < len(news) else -1
        if c != orig:
            return False
    return True


# --- undo ----------------------------------------------------------------------------------


def undo_run(journal: Journal, run_id: int | None = None, options: TagOptions = TagOptions()) -> tuple[int | None, list[WriteResult]]:
    """Restore the files a run wrote, file by file, through the write path.

    A file is restored byte-exactly (the original bytes of the changed region) when it
    is still as the run left it; else its genre field alone is restored from the
    recorded raw data. Files whose genre changed since, or that a later run changed
    again, are refused with the reason (and can be retried after undoing that run).
    Restored files are marked; the run counts as undone once every file is restored, so
    failed files can be retried. Raises LookupError if there is nothing to undo."""
    with WriteRun(journal, "undo", undo_of=None) as wr:
        run_id = run_id if run_id is not None else journal.last_undoable()
        if run_id is None:
            raise LookupError("nothing to undo")
        run = journal.get_run(run_id)
        if run is None:
            raise LookupError(f"no run {run_id}")
        if run.undo_of is not None:
            raise LookupError(f"run {run_id} is an undo; scan or --set again to change those files")
        todo = sorted((w for w in journal.writes(run_id, "done") if w.undone_by is None), key=lambda w: -w.id)  # newest first
        if not todo:
            raise LookupError(f"run {run_id} has nothing left to undo" + (f" (undone by run {run.undone_by})" if run.undone_by else ""))
        wr.command, wr.undo_of = f"undo {run_id}", run_id
        results = [_undo_one(journal, wr, w, run_id, options) for w in todo]
        if wr.run_id is not None and not [w for w in journal.writes(run_id, "done") if w.undone_by is None]:
            journal.mark_undone(run_id, wr.run_id)
        return wr.run_id, results


def _undo_one(journal: Journal, wr: WriteRun, w: WriteRow, run_id: int, options: TagOptions) -> WriteResult:
    path = Path(w.path)
    later = journal.later_write(path, w.id)
    if later is not None:
        return WriteResult(path, ERROR, w.before, w.after, f"changed again by run {later.run_id}; undo run {later.run_id} first")
    try:
        current = read_tags(path, options).genres
    except TagError as e:
        return WriteResult(path, ERROR, w.before, error=e.reason)
    except Exception as e:  # noqa: BLE001
        return WriteResult(path, ERROR, w.before, error=f"cannot read tags ({short_reason(e)})")
    if current != w.after:
        shown = ", ".join(current) or "(none)"
        return WriteResult(path, ERROR, w.before, current, f"genre changed since run {run_id} (now {shown}); left as is")
    image = _exact_image(path, w)
    raw = w.plan.get("raw_before")
    if raw is not None and raw.get("family") not in FAMILIES:
        raw = None
    res = wr.apply(path, w.before, options, raw=raw, undo_of=w.id, image=image)
    res.genres = w.before
    return res


def _exact_image(path: Path, w: WriteRow) -> list[tuple] | None:
    """Segments (over the file as it is now) that rebuild the file as it was before the
    write, when the file still holds exactly what the write left where it changed it;
    else None (undo then restores the genre field alone)."""
    plan = w.plan
    if plan.get("mode") not in ("inplace", "replace", "shift"):  # a row of an earlier version: genres only
        return None
    try:
        real = path.resolve()
        size = real.stat().st_size
        fd = os.open(real, os.O_RDONLY)
    except OSError:
        return None
    try:
        old_size = plan["identity"][2]
        if plan.get("mode") == "inplace" and w.old is not None and w.new is not None and size == plan.get("new_size", old_size):
            opos = 0
            out, at = [], 0
            for off, data in _recorded_patches(plan, w.new):
                n = len(data)
                if pread(fd, n, off) != data:
                    return None
                if off >= old_size:  # appended by the write: dropped
                    continue
                out += [(at, off - at), (w.old[opos : opos + n],)]
                at, opos = off + n, opos + n
            end = min(size, old_size)
            out.append((at, end - at))
            if old_size > size:  # cut off by the write: put back
                out.append((w.old[opos:],))
            return [s for s in out if (s[1] if len(s) == 2 else len(s[0]))]
        if plan.get("mode") == "shift" and w.old is not None and w.new is not None and size == plan["new_size"]:
            head = plan["head"]
            return [(w.old,), (head, size - head)] if pread(fd, head, 0) == w.new else None
        if plan.get("mode") == "replace" and w.old is not None and plan.get("dropped") is not None and size == plan["new_size"]:
            if _new_sha(fd, plan["layout"]) == plan["new_sha"]:
                return restore_segments(plan["layout"], plan["dropped"], w.old, plan["identity"][2])
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return None


def write_one(path: str | Path, genres: list[str], options: TagOptions = TagOptions(), journal: Journal | None = None) -> list[str]:
    """Write one file in a run of its own (command "write"); raises :class:`TagError`.
    Returns the genres as read back."""
    own = journal is None
    journal = journal or Journal()
    try:
        with WriteRun(journal, "write") as run:
            res = run.apply(path, genres, options)
    finally:
        if own:
            journal.close()
    if res.status == ERROR:
        raise TagError(path, res.error)
    return read_tags(path, options).genres
