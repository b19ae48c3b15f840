"""A stand-in for the file system's block moves (ext4's fallocate insert / collapse range)
where a test folder cannot do them (tmpfs, a container's overlay file system): the bytes
are moved by rewriting the file, with the kernel's rules on alignment. The shifting write
path is then tested on any machine; where the real thing works the tests use it."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from genre_tagger.tagstore import shift

BLOCK = 4096


def _emulated(fd: int, mode: int, at: int, length: int) -> None:
    size = os.fstat(fd).st_size
    if at % BLOCK or length % BLOCK or length <= 0 or at >= size:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    data = os.pread(fd, size, 0)
    if mode == shift.FALLOC_FL_INSERT_RANGE:
        new = data[:at] + bytes(length) + data[at:]
    elif mode == shift.FALLOC_FL_COLLAPSE_RANGE and at + length < size:
        new = data[:at] + data[at + length :]
    else:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    os.pwrite(fd, new, 0)
    os.ftruncate(fd, len(new))


def _block_size(fd: int) -> int | None:
    return None if os.environ.get("GENRE_TAGGER_SHIFT") == "off" or os.fstat(fd).st_dev in shift._refused else BLOCK


def real_shift_works(folder: Path) -> bool:
    """Whether files in ``folder`` can really be shifted (ext4 and a system that has
    fallocate), whether or not that ext4 keeps a journal (the product moves blocks only on
    one that does: see :func:`genre_tagger.tagstore.shift.has_journal`; the tests move them
    on either, the mechanism being the same)."""
    fd, name = tempfile.mkstemp(dir=folder)
    journal_rule = shift.has_journal
    shift.has_journal = lambda dev: True
    try:
        os.write(fd, bytes(2 * BLOCK))
        return shift.block_size(fd) is not None
    finally:
        shift.has_journal = journal_rule
        os.close(fd)
        os.unlink(name)


def install(folder: Path, setattr=setattr) -> str:
    """Use the real block moves where ``folder`` has them (on an ext4 without a journal
    too), else the emulation (``setattr``: pytest's ``monkeypatch.setattr`` to undo it after
    a test). Returns which."""
    if real_shift_works(folder):
        setattr(shift, "has_journal", lambda dev: True)
        return "file system"
    setattr(shift, "_call", _emulated)
    setattr(shift, "block_size", _block_size)
    return "emulated"
