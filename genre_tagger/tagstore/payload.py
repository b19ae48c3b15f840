"""Digest of a file's audio payload, ignoring every byte that belongs to tags.

Used to verify a tag write before it replaces the original (and by the tests): the
audio must stay byte-for-byte identical.

- MP3 (and ADTS AAC): everything between a leading ID3v2 tag and trailing APEv2 / ID3v1 tags.
- FLAC: the audio frames after the metadata blocks.
- Ogg (Vorbis, Opus): the bodies of the audio pages (granule position > 0); header
  pages are rewritten when comments change, and later pages may be renumbered.
- MP4/M4A: the contents of every ``mdat`` box.
- WAV / AIFF: the ``data`` / ``SSND`` chunk contents.
- ASF/WMA: the Data Object.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

_CHUNK = 1 << 20


class _Regions:
    """Collects the (start, end) ranges of the payload instead of hashing them. A walker
    that reaches ``whole_from`` may stop there and give the rest of the file as one range
    (the caller knows that range is carried over whole: whatever payload it holds is)."""

    def __init__(self, whole_from: int | None = None):
        self.ranges: list[tuple[int, int]] = []
        self.whole_from = whole_from


def _hash_range(f, start: int, end: int, h) -> None:
    if isinstance(h, _Regions):
        if end > start:
            h.ranges.append((start, end))
        return
    f.seek(start)
    left = end - start
    while left > 0:
        b = f.read(min(_CHUNK, left))
        if not b:
            break
        h.update(b)
        left -= len(b)


def _mp3(f, size: int, h) -> None:
    start = 0
    f.seek(0)
    head = f.read(10)
    while head[:3] == b"ID3" and len(head) == 10:  # possibly several stacked ID3v2 tags
        sz = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        start += 10 + sz + (10 if head[5] & 0x10 else 0)
        f.seek(start)
        head = f.read(10)
    end = size
    f.seek(max(0, end - 128))
    if f.read(3) == b"TAG":
        end -= 128
    f.seek(max(0, end - 32))
    footer = f.read(32)
    if footer[:8] == b"APETAGEX":
        (tag_size,) = struct.unpack_from("<I", footer, 12)
        (flags,) = struct.unpack_from("<I", footer, 20)
        end -= tag_size + (32 if flags & 0x80000000 else 0)
    _hash_range(f, start, end, h)


def _flac(f, size: int, h) -> None:
    f.seek(0)
    pos = 0
    if f.read(4) != b"fLaC":
        f.seek(0)  # an ID3v2 tag before fLaC
        head = f.read(10)
        if head[:3] != b"ID3":
            raise ValueError("not a FLAC file")
        pos = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
        f.seek(pos)
        if f.read(4) != b"fLaC":
            raise ValueError("not a FLAC file")
    pos += 4
    while True:
        f.seek(pos)
        hdr = f.read(4)
        last, length = hdr[0] & 0x80, int.from_bytes(hdr[1:4], "big")
        pos += 4 + length
        if last:
            break
    _hash_range(f, pos, size, h)


def _peek(f, pos: int, n: int) -> bytes:
    """Up to ``n`` bytes at ``pos`` without reading more: ``pread`` on the file's descriptor
    (an Overlay's own ``pread``), else seek and read."""
    if hasattr(f, "pread"):
        return f.pread(pos, n)
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):
        f.seek(pos)
        return f.read(n)
    return os.pread(fd, n, pos) if hasattr(os, "pread") else (f.seek(pos), f.read(n))[1]


def _ogg(f, size: int, h) -> None:
    pos = 0
    stop = getattr(h, "whole_from", None)
    while pos < size:
        if stop is not None and pos >= stop:  # the rest is carried over whole: no page walk over the audio
            _hash_range(f, pos, size, h)
            return
        page = _peek(f, pos, 27 + 255)  # the header and its lacing values only: a read per page (buffered) took twice as long
        hdr = page[:27]
        if len(hdr) < 27 or hdr[:4] != b"OggS":
            raise ValueError("bad Ogg page")
        granule = struct.unpack_from("<q", hdr, 6)[0]
        nseg = hdr[26]
        lacing = page[27 : 27 + nseg]
        body = sum(lacing)
        if granule > 0:
            _hash_range(f, pos + 27 + nseg, pos + 27 + nseg + body, h)
        pos += 27 + nseg + body


