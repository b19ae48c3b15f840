"""Growing or shrinking a file's head in place, without copying what follows it.

A tag at the start of a file (MP3's ID3v2, FLAC's metadata blocks, Ogg's comment page, an
MP4 ``moov`` before the audio) that must grow would otherwise mean writing a whole new
file. On Linux ext4 the file system can insert (or remove) whole blocks in the middle of a
file: ``fallocate(FALLOC_FL_INSERT_RANGE)`` shifts every block after the offset up by the
inserted length, moving the audio by changing the file's block map, not its bytes
(``FALLOC_FL_COLLAPSE_RANGE`` shifts them back down). The write path then rewrites only
the new head.

Only whole blocks can be inserted, at block-aligned offsets, so the new file must hold the
old file's tail shifted by a multiple of the block size (the tag's padding is chosen to
make that so, see :func:`plan_shift`).

It is used only where the move is provably one atomic step of the file system:

* on ext4 (found from ``/proc/self/mountinfo``) **with a journal** (jbd2 lists one for the
  device in ``/proc/fs/jbd2/<device>-<inode>``): the move is one transaction of ext4's
  journal, so a kill or a power cut leaves the file moved or not, never half-moved. An
  insert or collapse is several steps inside ext4 (the size changed, the extents split,
  shifted, freed), made one by the journal's handle; without a journal any of the
  in-between states can reach the disk before a power cut (the inode table block is
  written back whenever the kernel likes), and a collapse frees blocks with nothing
  ordering the bitmaps against the inode. So on an ext4 without a journal a new file is
  written instead, as on every other file system (the copy path's rename is no more
  atomic there, but it never leaves the original's block map half changed);
* for a file of at most :data:`MAX_EXTENTS` = 3 extents. ext4 keeps up to 4 extents in the
  inode itself (its 60-byte ``i_block``: a 12-byte header and four 12-byte extents); more
  need an extent-tree block, and a move that makes the file need one is several metadata
  updates, not one. An insert at a point inside an extent splits it in two, and so does a
  collapse of a range inside one, and nothing else adds an extent: a file of 3 extents has
  at most 4 after the move, still in the inode. (A file of 4 extents could need 5.) The
  count is FIEMAP's, taken after flushing the file's dirty pages (delayed allocation).

The write-ahead journal of :mod:`genre_tagger.tagstore.write` covers the rest, and checks
both ends of the moved part against digests taken before (a move that failed half-way
inside the file system is left alone, never made worse). Anywhere else (another file
system, another system, a fragmented file, an ext4 without a journal) :func:`block_size`
says None and the caller writes a new file instead.

A program that has the file open while it is moved (a player streaming it) reads the
audio at its new offsets from then on, as after any tagger that rewrites a file in place
(mutagen's own in-place saves move the audio the same way, by copying it); where the
kernel shows cheaply that another process has the file open for writing (a write lease
cannot be taken, see :func:`busy`), the file gets a new file instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import struct
import sys
from dataclasses import dataclass

FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_INSERT_RANGE = 0x20
FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
MAX_EXTENTS = 3  # ext4's inode holds 4 extents; a move splits at most one: 3 before, at most 4 after (see the module)
FILESYSTEMS = ("ext4",)
JBD2 = "/proc/fs/jbd2"  # one entry per journaled ext4 device: <device name>-<journal inode>

_fallocate = None
_fs_of_dev: dict[int, str | None] = {}
_refused: set[int] = set()
_journal_of_dev: dict[int, bool] = {}


@dataclass(frozen=True)
class Shift:
    """A planned shift: the new file is ``head`` new bytes followed by the old file from
    ``head - delta`` on; blocks are inserted (``delta > 0``) or removed (``delta < 0``) at
    ``at``, then the head is written."""

    at: int
    delta: int
    head: int

    @property
    def old_head(self) -> int:
        """How much of the old file's start the write replaces (journaled for recovery and undo)."""
        return self.head - self.delta


def plan_shift(tail: tuple[int, int] | None, block: int) -> tuple[Shift | None, int]:
    """The :class:`Shift` that turns the base file into a planned one whose end is the base's
    end from ``tail = (new offset, base offset)`` on (see
    :meth:`~genre_tagger.tagstore.overlay.Overlay.tail`), or None; and the number of bytes the new
    content would need to grow by so that the tail moves by whole blocks (0 when it does,
    or when no tail is moved)."""
    if tail is None:
        return None, 0  # the old file's end is not carried over as one piece at its end
    new_off, base_off = tail
    delta = new_off - base_off
    if delta == 0:
        return None, 0
    if delta % block:
        return None, (-delta) % block if delta > 0 else 0
    if delta > 0:
        at = base_off // block * block  # inserted blocks: after them, old[x] sits at x + delta for x >= at
    else:
        at = new_off // block * block  # removed blocks [at, at - delta): old[x] then sits at x + delta
    return Shift(at, delta, new_off), 0


