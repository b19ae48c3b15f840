"""One plain line for an exception: the ``<reason>`` of an ``error: <path>: <reason>`` line
in the CLI and the GUI. Never a library's class name or its internal text
(``MP4StreamInfoError: not a MP4 file``, ``file said 16777215 bytes, read 48438 bytes``,
``[Errno 13] Permission denied: '/x'``): they name no cause a user can act on. Shared by
decoding (:mod:`genre_tagger.listen.audio`), tag reading (:mod:`genre_tagger.tagstore.tags`) and the
write path."""

from __future__ import annotations

import struct

from .errors import GenreTaggerError

NOT_AUDIO = "not an audio file, or a format genre-tagger cannot read"
DAMAGED = "the file is damaged or cut short"
_MAX = 160


def first_line(e: BaseException) -> str:
    """The first line of an exception's text ("" if it has none)."""
    s = str(e).strip()
    return s.splitlines()[0].strip() if s else ""


def os_reason(e: OSError) -> str:
    """``[Errno 28] No space left on device: '/x'`` -> ``No space left on device``."""
    return (e.strerror or first_line(e) or "Input/output error").strip().rstrip(".")[:_MAX]


def cannot_read(e: OSError) -> str:
    """The reason for a file that cannot be opened or read: ``cannot read file: permission denied``."""
    why = os_reason(e)
    return f"cannot read file: {why[:1].lower()}{why[1:]}"


def _is_parse_error(e: BaseException) -> bool:
    """A tag parser's failure: mutagen's own errors, or a struct/EOF/decoding error from
    inside a parser reading a header that is damaged or cut short."""
    if isinstance(e, struct.error | EOFError | UnicodeDecodeError):
        return True
    return any(c.__module__.split(".")[0] == "mutagen" for c in type(e).__mro__)


def short_reason(e: BaseException) -> str:
    """One plain line naming the real cause of ``e``."""
    if isinstance(e, GenreTaggerError):
        return e.reason[:_MAX]
    if isinstance(e, OSError) and (e.strerror or not first_line(e)):
        return os_reason(e)
    if isinstance(e, MemoryError):
        return "not enough memory"
    if _is_parse_error(e):
        return DAMAGED
    return (first_line(e) or type(e).__name__)[:_MAX]  # our own plain texts (rawtags.Unreadable, ...)
