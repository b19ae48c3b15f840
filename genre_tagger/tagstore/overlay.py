"""A copy-on-write view of a file: the planned new file, built without touching the real one.

:class:`Overlay` is a read/write file object over a read-only base file. Writes,
truncation and growth only change an in-memory list of segments; a segment is either a
range of the base file or new bytes. Tag code (mutagen, or the raw writers) saves into an
overlay; the write path then knows exactly which bytes would change, checks them, and
either patches those ranges in place or streams the overlay into a new file.

mutagen moves data with ``mutagen._util.move_bytes`` (inserting or deleting bytes); the
overlay moves segments instead of copying the audio into memory (:func:`patch_mutagen`).
"""

from __future__ import annotations

import io
import os
import zlib
from bisect import bisect_right
from itertools import accumulate

_READ = 1 << 20
_DIFF_PIECE = 64 << 10  # patches() diffs this much at a time: a shifted file is given up after ~limit + 64 KiB
_SMALL_DIFF = 4096  # pieces up to this size are diffed in Python, larger ones with numpy
_SHORT_COPY = 64 << 10  # copy_to: base ranges shorter than this are read and written with their neighbours
_GAP = 64 << 10  # pread_ranges: ranges at most this far apart are read in one call
# copy_to writes gathered bytes in pieces of this size: Linux caches a file written in 1 MiB
# writes in 1 MiB folios, and a later in-place tag write of 128 bytes then dirties (and is
# counted as writing) the whole folio
_WRITE_PIECE = 64 << 10


def pread(fd: int, n: int, offset: int) -> bytes:
    """``os.pread`` where the system has it (POSIX), else seek + read."""
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


def pread_ranges(fd: int, ranges: list[tuple[int, int]] | list[list[int]]) -> list[bytes]:
    """The bytes of many ``(offset, length)`` ranges (in the order given), read with few
    system calls: ranges in ascending order less than 64 KiB apart are read as one span
    of at most 1 MiB (an Ogg file renumbered has 8 changed bytes on every page)."""
    out: list[bytes] = []
    i = 0
    while i < len(ranges):
        start, n = ranges[i]
        j, end = i + 1, start + n
        while j < len(ranges) and end <= ranges[j][0] <= end + _GAP and ranges[j][0] + ranges[j][1] - start <= _READ:
            end = ranges[j][0] + ranges[j][1]
            j += 1
        if j == i + 1:
            out.append(pread(fd, n, start))
        else:
            span = pread(fd, end - start, start)
            out += [span[off - start : off - start + m] for off, m in ranges[i:j]]
        i = j
    return out


def pwrite(fd: int, data: bytes, offset: int) -> int:
    """``os.pwrite`` where the system has it (POSIX), else seek + write."""
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, data, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.write(fd, data)