def _boxes(f, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        hdr = f.read(8)
        size, kind = struct.unpack(">I4s", hdr)
        head = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            raise ValueError("bad MP4 box")
        yield kind, pos + head, pos + size
        pos += size


def _mp4(f, size: int, h) -> None:
    found = False
    for kind, body, end in _boxes(f, 0, size):
        if kind == b"mdat":
            _hash_range(f, body, end, h)
            found = True
    if not found:
        raise ValueError("no mdat box")


def _riff(f, size: int, h, big_endian: bool, data_id: bytes) -> None:
    fmt = ">I" if big_endian else "<I"
    pos = 12
    found = False
    while pos + 8 <= size:
        f.seek(pos)
        cid = f.read(4)
        (n,) = struct.unpack(fmt, f.read(4))
        if cid == data_id:
            _hash_range(f, pos + 8, min(size, pos + 8 + n), h)
            found = True
        pos += 8 + n + (n & 1)
    if not found:
        raise ValueError(f"no {data_id!r} chunk")


_ASF_DATA = bytes.fromhex("3626b2758e66cf11a6d900aa0062ce6c")


def _asf(f, size: int, h) -> None:
    f.seek(16)
    (header_size,) = struct.unpack("<Q", f.read(8))
    f.seek(header_size)
    guid = f.read(16)
    (data_size,) = struct.unpack("<Q", f.read(8))
    if guid != _ASF_DATA:
        raise ValueError("no ASF data object")
    _hash_range(f, header_size, header_size + data_size, h)


def _walk(f, size: int, suffix: str, h) -> None:
    f.seek(0)
    magic = f.read(16)
    if magic[:4] == b"fLaC" or (magic[:3] == b"ID3" and suffix == ".flac"):
        _flac(f, size, h)
    elif magic[:4] == b"OggS":
        _ogg(f, size, h)
    elif magic[:4] == b"RIFF" and magic[8:12] == b"WAVE":
        _riff(f, size, h, False, b"data")
    elif magic[:4] == b"FORM" and magic[8:12] in (b"AIFF", b"AIFC"):
        _riff(f, size, h, True, b"SSND")
    elif magic[4:8] == b"ftyp":
        _mp4(f, size, h)
    elif magic[:16].startswith(bytes.fromhex("3026b2758e66cf11")):
        _asf(f, size, h)
    elif magic[:3] == b"ID3" or (magic[0] == 0xFF and magic[1] & 0xE0 == 0xE0) or suffix in (".mp3", ".mp2", ".aac"):
        _mp3(f, size, h)
    else:
        raise ValueError("unknown audio container")


def payload_digest(path: str | Path, fileobj=None, size: int | None = None) -> str:
    """sha256 of the audio payload of ``path`` (or of ``fileobj``, a file object of
    ``size`` bytes, with ``path`` naming its format). Raises ValueError (or struct.error)
    for unknown or broken layouts."""
    path = Path(path)
    h = hashlib.sha256()
    if fileobj is not None:
        _walk(fileobj, size if size is not None else fileobj.seek(0, 2), path.suffix.lower(), h)
        return h.hexdigest()
    with open(path, "rb") as f:
        _walk(f, path.stat().st_size, path.suffix.lower(), h)
    return h.hexdigest()


def payload_regions(path: str | Path, fileobj, size: int, whole_from: int | None = None) -> list[tuple[int, int]]:
    """The byte ranges of ``fileobj`` that hold the audio payload (what the digest covers).
    ``whole_from``: an offset from which the caller knows the file is carried over whole;
    a long page walk (Ogg) may then end there with one range to the end."""
    r = _Regions(whole_from)
    _walk(fileobj, size, Path(path).suffix.lower(), r)
    return r.ranges
