"""Find the audio files of a music library."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..listen.audio import AUDIO_EXTS


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def iter_audio_files(
    roots: Iterable[str | Path],
    on_error: Callable[[Path, str], None] | None = None,
) -> Iterator[Path]:
    """Audio files under ``roots`` (folders searched recursively, files taken as given).

    Hidden files and folders are skipped, symlinked folders are followed once, every
    file is yielded once, in a stable order. Unreadable folders, symbolic link loops,
    broken links and special files (FIFOs, sockets, devices) with an audio extension
    are reported through ``on_error`` (one call each) and skipped.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def key(p: Path) -> tuple[int, int] | None:
        try:
            st = p.stat()
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def emit(p: Path) -> Iterator[Path]:
        k = key(p)
        if k is None or k in seen_files:
            return
        seen_files.add(k)
        yield p

    for root in roots:
        root = Path(root)
        if root.is_file():
            yield from emit(root)
            continue
        if not root.is_dir():
            if on_error:
                on_error(root, f"skipped: {_special_kind(root)}" if os.path.lexists(root) else "no such file or folder")
            continue
        stack: list[tuple[Path, frozenset]] = [(root, frozenset())]
        while stack:
            d, ancestors = stack.pop()
            k = key(d)
            if k is None:
                continue
            if k in ancestors:  # a link back to a folder above it: following it never ends
                if on_error:
                    on_error(d, "skipped: symbolic link loop (it leads back to a folder above it)")
                continue
            if k in seen_dirs:  # the same folder reached twice: its files are listed once
                continue
            seen_dirs.add(k)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as e:
                if on_error:
                    on_error(d, f"cannot list folder ({e.strerror})")
                continue
            subdirs = []
            for e in entries:
                if is_hidden(e.name):
                    continue
                p = Path(e.path)
                try:
                    is_dir = e.is_dir(follow_symlinks=True)
                    is_file = not is_dir and e.is_file(follow_symlinks=True)
                except OSError as err:  # ELOOP: a link that leads to itself
                    if on_error:
                        on_error(p, f"skipped: {_link_problem(err)}")
                    continue
                if is_dir:
                    subdirs.append((p, ancestors | {k}))
                elif p.suffix.lower() not in AUDIO_EXTS:
                    continue
                elif is_file:
                    yield from emit(p)
                elif on_error:
                    on_error(p, f"skipped: {_special_kind(p)}")
            stack.extend(reversed(subdirs))


def _link_problem(err: OSError) -> str:
    return "symbolic link loop" if err.errno == errno.ELOOP else f"cannot read ({err.strerror})"


def _special_kind(p: Path) -> str:
    """Why an entry with an audio extension is not a file that can be read."""
    try:
        st = p.lstat()
    except OSError as e:
        return f"cannot read ({e.strerror})"
    if stat.S_ISLNK(st.st_mode):
        try:
            p.stat()
        except OSError as e:
            return "symbolic link loop" if e.errno == errno.ELOOP else "broken symbolic link (its target does not exist)"
    mode = os.stat(p).st_mode if stat.S_ISLNK(st.st_mode) else st.st_mode
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    return "not a regular file" + "".join(f": {name}" for test, name in kinds if test(mode))


# C0/C1 controls, line and paragraph separators, bidirectional overrides: never raw on a terminal
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:  # a byte of a non-UTF-8 name (surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def safe_text(text: str) -> str:
    """``text`` with control characters, bidi overrides and undecodable bytes written as
    backslash escapes (``\\n``, ``\\x1b``, ``\\xe9``): one line, and nothing a terminal obeys."""
    return _UNSAFE.sub(_escape_char, text)


def display_path(p: str | Path) -> str:
    """A printable one-line form of a path: bytes of non-UTF-8 names appear as ``\\xNN``,
    control characters as escapes (``\\n``, ``\\x1b``)."""
    return safe_text(exact_path(p))


def exact_path(p: str | Path) -> str:
    """The path as valid Unicode for reports: exact for UTF-8 names, ``\\xNN`` for other bytes."""
    return os.fsencode(p).decode("utf-8", "backslashreplace")