class Overlay(io.RawIOBase):
    """The base file's bytes plus edits; ``segments`` are ``(base_offset, length)`` or ``(bytes,)``."""

    def __init__(self, base_fd: int, base_size: int):
        super().__init__()
        self.fd = base_fd
        self.base_size = base_size
        self._segs: list[tuple] = [(0, base_size)] if base_size else []
        self._ends: list[int] | None = None  # cumulative segment ends, built on demand
        self._base_index: tuple[list[int], list[int]] | None = None  # for keeps_base, built on demand
        self.pos = 0

    @property
    def segments(self) -> list[tuple]:
        """The content as segments (treat as read-only; assign a new list to change it)."""
        return self._segs

    @segments.setter
    def segments(self, segs: list[tuple]) -> None:
        self._segs, self._ends, self._base_index = list(segs), None, None

    def _index(self) -> list[int]:
        """End offset of every segment: a read or an edit finds its segment by bisection
        (mutagen renumbering an Ogg file reads and writes each of ~1000 pages, and a
        linear walk per call made planning such a write take ~100 ms)."""
        if self._ends is None:
            self._ends = list(accumulate(_seglen(s) for s in self._segs))
        return self._ends

    # -- file object -------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def size(self) -> int:
        ends = self._index()
        return ends[-1] if ends else 0

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = self.pread(self.pos, end - self.pos)
        self.pos += len(out)
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def write(self, data) -> int:
        data = bytes(data)
        if not data:
            return 0
        size = self.size
        if self.pos > size:
            self._append(b"\0" * (self.pos - size))
        self._replace(self.pos, len(data), [(data,)])
        self.pos += len(data)
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        size = self.pos if size is None else size
        cur = self.size
        if size < cur:
            self.segments = self._slice(0, size)
        elif size > cur:
            self._append(b"\0" * (size - cur))
        return size

    def flush(self) -> None:
        pass

    def _append(self, data: bytes) -> None:
        self.segments = self._segs[:-1] + _merge(self._segs[-1:] + [(data,)])

    # -- segment algebra ---------------------------------------------------------
    def _slice(self, start: int, end: int) -> list[tuple]:
        """Segments covering [start, end) of the current content."""
        segs, ends = self._segs, self._index()
        i = bisect_right(ends, start)  # the first segment that ends after ``start``
        out, pos = [], ends[i - 1] if i else 0
        while i < len(segs) and pos < end:
            s = segs[i]
            n = _seglen(s)
            a, b = max(start, pos), min(end, pos + n)
            if a < b:
                out.append((s[0] + a - pos, b - a) if len(s) == 2 else (s[0][a - pos : b - pos],))
            pos += n
            i += 1
        return out

    def _replace(self, start: int, length: int, new: list[tuple]) -> None:
        """Content [start, start + length) becomes ``new``; only the segments around the
        edit are rebuilt (and merged with their neighbours)."""
        segs, ends = self._segs, self._index()
        size = ends[-1] if ends else 0
        end = min(start + length, size)
        i = bisect_right(ends, start)  # segments before i end at or before ``start``
        j = bisect_right(ends, end) if end < size else len(segs)  # segments from j on end after ``end``
        i0 = max(0, i - 1)  # one neighbour each side, so the result stays merged
        j1 = min(len(segs), j + 1)
        lo = ends[i0 - 1] if i0 else 0
        hi = ends[j1 - 1] if j1 else 0
        mid = self._slice(lo, start) + new + (self._slice(end, hi) if end < hi else [])
        self.segments = segs[:i0] + _merge(mid) + segs[j1:]

    def put_many(self, edits: list[tuple[int, bytes]]) -> None:
        """Overwrite ranges (sorted, not overlapping, within the content) in one pass."""
        out, at = [], 0
        for off, data in edits:
            out += self._slice(at, off) + [(data,)]
            at = off + len(data)
        self.segments = _merge(out + self._slice(at, self.size))

    def move(self, dest: int, src: int, count: int) -> None:
        """What ``mutagen._util.move_bytes`` does, on segments (no data copied)."""
        self._replace(dest, count, self._slice(src, src + count))

    def splice(self, start: int, old_length: int, data: bytes) -> None:
        """Replace ``old_length`` bytes at ``start`` with ``data`` (the file grows or shrinks)."""
        self._replace(start, old_length, [(bytes(data),)] if data else [])

    def pread(self, start: int, length: int) -> bytes:
        ends = self._index()
        i = bisect_right(ends, start)
        if i < len(ends) and start + length <= ends[i]:  # within one segment (mutagen's many small reads)
            s, at = self._segs[i], start - (ends[i - 1] if i else 0)
            return pread(self.fd, length, s[0] + at) if len(s) == 2 else s[0][at : at + length]
        segs = self._slice(start, start + length)
        base = iter(pread_ranges(self.fd, [s for s in segs if len(s) == 2]))
        return b"".join(s[0] if len(s) == 1 else next(base) for s in segs)

    def rebase(self, regions: list[tuple[int, int]], min_length: int = 512) -> None:
        """Where new bytes repeat a base region verbatim (a tag item the writer copied),
        refer to the base instead: the journal then keeps only what really changes."""
        for off, n in sorted(regions, key=lambda r: -r[1]):
            if n < min_length:
                continue
            want = pread(self.fd, n, off)
            out: list[tuple] = []
            for s in self.segments:
                i = s[0].find(want) if len(s) == 1 and len(s[0]) >= n else -1
                if i < 0:
                    out.append(s)
                else:
                    out += [(s[0][:i],), (off, n), (s[0][i + n :],)]
            self.segments = _merge(out)

    def copy_to(self, out_fd: int) -> None:
        """Write the whole new content to ``out_fd`` (at its current position): large base
        ranges with ``copy_file_range`` where the system has it (the kernel copies, or shares
        the blocks on copy-on-write file systems); new bytes and short base ranges (an Ogg
        file renumbered: ~4 KiB of audio between 8-byte header changes) gathered in memory
        and written in large pieces."""
        pos = os.lseek(out_fd, 0, os.SEEK_CUR)
        fast = hasattr(os, "copy_file_range")
        held: list[tuple] = []  # short segments waiting to be written together
        size = 0

        def flush() -> None:
            nonlocal pos, size
            if held:
                base = iter(pread_ranges(self.fd, [s for s in held if len(s) == 2]))
                data = b"".join(s[0] if len(s) == 1 else next(base) for s in held)
                if len(data) != size:
                    raise OSError("file shrank while writing")
                view = memoryview(data)
                for k in range(0, size, _WRITE_PIECE):  # small writes, small page-cache folios: see _WRITE_PIECE
                    pwrite_all(out_fd, view[k : k + _WRITE_PIECE], pos + k)
                pos += size
                held.clear()
                size = 0

        for s in self.segments:
            if len(s) == 1 or s[1] < _SHORT_COPY:
                held.append(s)
                size += _seglen(s)
                if size >= _READ:
                    flush()
                continue
            flush()
            off, left = s
            while left > 0:
                n = 0
                if fast:
                    try:
                        n = os.copy_file_range(self.fd, out_fd, left, off, pos)
                    except OSError:
                        fast = False
                if not n:
                    b = pread(self.fd, min(_READ, left), off)
                    if not b:
                        raise OSError(f"file shrank while writing (offset {off})")
                    pwrite_all(out_fd, b, pos)
                    n = len(b)
                off, pos, left = off + n, pos + n, left - n
        flush()

    def keeps_base(self, start: int, end: int) -> bool:
        """True if base bytes [start, end) appear, unchanged and contiguous, in the new content."""
        if start >= end:
            return True
        if self._base_index is None:  # base segments by start, with the furthest end reached so far
            starts, reach, far = [], [], -1
            for s0, n in sorted(s for s in self._segs if len(s) == 2):
                far = max(far, s0 + n)
                starts.append(s0)
                reach.append(far)
            self._base_index = (starts, reach)
        starts, reach = self._base_index
        i = bisect_right(starts, start)  # segments before i start at or before ``start``
        return i > 0 and reach[i - 1] >= end

    def patches(self, limit: int | None = None) -> list[tuple[int, bytes]] | None:
        """The new content as changes made in place: ``(offset, new bytes)`` ranges within
        the base's length, plus one range at the base's end when the file grows (a file
        that shrinks is cut to ``self.size``). None when more than ``limit`` bytes would
        change (counting what is appended or cut off)."""
        m = min(self.size, self.base_size)
        budget = limit if limit is not None else float("inf")
        budget -= abs(self.size - self.base_size)
        if budget < 0:
            return None
        spans: list[list[int]] = []  # where the content is not the base at its own offset
        pos = moved = 0
        for s in self.segments:
            if pos >= m:
                break
            n = _seglen(s)
            if len(s) == 1 or s[0] != pos:
                if spans and spans[-1][1] == pos:
                    spans[-1][1] = min(pos + n, m)
                else:
                    spans.append([pos, min(pos + n, m)])
                if len(s) == 2:
                    moved += min(n, m - pos)
            pos += n
        if moved > budget:
            # more base bytes shifted to another offset than may change: a tag that grows in
            # front of the audio. Shifted bytes differ from those they land on unless the data
            # repeats itself at exactly that period (digital silence); diffing ~limit + 64 KiB
            # of it only to find that cost ~0.5 ms per new file
            return None
        out: list[tuple[int, bytes]] = []
        for start, end in spans:
            for a in range(start, end, _DIFF_PIECE):  # in pieces: a shifted file stops early
                cnt = min(a + _DIFF_PIECE, end) - a
                d = _diff(a, pread(self.fd, cnt, a), self.pread(a, cnt))
                out.extend(d)
                budget -= sum(len(x) for _, x in d)
                if budget < 0:
                    return None
        out = _coalesce(out)  # ranges within the base's length, then (never merged with them) what is appended
        if self.size > self.base_size:
            out.append((self.base_size, self.pread(self.base_size, self.size - self.base_size)))
        return out

    def layout(self) -> list[list[int]]:
        """The new content as ``[new offset, base offset or -1 (new bytes), length]`` rows."""
        out, pos = [], 0
        for s in self.segments:
            n = _seglen(s)
            out.append([pos, s[0] if len(s) == 2 else -1, n])
            pos += n
        return out

    def tail(self) -> tuple[int, int] | None:
        """``(new offset, base offset)`` where the base file's end starts to be carried over as
        one piece (the last segment, a base range reaching the base's end), or None."""
        last = self._segs[-1] if self._segs else None
        if last is None or len(last) != 2 or last[0] + last[1] != self.base_size:
            return None
        ends = self._index()
        return (ends[-2] if len(ends) > 1 else 0), last[0]

    def new_bytes(self) -> bytes:
        """All bytes that do not come from the base, in order."""
        return b"".join(s[0] for s in self.segments if len(s) == 1)

    def dropped(self) -> list[tuple[int, int]]:
        """The base ranges ``(offset, length)`` that the new content no longer holds."""
        covered = sorted((s[0], s[0] + s[1]) for s in self.segments if len(s) == 2)
        out, pos = [], 0
        for a, b in covered:
            if a > pos:
                out.append((pos, a - pos))
            pos = max(pos, b)
        if pos < self.base_size:
            out.append((pos, self.base_size - pos))
        return out


