"""The byte-level steps that applying, recovering and undoing a tag write share: the
crash points of the tests, digests and identities, where a moved tail must sit, and
putting an in-place write's original bytes back. See :mod:`genre_tagger.tagstore.write`
for the protocol."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .overlay import pread, pread_ranges, pwrite_all


def step(name: str) -> None:
    if os.environ.get("GENRE_TAGGER_CRASH_AT") == name:
        os._exit(86)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def file_sha(fd: int) -> str:
    """sha256 of the whole file open as ``fd``."""
    h, pos = hashlib.sha256(), 0
    while True:
        b = os.pread(fd, 1 << 20, pos)
        if not b:
            return h.hexdigest()
        h.update(b)
        pos += len(b)


def path_sha(path: Path) -> str | None:
    """sha256 of the whole file at ``path``; None if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return file_sha(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def copy_back(tmp: Path, real: Path, keep: os.stat_result | None = None) -> os.stat_result:
    """Copy the new file ``tmp`` over the original ``real`` in place (its inode, and so its
    hard links, kept), from the start, then cut it to length and fsync (crash steps
    ``copy-half``); ``keep``: the modification time to put back. Returns its new status."""
    src = os.open(tmp, os.O_RDONLY)
    try:
        dst = os.open(real, os.O_RDWR)
        try:
            size = os.fstat(src).st_size
            pos, half = 0, size // 2  # a kill after the first half leaves a torn file (tests)
            while pos < size:
                b = os.pread(src, min(1 << 20, (half if pos < half else size) - pos), pos)
                if not b:
                    raise OSError("the new file shrank while it was copied back")
                pwrite_all(dst, b, pos)
                pos += len(b)
                if pos == half:
                    step("copy-half")
            os.ftruncate(dst, size)
            if keep is not None:
                os.utime(dst, ns=(keep.st_atime_ns, keep.st_mtime_ns))
            os.fsync(dst)
            return os.fstat(dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def new_sha(fd: int, layout: list) -> str:
    """sha256 of the bytes a planned file holds where ``layout`` says they are new."""
    h = hashlib.sha256()
    for b in pread_ranges(fd, [(new_off, n) for new_off, base_off, n in layout if base_off < 0]):
        h.update(b)
    return h.hexdigest()


def holds_new_file(real: Path, size: int, layout: list, want_sha: str) -> bool:
    """Whether ``real`` is the new file of a replacing write (its size, and its new bytes
    by their digest). OSError if it cannot be read."""
    if real.stat().st_size != size:
        return False
    fd = os.open(real, os.O_RDONLY)
    try:
        return new_sha(fd, layout) == want_sha
    finally:
        os.close(fd)


def fsync_dir(d: Path) -> None:
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



PROBE = 64 << 10  # bytes at each end of the moved part whose digests the journal keeps


def tail_probe(fd: int, start: int, end: int) -> list:
    """Digests of the first and the last :data:`PROBE` bytes of ``[start, end)``: the part of
    the file a shifting write moves, to check that it sits where it should."""
    n = min(PROBE, end - start)
    return [n, sha(pread(fd, n, start)), sha(pread(fd, n, end - n))]


def tail_at(fd: int, plan: dict, shifted: bool) -> bool:
    """Whether the part a shifting write moves is where it should be, moved or not (both of
    its ends compared with the journaled digests)."""
    probe = plan.get("probe")
    if probe is None:
        return True
    start, end = (plan["head"], plan["new_size"]) if shifted else (plan["head"] - plan["delta"], plan["identity"][2])
    n, first, last = probe
    return end - start >= n and sha(pread(fd, n, start)) == first and sha(pread(fd, n, end - n)) == last


def put_back(fd: int, patches, olds: bytes, old_size: int, new_size: int) -> None:
    """Undo an in-place write, whole or partial: the original bytes, the original length."""
    pos = 0
    for off, data in patches:
        if off < old_size:
            pwrite_all(fd, olds[pos : pos + len(data)], off)
            pos += len(data)
    if new_size < old_size:
        pwrite_all(fd, olds[pos:], new_size)
    os.ftruncate(fd, old_size)


def recorded_patches(plan: dict, news: bytes) -> list[tuple[int, bytes]]:
    """The ``(offset, new bytes)`` patches of a journaled in-place write (its ranges, cut
    from the new bytes recorded with it)."""
    out, pos = [], 0
    for off, n in plan.get("ranges", []):
        out.append((off, news[pos : pos + n]))
        pos += n
    return out
