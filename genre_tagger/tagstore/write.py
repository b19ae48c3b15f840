"""The one write path for tags: scan, undo, the GUI's batch write and ``--set`` all use it.

Usage (the GUI's API too)::

    with WriteRun(journal, "gui write", model_id) as run:   # takes the journal's lock
        for path, genres in items:                          # (JournalBusyError if another
            res = run.apply(path, genres, options)          # process writes), reconciles
    run.run_id                                              # interrupted runs; apply never
                                                            # raises for one file
    # res: WriteResult(path, status "tagged" | "unchanged" | "changed-since-scan" | "error",
    #                  genres, previous, error = one-line reason, bytes_written, write_id)

    undo_run(journal, run_id or None, options) -> (undo run id or None, [WriteResult])
    recover(journal)   # at start-up: reconcile what a crash left (WriteRun does it too)

Protocol for one file (:meth:`WriteRun.apply`):

0. *Recheck* (with ``expect=``, an :class:`Expect`: what the decision to write saw): on the
   descriptor the plan is made from, the file's identity (device, inode, size, mtime) and
   its genres now are compared with what the decision saw. If either differs, the caller's
   ``redecide`` (the policy, applied to the genres there now) says what to write, or to
   leave the file (status ``changed-since-scan``): a value the decision did not see is
   never written over unasked. The write itself then checks, on its own descriptor, that
   the file is still the one planned (identity and the bytes it replaces).
1. *Plan*: the tag family edits an :class:`~genre_tagger.tagstore.overlay.Overlay` (the new file,
   in memory, the real file untouched).
2. *Check* the plan, on bytes: every tag item other than the genre identical (raw, see
   :mod:`genre_tagger.tagstore.rawtags`), the genre reads back as asked, the audio payload
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
   (:mod:`genre_tagger.tagstore.shift`: ext4): the padding is chosen so that the audio moves by
   whole blocks, the blocks are inserted (removed), the new head is written, fsync; the
   journal holds the original head. Otherwise a temporary file ``.gt-<run>-<n><ext>``
   beside the original (the new file copied from the overlay, fsync), renamed over it,
   the folder fsynced. A file with several hard links keeps them on every path: its new
   file is not renamed but copied back over the original in place (the digests of the
   whole original and, committed before the copy begins, of the whole new file are
   journaled; a crash half-way is finished from the temporary file at the next start).
   A grown tag gets :data:`~genre_tagger.tagstore.tags.PADDING` bytes of padding (a
   little more when that moves the audio by whole blocks) so later writes fit in place.
5. *Record* completion (``done``); move the file's classification cache row to its new
   size and mtime (the audio is unchanged).

A crash between any two steps is reconciled by :func:`recover` on the next start
(every :class:`WriteRun`, ``--history``, the GUI): finished writes are marked done,
half-written in-place ranges are restored from the journal, a shifting write whose
blocks have moved is completed (its new head written whole: no block move needed, and
only when both ends of the moved audio are where the move puts them), temporary files removed,
the run shown as interrupted.

``GENRE_TAGGER_CRASH_AT=<step>`` (tests only) ends the process with ``os._exit`` at a
step: journaled, appended, patch-half, shifted, head-half, patched, temp-written, renamed,
copy-half, copied, done.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TagError
from . import shift
from .journal import Journal, JournalBusyError, JournalError
from .overlay import Overlay, pread, pread_ranges, pwrite_all
from .payload import payload_digest, payload_regions
from .rawtags import Unreadable
from .recover import recover, sweep_old_temp_files
from .steps import copy_back, file_sha, fsync_dir, holds_new_file, identity, new_sha, path_sha, put_back, sha, step, tail_at, tail_probe
from .tags import PADDING, Family, TagOptions, detect, read_tags, short_reason

TAGGED, UNCHANGED, ERROR = "tagged", "unchanged", "error"
CHANGED = "changed-since-scan"  # the file changed after the decision; what it holds now was left as it is
IMAGE_LIMIT = 4 << 20  # the original tag region is journaled (for byte-exact undo) up to this size
INPLACE_LIMIT = 256 << 10  # at most this many bytes changed, appended or cut off: in place; more: a new file

__all__ = ["WriteRun", "WriteResult", "Expect", "write_one", "write_genres", "JournalBusyError"]


@dataclass(frozen=True)
class Expect:
    """What a decision to write a file saw (see step 0 of the protocol). ``identity``:
    :func:`~genre_tagger.tagstore.steps.identity` of the file, taken before its genres were
    read (None: not known, the genres alone are compared); ``genres``: the genres it held;
    ``redecide(genres now)``: the genres to write into the file as it is now, or None to
    leave it (None as ``redecide``: a changed file is always left)."""

    identity: tuple[int, ...] | list[int] | None
    genres: list[str]
    redecide: Callable[[list[str]], list[str] | None] | None = None


class _Leave(Exception):
    """The recheck found nothing to write (status ``status``)."""

    def __init__(self, status: str):
        self.status = status


@dataclass
class WriteResult:
    path: Path
    status: str  # tagged | unchanged | changed-since-scan | error
    genres: list[str] = field(default_factory=list)  # the genres now in the file (asked for)
    previous: list[str] = field(default_factory=list)
    error: str = ""
    bytes_written: int = 0
    write_id: int | None = None



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



def read_only(path: Path, st: os.stat_result | None = None) -> bool:
    """The write path refuses this file: not writable, or no write bit at all (even for root)."""
    st = st or os.stat(path)
    return not os.access(path, os.W_OK) or not st.st_mode & 0o222

class WriteRun:
    """A journal run that writes tags. Enter it to take the lock and reconcile interrupted
    runs; :meth:`apply` writes one file; leaving it finishes the run. The run row is
    created at the first write (a run that writes nothing leaves no trace)."""

    def __init__(self, journal: Journal, command: str, model_id: str | None = None, undo_of: int | None = None):
        self.journal, self.command, self.model_id, self.undo_of = journal, command, model_id, undo_of
        self.run_id: int | None = None
        self._swept: set[Path] = set()  # folders already cleared of earlier versions' temporary files

    def __enter__(self) -> WriteRun:
        self.journal.check_space()  # JournalFullError: a full disk stops the run before it begins
        self.journal.lock(self.command)  # JournalBusyError if another process writes
        try:
            recover(self.journal)
        except BaseException:
            self.journal.unlock()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not isinstance(exc, JournalError):
                try:
                    if self.run_id is not None:
                        self.journal.finish_run(self.run_id)
                        self.journal.active_runs.discard(self.run_id)
                    self.journal.commit()
                    return
                except JournalError:
                    self._interrupted()
                    raise
            self._interrupted()
        finally:
            self.journal.unlock()

    def _interrupted(self) -> None:
        """The journal cannot take more (a full disk): the run is recorded as interrupted,
        now or by the next start's recovery (its writes left pending are checked then)."""
        if self.run_id is not None:
            self.journal.active_runs.discard(self.run_id)
            try:
                self.journal.mark_interrupted(self.run_id)
            except JournalError:
                pass

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
        expect: Expect | None = None,
    ) -> WriteResult:
        """Set the genre of one file. Never raises for a problem of the file: returns a
        result with ``status == "error"`` and a one-line reason. ``raw`` (undo) restores
        recorded raw genre data instead of writing ``genres``; ``image`` (undo) is the
        whole previous file as overlay segments (see :func:`_exact_image`). ``expect``:
        what the decision to write saw (see :class:`Expect`); a file changed since is
        decided anew (``res.genres``: what was written, or the genres left in it)."""
        path = Path(path)
        res = WriteResult(path, ERROR, genres=list(genres))
        try:
            if expect is None:
                res.previous = read_tags(path, options).genres
                if raw is None and image is None and res.previous == list(genres):
                    res.status = UNCHANGED
                    return res
            plan = self._plan(path, list(genres), options, raw, image, expect, res)
            if plan is None:
                res.status = UNCHANGED
                return res
            res.write_id, res.bytes_written = self._commit(plan, res.previous, list(res.genres), options, undo_of)
            res.status = TAGGED
        except _Leave as e:
            res.status = e.status
        except JournalError:  # the journal's problem (a full disk), not the file's: the run stops
            raise
        except TagError as e:
            res.error = e.reason
        except Unreadable as e:
            res.error = f"{e} — not written"
        except Exception as e:  # noqa: BLE001 - one file's problem never ends the run
            res.error = f"not written ({short_reason(e)})"
        return res

    def _plan(
        self, path: Path, genres: list[str], options: TagOptions, raw: dict | None, image: list[tuple] | None,
        expect: Expect | None = None, res: WriteResult | None = None,
    ) -> _Plan | None:
        real = path.resolve()  # write through symlinks, never replace the link itself
        if not real.is_file():
            raise TagError(path, "no such file")
        st = real.stat()
        if read_only(real, st):
            raise TagError(path, "file is read-only")
        if real.parent not in self._swept:
            self._swept.add(real.parent)
            sweep_old_temp_files(real.parent)
        family, container = detect(real)
        fd = os.open(real, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if expect is not None and res is not None:
                genres = res.genres = _recheck(path, fd, st, family, container, options, expect, genres, res)
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
            if patches is None and (block := shift.block_size(fd)) and not shift.busy(fd):  # the tag grows or shrinks at the start
                # (a file another program has open gets a new file: it goes on reading the old one)
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
                "identity": identity(plan.st),
                "raw_before": plan.raw_before,
                "raw_after": plan.raw_after,
                "container": plan.container,
            }
            if patches is not None:
                old_size = plan.st.st_size
                olds = _old_bytes(ov.fd, patches, old_size, ov.size)
                news = b"".join(d for _, d in patches)
                self.journal.check_space(2 * (len(olds) + len(news)))
                p = dict(common, mode="inplace", ranges=[[off, len(d)] for off, d in patches], new_size=ov.size)
                wid = self.journal.begin_write(self._run(), plan.path, before, after, p, olds, news, undo_of)
                step("journaled")
                return wid, self._write_in_place(plan, wid, patches, olds, options)
            if plan.move is not None:
                m = plan.move
                olds, news = pread(ov.fd, m.old_head, 0), ov.pread(0, m.head)
                self.journal.check_space(2 * (len(olds) + len(news)))
                p = dict(common, mode="shift", at=m.at, delta=m.delta, head=m.head, new_size=ov.size,
                         probe=tail_probe(ov.fd, m.old_head, plan.st.st_size))  # fmt: skip
                wid = self.journal.begin_write(self._run(), plan.path, before, after, p, olds, news, undo_of)
                step("journaled")
                shifted = self._write_shifted(plan, wid, p, olds, news, options)
                if shifted is not None:
                    return wid, shifted
                # the file system refused to move blocks (the intent is journaled as failed): a new file
            if not os.access(real.parent, os.W_OK):
                raise TagError(plan.path, "folder is read-only (a tag that grows needs a new file beside the original)")
            dropped = ov.dropped()
            keep_old = sum(n for _, n in dropped) <= IMAGE_LIMIT
            old = b"".join(pread_ranges(ov.fd, dropped)) if keep_old else None
            self.journal.check_space(2 * len(old or b""))
            new = ov.new_bytes()
            tmp = real.parent / f".gt-{self._run()}-{os.urandom(4).hex()}{real.suffix.lower()}"
            p = dict(common, mode="replace", temp=os.fsdecode(tmp), new_size=ov.size, layout=ov.layout(),
                     dropped=[list(d) for d in dropped] if keep_old else None, new_sha=sha(new))  # fmt: skip
            if plan.st.st_nlink > 1:  # hard links: the new file is copied back over the original (see the module)
                p.update(copy_back=True, old_sha=file_sha(ov.fd))
            wid = self.journal.begin_write(self._run(), plan.path, before, after, p, old, None, undo_of)
            step("journaled")
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
        if identity(os.fstat(fd)) != identity(plan.st) or now != olds:
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
                        step("appended")
                for i, (off, data) in enumerate(p for p in patches if p[0] < old_size):
                    half = len(data) // 2 if i == 0 else 0
                    if half:  # the first range in two writes: a kill in between leaves a torn range (tests)
                        pwrite_all(fd, data[:half], off)
                        step("patch-half")
                    pwrite_all(fd, data[half:], off + half)
                if new_size < old_size:
                    os.ftruncate(fd, new_size)
                os.fsync(fd)
            except BaseException:
                put_back(fd, patches, olds, old_size, new_size)
                os.fsync(fd)
                self.journal.end_write(wid, "failed", note="write failed; original bytes restored")
                raise
            new_st = _settle(fd, st, options)
        finally:
            os.close(fd)
        self._done(plan, wid, new_st)
        return sum(len(d) for _, d in patches)

    def _write_shifted(self, plan: _Plan, wid: int, p: dict, olds: bytes, news: bytes, options: TagOptions) -> int | None:
        """Move the audio by whole blocks, then write the new head (see :mod:`genre_tagger.tagstore.shift`).
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
                step("shifted")
                if not tail_at(fd, p, shifted=True):
                    raise OSError(errno.EIO, "the audio is not where the file system moved it")
                half = len(news) // 2  # in two writes: a kill in between leaves a torn head (tests)
                pwrite_all(fd, news[:half], 0)
                step("head-half")
                pwrite_all(fd, news[half:], half)
                os.fsync(fd)
            except BaseException as e:  # an error or Ctrl-C, whether or not the blocks have moved
                moved = os.fstat(fd).st_size != st.st_size
                if moved and not tail_at(fd, p, shifted=True):
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
        layout, want_sha = p["layout"], p["new_sha"]
        copying = False
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
                if os.fstat(fd).st_size != ov.size or new_sha(fd, layout) != want_sha:
                    raise TagError(plan.path, "verification failed: the new file reads back differently; not written")
            finally:
                os.close(fd)
            if p.get("copy_back"):  # the whole new file's digest, committed before the original is touched
                self.journal.update_plan(wid, {"temp_sha": path_sha(tmp)})
            step("temp-written")
            # the replaced bytes too: a tagger that keeps the mtime leaves the same identity
            if identity(real.stat()) != identity(st) or (old is not None and b"".join(pread_ranges(ov.fd, p["dropped"])) != old):
                raise TagError(plan.path, "file changed while it was being written; not written")
            if p.get("copy_back"):
                copying = True
                new_st = copy_back(tmp, real, st if options.keep_mtime else None)
                step("copied")
                tmp.unlink()
                fsync_dir(real.parent)
                self._done(plan, wid, new_st)
                return ov.size
            base_fd, ov.fd = ov.fd, -1
            os.close(base_fd)  # Windows cannot replace a file that is open
            os.replace(tmp, real)
        except BaseException as e:
            if copying:  # the original partly overwritten: finished from the new file (a Ctrl-C), else
                try:  # left pending with it, for the next start's recovery to finish
                    new_st = copy_back(tmp, real, st if options.keep_mtime else None)
                    tmp.unlink()
                except BaseException:
                    raise e from None
                self._done(plan, wid, new_st)
                raise
            try:
                renamed = not tmp.exists() and holds_new_file(real, ov.size, layout, want_sha)
            except OSError:  # cannot tell: the write stays pending, recovery decides at the next start
                raise e from None
            if renamed:
                self._done(plan, wid, real.stat())  # Ctrl-C raised as the rename returned: written
                raise
            tmp.unlink(missing_ok=True)
            self.journal.end_write(wid, "failed", note=short_reason(e))
            raise
        step("renamed")
        fsync_dir(real.parent)
        self._done(plan, wid, real.stat())
        return ov.size

    def _done(self, plan: _Plan, wid: int, new_st: os.stat_result) -> None:
        # committed with the next write's intent or at the end of the run (one fsync less per file)
        self.journal.end_write(wid, "done", {"new_identity": identity(new_st)}, commit=False)
        self.journal.cache_move(plan.path, (plan.st.st_size, plan.st.st_mtime_ns), (new_st.st_size, new_st.st_mtime_ns), commit=False)
        step("done")


def _recheck(
    path: Path, fd: int, st: os.stat_result, family: Family, container: str, options: TagOptions,
    expect: Expect, genres: list[str], res: WriteResult,
) -> list[str]:
    """Step 0: the genres to write into the file open as ``fd`` (status ``st``), given what
    the decision saw; :class:`_Leave` if there is nothing to write. ``res.previous``
    becomes the genres the file holds now (read through ``fd``, as :func:`read_tags` reads)."""
    proc = Path(f"/proc/self/fd/{fd}")  # the open file itself, whatever its path names now
    try:
        loaded = family.load(proc if proc.exists() else path, container)
        now = family.info(loaded, options)[0]
    except TagError:
        raise
    except Exception as e:  # noqa: BLE001 - any parser failure is this file's problem
        raise TagError(path, f"cannot read tags ({short_reason(e)})") from e
    res.previous = now
    same = now == list(expect.genres) and (expect.identity is None or list(expect.identity) == identity(st))
    if not same:
        new = expect.redecide(list(now)) if expect.redecide is not None else None
        if new is None:
            res.genres = list(now)
            raise _Leave(CHANGED)
        genres = list(new)
    if now == genres:
        res.genres = list(now)
        raise _Leave(UNCHANGED)
    return genres


def _old_bytes(fd: int, patches, old_size: int, new_size: int) -> bytes:
    """What an in-place write overwrites: the bytes of its ranges within the file, and what
    is cut off at the end when the file shrinks (in the order :func:`put_back` expects)."""
    olds = b"".join(pread_ranges(fd, [(off, len(d)) for off, d in patches if off < old_size]))
    if new_size < old_size:
        olds += pread(fd, old_size - new_size, new_size)
    return olds


def _settle(fd: int, st: os.stat_result, options: TagOptions) -> os.stat_result:
    """A file written in place, its changes on disk (crash step ``patched``): its
    modification time put back if asked; its new status."""
    step("patched")
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


def write_genres(path: str | Path, genres: list[str], options: TagOptions = TagOptions()) -> list[str]:
    """Set the genre field of one file through the journaled write path (its own run,
    command "write"). Returns the genres as read back; raises :class:`TagError`."""
    return write_one(path, genres, options)
