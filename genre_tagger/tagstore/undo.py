"""Undo: restore the files a run wrote, through the one write path, byte-exactly where
the file is still as the run left it."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import TagError
from .journal import Journal, WriteRow
from .overlay import pread, restore_segments
from .steps import new_sha, recorded_patches
from .tags import FAMILIES, TagOptions, read_tags, short_reason
from .write import ERROR, WriteResult, WriteRun


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
            for off, data in recorded_patches(plan, w.new):
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
            if new_sha(fd, plan["layout"]) == plan["new_sha"]:
                return restore_segments(plan["layout"], plan["dropped"], w.old, plan["identity"][2])
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return None
