"""Recovery: reconcile the tag writes a crash, a kill or a power cut left pending in the
journal (run at every start, by every :class:`~genre_tagger.tagstore.write.WriteRun`),
and remove the temporary files of versions before the journaled write path."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from . import shift
from .journal import Journal, JournalBusyError, WriteRow
from .overlay import pread, pwrite_all
from .steps import copy_back, fsync_dir, holds_new_file, identity, path_sha, put_back, recorded_patches, tail_at
from .tags import short_reason

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



def _recover_one(w: WriteRow) -> tuple[str, str]:
    plan = w.plan
    real = Path(w.path).resolve()
    if plan.get("mode") == "shift":
        return _recover_shifted(real, plan, w.old or b"", w.new or b"")
    if plan.get("mode") == "replace" and plan.get("copy_back"):
        return _recover_copy_back(real, Path(plan["temp"]), plan)
    if plan.get("mode") == "replace":
        tmp = Path(plan["temp"])
        if tmp.exists():
            tmp.unlink()
        if identity(real.stat()) == plan["identity"]:
            return "failed", "interrupted before the write; file unchanged"
        if holds_new_file(real, plan["new_size"], plan["layout"], plan["new_sha"]):
            fsync_dir(real.parent)  # the rename on disk before it is recorded
            return "done", "interrupted after the write; the write is complete"
        return "unknown", "interrupted; the file has changed since (left as is)"
    old_size = plan["identity"][2]
    new_size = plan.get("new_size", old_size)
    olds = w.old or b""
    patches = recorded_patches(plan, w.new or b"")
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
        put_back(fd, patches, olds, old_size, new_size)  # half written: the original bytes back
        os.fsync(fd)
    finally:
        os.close(fd)
    return "failed", "interrupted during the write; original bytes restored"


def _recover_copy_back(real: Path, tmp: Path, plan: dict) -> tuple[str, str]:
    """A write of a hard-linked file found pending (its new file copied back over the
    original in place): the original whole (not begun: the temporary file removed), the
    new file whole (done), or the copy cut short, finished from the temporary file, which
    was complete and on disk (its digest committed) before the original was touched."""
    now = path_sha(real)
    if now is None:
        raise FileNotFoundError(errno.ENOENT, "cannot read the file", str(real))
    if now == plan.get("temp_sha"):
        tmp.unlink(missing_ok=True)
        fsync_dir(real.parent)
        return "done", "interrupted after the write; the write is complete"
    if now == plan.get("old_sha"):
        tmp.unlink(missing_ok=True)
        return "failed", "interrupted before the write; file unchanged"
    st = real.stat()
    if plan.get("temp_sha") and [st.st_dev, st.st_ino] == plan["identity"][:2] and path_sha(tmp) == plan["temp_sha"]:
        copy_back(tmp, real)
        tmp.unlink()
        fsync_dir(real.parent)
        return "done", "interrupted during the write; the write was completed"
    tmp.unlink(missing_ok=True)  # not a copy this write began: of no use
    return "unknown", "interrupted; the file has changed since (left as is)"


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
        if not _explained(cur, olds, news, m, shifted=moved) or not tail_at(fd, plan, shifted=moved):
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