def restore_segments(layout: list[list[int]], dropped: list[list[int]], old: bytes, base_size: int) -> list[tuple]:
    """Segments that rebuild a base file of ``base_size`` bytes from the file described by
    ``layout`` (see :meth:`Overlay.layout`; its base segments become references into that
    file) and the ``dropped`` ranges' original bytes ``old``."""
    pieces: list[tuple[int, int, tuple]] = []  # (base start, base end, segment)
    pos = 0
    for off, n in dropped:
        pieces.append((off, off + n, (old[pos : pos + n],)))
        pos += n
    for new_off, base_off, n in layout:
        if base_off >= 0:
            pieces.append((base_off, base_off + n, (new_off, n)))
    pieces.sort(key=lambda p: p[0])
    out: list[tuple] = []
    at = 0
    for a, b, seg in pieces:
        if b <= at:
            continue
        skip = at - a if a < at else 0
        if a > at:
            raise ValueError("the recorded layout does not cover the original file")
        if len(seg) == 1:
            out.append((seg[0][skip:],))
        else:
            out.append((seg[0] + skip, seg[1] - skip))
        at = b
    if at != base_size:
        raise ValueError("the recorded layout does not cover the original file")
    return _merge(out)


def pwrite_all(fd: int, data: bytes, pos: int) -> None:
    """All of ``data`` at ``pos`` (a pwrite may write less than asked)."""
    while data:
        n = pwrite(fd, data, pos)
        data, pos = data[n:], pos + n


