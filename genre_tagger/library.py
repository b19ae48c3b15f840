"""Find the audio files of a music library."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .audio import AUDIO_EXTS


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def iter_audio_files(
    roots: Iterable[str | Path],
    on_error: Callable[[Path, str], None] | None = None,
) -> Iterator[Path]:
    """Audio files under ``roots`` (folders searched recursively, files taken as given).

    Hidden files and folders are skipped, symlinked folders are followed once (loops
    are detected by device/inode), every file is yielded once, in a stable order.
    Unreadable folders are reported through ``on_error`` and skipped.
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
                on_error(root, "no such file or folder")
            continue
        stack = [root]
        while stack:
            d = stack.pop()
            k = key(d)
            if k is None or k in seen_dirs:
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
                    if e.is_dir(follow_symlinks=True):
                        subdirs.append(p)
                    elif e.is_file(follow_symlinks=True) and p.suffix.lower() in AUDIO_EXTS:
                        yield from emit(p)
                except OSError:
                    continue
            stack.extend(reversed(subdirs))


def display_path(p: str | Path) -> str:
    """A printable form of a path; bytes of non-UTF-8 names appear as ``\\xNN``."""
    return os.fsencode(p).decode("utf-8", "backslashreplace")