def block_size(fd: int) -> int | None:
    """The file system block size if the file behind ``fd`` can be shifted atomically
    (see the module), else None. ``GENRE_TAGGER_SHIFT=off`` turns shifting off."""
    if not sys.platform.startswith("linux") or os.environ.get("GENRE_TAGGER_SHIFT") == "off" or _falloc() is None:
        return None
    st = os.fstat(fd)
    if st.st_dev in _refused or _fs_type(st.st_dev) not in FILESYSTEMS or not has_journal(st.st_dev):
        return None
    count = extent_count(fd)
    if count is None or count > MAX_EXTENTS:
        return None
    return st.st_blksize


def has_journal(dev: int) -> bool:
    """Whether the ext4 file system on device ``dev`` keeps a journal: jbd2 names its
    journal ``<device>-<inode>`` in :data:`JBD2`, the device's kernel name being what
    ``/sys/dev/block/<major>:<minor>`` links to. Unknown counts as no journal."""
    if dev not in _journal_of_dev:
        try:
            name = os.path.basename(os.readlink(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"))
            found = any(e.rpartition("-")[0] == name for e in os.listdir(JBD2))
        except OSError:
            found = False
        _journal_of_dev[dev] = found
    return _journal_of_dev[dev]


def busy(fd: int) -> bool:
    """Whether another open file description has the file behind ``fd`` open (a player
    streaming it, a program writing it): a write lease on ``fd`` (``F_SETLEASE``) cannot be
    taken then (EAGAIN). Taken and given back at once; False where leases cannot tell
    (another owner's file without CAP_LEASE, a file system without leases)."""
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return False
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_WRLCK)
    except OSError as e:
        return e.errno in (errno.EAGAIN, errno.EBUSY)
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
    except OSError:
        pass
    return False


def refuse(dev: int) -> None:
    """Shift nothing more on device ``dev`` (its file system refused to move blocks)."""
    _refused.add(dev)


def extent_count(fd: int) -> int | None:
    """How many extents the file has (FIEMAP, after flushing its dirty pages), or None."""
    req = bytearray(struct.pack("=QQIIII", 0, 0xFFFFFFFFFFFFFFFF, FIEMAP_FLAG_SYNC, 0, 0, 0))
    try:
        fcntl.ioctl(fd, FS_IOC_FIEMAP, req, True)
    except OSError:
        return None
    return struct.unpack_from("=QQIIII", req)[3]


def insert(fd: int, at: int, length: int) -> None:
    """Insert ``length`` bytes (whole blocks, a hole) at ``at``. Raises OSError."""
    _call(fd, FALLOC_FL_INSERT_RANGE, at, length)


def collapse(fd: int, at: int, length: int) -> None:
    """Remove the ``length`` bytes (whole blocks) at ``at``. Raises OSError."""
    _call(fd, FALLOC_FL_COLLAPSE_RANGE, at, length)


def apply(fd: int, s: Shift) -> None:
    """Move the old file's tail to where :class:`Shift` ``s`` puts it."""
    insert(fd, s.at, s.delta) if s.delta > 0 else collapse(fd, s.at, -s.delta)


def revert(fd: int, s: Shift) -> None:
    """Move the tail back (the inverse of :func:`apply`)."""
    collapse(fd, s.at, s.delta) if s.delta > 0 else insert(fd, s.at, -s.delta)


def _call(fd: int, mode: int, at: int, length: int) -> None:
    f = _falloc()
    if f is None:
        raise OSError(errno.EOPNOTSUPP, "fallocate is not available")
    if f(fd, mode, at, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _falloc():
    global _fallocate
    if _fallocate is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            f = getattr(libc, "fallocate64", None) or libc.fallocate
            f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
            f.restype = ctypes.c_int
            _fallocate = f
        except (OSError, AttributeError):
            _fallocate = False
    return _fallocate or None


def _fs_type(dev: int) -> str | None:
    """The type of the file system mounted from device ``dev`` (``/proc/self/mountinfo``)."""
    if dev not in _fs_of_dev:
        want = f"{os.major(dev)}:{os.minor(dev)}"
        found = None
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    left, _, right = line.partition(" - ")
                    fields = left.split()
                    if len(fields) > 2 and fields[2] == want and right:
                        found = right.split()[0]
                        break
        except OSError:
            pass
        _fs_of_dev[dev] = found
    return _fs_of_dev[dev]