def _seglen(s: tuple) -> int:
    return len(s[0]) if len(s) == 1 else s[1]


def _merge(segs: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    for s in segs:
        if _seglen(s) == 0:
            continue
        if out and len(s) == 2 and len(out[-1]) == 2 and out[-1][0] + out[-1][1] == s[0]:
            out[-1] = (out[-1][0], out[-1][1] + s[1])
        elif out and len(s) == 1 and len(out[-1]) == 1:
            out[-1] = (out[-1][0] + s[0],)
        else:
            out.append(s)
    return out


def _diff(pos: int, old: bytes, new: bytes, block: int = 64) -> list[tuple[int, bytes]]:
    """The differing 64-byte blocks of two equally long byte strings, as ``(offset, new bytes)``
    (consecutive differing blocks as one range)."""
    if old == new:
        return []
    if len(new) <= _SMALL_DIFF:
        runs: list[list[int]] = []
        for i in range(0, len(new), block):
            if old[i : i + block] != new[i : i + block]:
                if runs and runs[-1][1] == i:
                    runs[-1][1] = min(i + block, len(new))
                else:
                    runs.append([i, min(i + block, len(new))])
        return [(pos + a, new[a:b]) for a, b in runs]
    import numpy as np  # a 64 KiB piece block by block in Python took ~1 ms (a shifted file: ~5 per write)

    n = len(new)
    nblocks = -(-n // block)
    ne = np.zeros(nblocks * block, dtype=bool)
    ne[:n] = np.frombuffer(old, np.uint8) != np.frombuffer(new, np.uint8)
    changed = np.concatenate(([0], ne.reshape(nblocks, block).any(axis=1).view(np.int8), [0]))
    edges = np.flatnonzero(np.diff(changed))  # run starts and ends, alternating, in blocks
    return [(pos + a * block, new[a * block : min(b * block, n)]) for a, b in zip(edges[0::2].tolist(), edges[1::2].tolist())]


def _coalesce(patches: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    groups: list[list] = []
    for off, data in sorted(patches):
        if groups and groups[-1][0] + groups[-1][1] == off:
            groups[-1][1] += len(data)
            groups[-1][2].append(data)
        else:
            groups.append([off, len(data), [data]])
    return [(off, b"".join(parts)) for off, _, parts in groups]


def patch_mutagen() -> None:
    """Make mutagen's byte moves segment moves when the file object is an :class:`Overlay`,
    and its Ogg page renumbering a change of 8 header bytes per page (see :func:`ogg_renumber`)."""
    import mutagen._util as util
    from mutagen.ogg import OggPage

    if not getattr(OggPage._from_packets_try_preserve, "_keeps_page_count", False):
        original_layout = OggPage._from_packets_try_preserve.__func__

        def try_preserve(cls, packets, old_pages):
            if [len(p) for p in packets] != [len(p) for p in cls.to_packets(old_pages)]:
                pages = ogg_pages_keep_count(packets, old_pages)
                if pages is not None:
                    return pages
            return original_layout(cls, packets, old_pages)

        try_preserve._keeps_page_count = True  # type: ignore[attr-defined]
        OggPage._from_packets_try_preserve = classmethod(try_preserve)
    if not getattr(OggPage.renumber, "_overlay_aware", False):
        original_renumber = OggPage.renumber

        def renumber(fileobj, serial, start):
            if isinstance(fileobj, Overlay):
                return ogg_renumber(fileobj, serial, start)
            return original_renumber(fileobj, serial, start)

        renumber._overlay_aware = True  # type: ignore[attr-defined]
        OggPage.renumber = staticmethod(renumber)
    if getattr(util.move_bytes, "_overlay_aware", False):
        return
    original = util.move_bytes

    def move_bytes(fobj, dest, src, count, BUFFER_SIZE=None):
        if isinstance(fobj, Overlay):
            if dest < 0 or src < 0 or count < 0 or max(dest, src) + count > fobj.size:
                raise ValueError("area outside of file")
            fobj.move(dest, src, count)
            return None
        return original(fobj, dest, src, count) if BUFFER_SIZE is None else original(fobj, dest, src, count, BUFFER_SIZE)

    move_bytes._overlay_aware = True  # type: ignore[attr-defined]
    util.move_bytes = move_bytes


def ogg_pages_keep_count(packets: list[bytes], old_pages: list) -> list | None:
    """The header packets of an Ogg stream (a grown comment packet and what shared its
    pages) laid out in exactly as many pages as ``old_pages``, filling each page up to the
    format's 255 lacing values (~64 KB) instead of mutagen's ~4 KB; None when they need
    more pages (or the last old page ends inside a packet: mutagen's layout is used).

    mutagen lays a grown comment out in ~4 KB pages: one more page than before and every
    later page of the stream (the whole audio) must be renumbered, 8 bytes and a checksum
    over each page, so a new file differs from the original on every page. With the same
    page count the audio pages stay byte for byte as they are. Pages are numbered and
    flagged by ``OggPage.replace`` as mutagen's own layouts are."""
    from mutagen.ogg import OggPage

    if not old_pages or not old_pages[-1].complete:
        return None
    pages = [OggPage()]
    used = 0  # lacing values of the current page
    for packet in packets:
        pages[-1].packets.append(b"")
        while True:
            need = len(packet) // 255 + 1  # lacing values to finish the packet on this page
            if used + need <= 255:
                pages[-1].packets[-1] += packet
                used += need
                break
            room = min(255 - used, (len(packet) - 1) // 255)  # full 255-byte values, part of the packet left over
            if room > 0:  # the packet goes on in the next page
                pages[-1].packets[-1] += packet[: 255 * room]
                pages[-1].complete = False
                packet = packet[255 * room :]
            else:  # the page is full: the packet starts the next page
                pages[-1].packets.pop()
            page = OggPage()
            page.continued = room > 0
            page.packets.append(b"")
            pages.append(page)
            used = 0
            if len(pages) > len(old_pages):
                return None
    if len(pages) != len(old_pages):
        return None
    for page in pages:  # a page with no packet end has no granule position
        if not page.complete and len(page.packets) == 1:
            page.position = -1
    return pages


_OGG_BITSWAP = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> bytes:
    """The Ogg page checksum field of ``page`` (its own field zeroed), as mutagen computes it."""
    crc = (~zlib.crc32(page.translate(_OGG_BITSWAP), -1)) & 0xFFFFFFFF
    return crc.to_bytes(4, "big").translate(_OGG_BITSWAP)


def ogg_renumber(ov: Overlay, serial: int, start: int) -> None:
    """``mutagen.ogg.OggPage.renumber`` on an overlay: from the current position, number
    the pages of logical stream ``serial`` from ``start`` on. Only each page's sequence
    number and checksum (8 bytes) change; the overlay records just those, not every page
    rewritten as new bytes (mutagen rereads and rewrites all pages: ~100 ms and the whole
    file held as new bytes in the journal for a 1.4 MB Ogg Vorbis file whose comment grows).
    Unlike mutagen, a page whose checksum was wrong is not given a valid one."""
    from mutagen.ogg import error

    pos, size, number = ov.tell(), ov.size, start
    edits: list[tuple[int, bytes]] = []
    buf, at = b"", pos  # the file read ahead in large pieces (pages are contiguous)

    def get(off: int, n: int) -> bytes:
        nonlocal buf, at
        if off < at or off + n > at + len(buf):
            buf, at = ov.pread(off, max(n, _READ)), off
        return buf[off - at : off - at + n]

    while True:  # the same checks as mutagen's OggPage reader, the same errors
        header = get(pos, 27)
        if not header or (len(header) < 27 and not any(header)):
            break  # the end (or trailing zero bytes)
        if len(header) < 27:
            raise error(f"unable to read full header; got {header!r}")
        if header[:4] != b"OggS":
            raise error(f"read {header[:4]!r}, expected {b'OggS'!r}, at 0x{pos:x}")
        if header[4] != 0:
            raise error(f"version {header[4]!r} unsupported")
        nseg = header[26]
        lacing = get(pos + 27, nseg)
        if len(lacing) != nseg:
            raise error(f"unable to read {nseg!r} lacing bytes")
        length = 27 + nseg + sum(lacing)
        if pos + length > size:
            raise error("unable to read full data")
        if int.from_bytes(header[14:18], "little") == serial:
            seq = (number & 0xFFFFFFFF).to_bytes(4, "little")
            if seq != header[18:22]:  # (a page whose number stays is kept byte for byte, checksum and all)
                page = bytearray(get(pos, length))
                page[22:26] = b"\0\0\0\0"
                was = _ogg_crc(bytes(page))
                page[18:22] = seq
                crc = _ogg_crc(bytes(page))
                if was != header[22:26]:  # a damaged page (its checksum wrong): it stays as damaged, with the
                    # same error in its new checksum, so that decoders drop it as they did (CRC-32 is linear)
                    crc = bytes(a ^ b ^ c for a, b, c in zip(crc, was, header[22:26]))
                edits.append((pos + 18, seq + crc))
            number += 1
        pos += length
    ov.put_many(edits)  # one rebuild of the segments, not one per page
    ov.seek(pos)
