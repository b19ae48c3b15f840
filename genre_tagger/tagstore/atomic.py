"""Write a small text file so that readers see the old or the new content, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8; undecodable bytes of names kept as they were) to ``path``.

    A regular file is replaced atomically (temporary file in the same folder, then
    ``os.replace``); an existing special file (``/dev/null``, a FIFO) is written
    through, never replaced. Raises ``OSError``.
    """
    p = Path(path)
    data = text.encode("utf-8", "surrogateescape")
    if p.exists() and not p.is_file():
        with open(p, "wb") as f:
            f.write(data)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def folder_problem(folder: Path) -> str | None:
    """Why files could not be written into ``folder``, or None."""
    if not folder.is_dir():
        return f"{folder} is not a folder" if folder.exists() else f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None
