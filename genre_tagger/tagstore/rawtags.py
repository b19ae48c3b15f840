"""Raw views of tag data: every tag item as the bytes stored in the file.

A write is checked against these views, never against a parser's interpretation: the
genre items may change, every other item must come back byte for byte. Each parser
raises :class:`Unreadable` (a one-line reason) when it cannot account for every byte of
the tag, and the file is then refused rather than written.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


class Unreadable(ValueError):
    """The tag cannot be parsed completely; the message is the reason shown to the user."""


@dataclass
class RawView:
    genre: list[bytes] = field(default_factory=list)  # the genre items, raw
    others: list[bytes] = field(default_factory=list)  # every other item, raw, in file order
    ordered: bool = True  # False: the writer may reorder items (compare as a multiset)
    regions: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) of large items in the file
    genre_at: int = 0  # Vorbis: how many other comments stand before the first genre comment

    def changed_item(self, other: RawView) -> str:
        """A short name of the first item that differs (for the reason shown)."""
        a, b = (self.others, other.others) if self.ordered else (sorted(self.others), sorted(other.others))
        for x, y in zip(a + [b""] * len(b), b + [b""] * len(a)):
            if x != y:
                return item_name(x or y)
        return "a tag item"

    def same_others(self, other: RawView) -> bool:
        a, b = self.others, other.others
        has = [any(x.startswith(b"vendor:") for x in y) for y in (a, b)]
        if has[0] != has[1]:  # a comment block added where there was none (or removed again by undo)
            a, b = ([x for x in y if not x.startswith(b"vendor:")] for y in (a, b))
        if self.ordered and other.ordered:
            return a == b
        return sorted(a) == sorted(b)


def item_name(item: bytes) -> str:
    """``'TIT2'``, ``'ARTIST'``, ``'covr'``... for an item of a raw view (best effort)."""
    if item.startswith(b"attr:"):
        return "an ASF attribute"
    if item.startswith((b"vendor:", b"id:", b"setup:", b"trailing:", b"id3:")):
        return "the " + item.split(b":", 1)[0].decode() + " header"
    head = item[:64]
    if b"=" in head and head.split(b"=", 1)[0].isascii():
        return repr(head.split(b"=", 1)[0].decode("ascii", "replace"))
    for name in (item[4:8], item[:4]):
        if len(name) == 4 and all(32 < c < 127 or c == 0xA9 for c in name):
            return repr(name.decode("latin-1"))
    return "a tag item"


def read_at(fh, offset: int, n: int) -> bytes:
    fh.seek(offset)
    return fh.read(n)


# --- ID3v2 ---------------------------------------------------------------------


def synchsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def to_synchsafe(n: int) -> bytes:
    if n >= 1 << 28:
        raise Unreadable("ID3 tag would be too large")
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


@dataclass
class Id3Tag:
    version: int  # 2, 3 or 4
    size: int  # whole tag: header + frames + padding
    frames: list[tuple[bytes, bytes]]  # (frame id, raw frame incl. header)
    header: bytes  # the 10-byte header


GENRE_FRAME = {2: b"TCO", 3: b"TCON", 4: b"TCON"}


def parse_id3(data: bytes) -> Id3Tag:
    """``data`` starts with an ID3v2 header and holds at least the whole tag."""
    if len(data) < 10 or data[:3] != b"ID3":
        raise Unreadable("no ID3 tag")
    version, flags = data[3], data[5]
    if version not in (2, 3, 4):
        raise Unreadable(f"ID3v2.{version} tag not supported")
    if flags & 0x80:
        raise Unreadable("ID3 tag uses unsynchronisation")
    if flags & 0x40:
        raise Unreadable("ID3 tag has an extended header" if version > 2 else "ID3v2.2 tag is compressed")
    if version == 4 and flags & 0x10:
        raise Unreadable("ID3 tag has a footer")
    if flags & 0x0F or (version < 4 and flags & 0x10):
        raise Unreadable("ID3 tag has unknown flags")
    size = 10 + synchsafe(data[6:10])
    if len(data) < size:
        raise Unreadable("ID3 tag runs past the end of the file")
    frames = []
    pos = 10
    head = 6 if version == 2 else 10
    idlen = 3 if version == 2 else 4
    while pos + head <= size and data[pos] != 0:
        fid = data[pos : pos + idlen]
        if not all(48 <= c <= 57 or 65 <= c <= 90 for c in fid):
            raise Unreadable("ID3 tag partly unreadable (bad frame id)")
        if version == 2:
            n = int.from_bytes(data[pos + 3 : pos + 6], "big")
        elif version == 3:
            n = int.from_bytes(data[pos + 4 : pos + 8], "big")
        else:
            raw = data[pos + 4 : pos + 8]
            if any(c & 0x80 for c in raw):
                raise Unreadable("ID3 tag partly unreadable (bad frame size)")
            n = synchsafe(raw)
        end = pos + head + n
        if n == 0 or end > size:
            raise Unreadable("ID3 tag partly unreadable (bad frame size)")
        frames.append((fid, data[pos:end]))
        pos = end
    if any(data[pos:size]):
        raise Unreadable("ID3 tag partly unreadable (data after the frames)")
    return Id3Tag(version, size, frames, data[:10])


def id3_view(tag: Id3Tag | None, offset: int = 0) -> RawView:
    """``offset``: where the tag starts in the file (for ``regions``)."""
    if tag is None:
        return RawView()
    g = GENRE_FRAME[tag.version]
    view = RawView(genre=[raw for fid, raw in tag.frames if fid == g], others=[raw for fid, raw in tag.frames if fid != g])
    pos = offset + 10
    for _, raw in tag.frames:
        view.regions.append((pos, len(raw)))
        pos += len(raw)
    return view


def genre_frame(version: int, genres: list[str], sep: str) -> bytes:
    """A new TCON (TCO) frame: UTF-8 with NUL-separated values in v2.4; in v2.2/2.3 the
    values joined with ``sep``, Latin-1 where possible, else UTF-16."""
    if version == 4:
        body = b"\x03" + "\0".join(genres).encode("utf-8")
    else:
        text = sep.join(genres)
        try:
            body = b"\x00" + text.encode("latin-1")
        except UnicodeEncodeError:
            body = b"\x01" + text.encode("utf-16")
    if version == 2:
        return b"TCO" + len(body).to_bytes(3, "big") + body
    size = to_synchsafe(len(body)) if version == 4 else len(body).to_bytes(4, "big")
    return b"TCON" + size + b"\0\0" + body


def build_id3(header6: bytes, frames: list[bytes], total: int | None, padding: int) -> bytes:
    """An ID3v2 tag of ``total`` bytes (None: frames + ``padding``)."""
    body = b"".join(frames)
    if total is None:
        total = 10 + len(body) + padding
    if 10 + len(body) > total:
        raise ValueError("frames do not fit")
    return header6 + to_synchsafe(total - 10) + body + b"\0" * (total - 10 - len(body))


# --- Vorbis comments --------------------------------------------------------------


def vorbis_view(data: bytes, framing: bool) -> RawView:
    """A Vorbis comment block (without the packet type prefix)."""
    try:
        (n,) = struct.unpack_from("<I", data, 0)
        vendor = data[4 : 4 + n]
        pos = 4 + n
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4
        view = RawView(others=[b"vendor:" + vendor])
        for _ in range(count):
            (n,) = struct.unpack_from("<I", data, pos)
            entry = data[pos + 4 : pos + 4 + n]
            if len(entry) != n:
                raise Unreadable("Vorbis comment block partly unreadable")
            pos += 4 + n
            key = entry.split(b"=", 1)[0]
            if key.lower() == b"genre":
                if not view.genre:
                    view.genre_at = len(view.others) - 1  # the vendor string is others[0]
                view.genre.append(entry)
            else:
                view.others.append(entry)
    except struct.error as e:
        raise Unreadable("Vorbis comment block partly unreadable") from e
    rest = data[pos:]
    if framing:
        rest = rest[1:] if rest[:1] == b"\x01" else rest
    if rest.strip(b"\0"):
        view.others.append(b"trailing:" + rest.rstrip(b"\0"))
    return view


def flac_view(fh, size: int) -> RawView:
    start = 0
    head = read_at(fh, 0, 10)
    view = RawView()
    if head[:3] == b"ID3":
        start = 10 + synchsafe(head[6:10])
        view.others.append(b"id3:" + read_at(fh, 0, start))
    if read_at(fh, start, 4) != b"fLaC":
        raise Unreadable("not a FLAC file")
    pos = start + 4
    comments = None
    while True:
        hdr = read_at(fh, pos, 4)
        if len(hdr) < 4:
            raise Unreadable("FLAC metadata partly unreadable")
        kind, n = hdr[0] & 0x7F, int.from_bytes(hdr[1:4], "big")
        body = read_at(fh, pos + 4, n)
        if len(body) < n or pos + 4 + n > size:
            raise Unreadable("FLAC metadata partly unreadable (block runs past the end)")
        if kind == 4:
            if comments is not None:
                raise Unreadable("FLAC file has two comment blocks")
            comments = vorbis_view(body, framing=False)
        elif kind != 1:  # padding may change
            view.others.append(bytes([kind]) + body)
            view.regions.append((pos + 4, n))
        pos += 4 + n
        if hdr[0] & 0x80:
            break
    if comments:
        view.genre, view.genre_at = comments.genre, comments.genre_at
        view.others += comments.others
    return view


def ogg_view(fh, size: int) -> RawView:
    """The header packets of the first logical stream of an Ogg file."""
    from mutagen.ogg import OggPage

    fh.seek(0)
    packets: list[bytes] = []
    pages = []
    try:
        while True:
            page = OggPage(fh)
            if pages and page.serial != pages[0].serial:
                continue
            pages.append(page)
            if page.complete and len(OggPage.to_packets(pages)) >= 3 or page.position > 0:
                break
        packets = OggPage.to_packets(pages, strict=False)
    except Exception as e:  # mutagen raises several types
        raise Unreadable(f"Ogg header pages unreadable ({type(e).__name__})") from e
    if len(packets) < 2:
        raise Unreadable("Ogg comment header missing")
    first, comment = packets[0], packets[1]
    if comment.startswith(b"\x03vorbis"):
        view = vorbis_view(comment[7:], framing=True)
        view.others += [b"id:" + first] + [b"setup:" + p for p in packets[2:3]]
    elif comment.startswith(b"OpusTags"):
        view = vorbis_view(comment[8:], framing=False)
        view.others.append(b"id:" + first)
    else:
        raise Unreadable("unsupported Ogg codec")
    return view


# --- MP4 -------------------------------------------------------------------------


def _atoms(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        n, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if n == 1:
            (n,) = struct.unpack_from(">Q", data, pos + 8)
            head = 16
        elif n == 0:
            n = end - pos
        if n < head or pos + n > end:
            raise Unreadable("MP4 metadata partly unreadable (bad atom size)")
        yield kind, pos, pos + head, pos + n
        pos += n


def mp4_view(fh, size: int) -> RawView:
    # top level: find moov without reading mdat
    pos, moov = 0, None
    while pos + 8 <= size:
        hdr = read_at(fh, pos, 16)
        n, kind = struct.unpack_from(">I4s", hdr, 0)
        head = 8
        if n == 1:
            (n,) = struct.unpack_from(">Q", hdr, 8)
            head = 16
        elif n == 0:
            n = size - pos
        if n < head:
            raise Unreadable("MP4 file partly unreadable (bad atom size)")
        if kind == b"moov":
            moov = read_at(fh, pos, n)
            break
        pos += n
    if moov is None:
        raise Unreadable("MP4 file has no moov atom")
    view = RawView(ordered=False)
    moov_at = pos
    for _, _, body, end in _atoms(moov, 0, len(moov)):
        for k2, _, b2, e2 in _atoms(moov, body, end):
            if k2 != b"udta":
                continue
            for k3, _, b3, e3 in _atoms(moov, b2, e2):
                if k3 != b"meta":
                    continue
                for k4, _, b4, e4 in _atoms(moov, b3 + 4, e3):
                    if k4 != b"ilst":
                        continue
                    for k5, s5, _, e5 in _atoms(moov, b4, e4):
                        item = moov[s5:e5]
                        (view.genre if k5 in (b"\xa9gen", b"gnre") else view.others).append(item)
                        view.regions.append((moov_at + s5, e5 - s5))
    return view


# --- ASF -------------------------------------------------------------------------

_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_CD = bytes.fromhex("3326b2758e66cf11a6d900aa0062ce6c")
_ASF_ECD = bytes.fromhex("40a4d0d207e3d21197f000a0c95ea850")
_ASF_HEXT = bytes.fromhex("b503bf5f2ea9cf118ee300c00c205365")
_ASF_META = bytes.fromhex("eacbf8c5af5b77488467aa8c44fa4cca")
_ASF_METALIB = bytes.fromhex("941c23449894d149a1411d134e457054")
_ASF_PADDING = bytes.fromhex("74d40618dfca0945a4ba9aabcb96aae8")


def _asf_objects(data: bytes, pos: int, end: int):
    while pos + 24 <= end:
        guid = data[pos : pos + 16]
        (n,) = struct.unpack_from("<Q", data, pos + 16)
        if n < 24 or pos + n > end:
            raise Unreadable("ASF header partly unreadable (bad object size)")
        yield guid, data[pos + 24 : pos + n]
        pos += n


def asf_view(fh, size: int) -> RawView:
    head = read_at(fh, 0, 30)
    if head[:16] != _ASF_HEADER:
        raise Unreadable("not an ASF file")
    (n,) = struct.unpack_from("<Q", head, 16)
    if n > size:
        raise Unreadable("ASF header runs past the end of the file")
    data = read_at(fh, 0, n)
    view = RawView(ordered=False)

    def attrs(guid: bytes, body: bytes) -> None:
        try:
            (count,) = struct.unpack_from("<H", body, 0)
            pos = 2
            for _ in range(count):
                if guid == _ASF_ECD:
                    (nl,) = struct.unpack_from("<H", body, pos)
                    name = body[pos + 2 : pos + 2 + nl]
                    (vl,) = struct.unpack_from("<H", body, pos + 4 + nl)
                    end = pos + 6 + nl + vl
                else:
                    nl, _, vl = struct.unpack_from("<HHI", body, pos + 4)
                    name = body[pos + 12 : pos + 12 + nl]
                    end = pos + 12 + nl + vl
                if end > len(body):
                    raise Unreadable("ASF attributes partly unreadable")
                item = body[pos:end]
                is_genre = name.decode("utf-16-le", "replace").rstrip("\0") == "WM/Genre"
                (view.genre if is_genre else view.others).append(b"attr:" + item)
                pos = end
        except struct.error as e:
            raise Unreadable("ASF attributes partly unreadable") from e

    for guid, body in _asf_objects(data, 30, n):
        if guid == _ASF_ECD:
            attrs(guid, body)
        elif guid == _ASF_HEXT:
            for g2, b2 in _asf_objects(body, 22, len(body)):
                if g2 in (_ASF_META, _ASF_METALIB):
                    attrs(g2, b2)
                elif g2 != _ASF_PADDING:
                    view.others.append(g2 + b2)
        elif guid != _ASF_PADDING and not (guid == _ASF_CD and not any(body)):  # an empty description counts as none
            view.others.append(guid + body)
    return view


# --- APEv2 (raw AAC files) ----------------------------------------------------------------

APE_HAS_HEADER = 0x80000000
APE_IS_HEADER = 0x20000000


@dataclass
class ApeTag:
    start: int  # where the tag (its header, if any) begins; == end when there is none
    end: int  # where its footer ends (an ID3v1 tag may follow)
    flags: int  # the footer's flags
    items: list[bytes]  # each item as stored: value size, flags, key, NUL, value


def ape_tag(fh, size: int) -> ApeTag:
    """The APEv2 tag at the end of a file (before an ID3v1 tag), or an empty one placed
    there. Raises :class:`Unreadable` if it cannot be accounted for completely."""
    end = size - 128 if size >= 128 and read_at(fh, size - 128, 3) == b"TAG" else size
    footer = read_at(fh, end - 32, 32) if end >= 32 else b""
    if footer[:8] != b"APETAGEX":
        return ApeTag(end, end, APE_HAS_HEADER, [])
    version, tsize, count, flags = struct.unpack_from("<4I", footer, 8)
    if version != 2000:
        raise Unreadable(f"APE tag version {version} not supported")
    body = end - tsize
    start = body - (32 if flags & APE_HAS_HEADER else 0)
    if tsize < 32 or start < 0 or (flags & APE_HAS_HEADER and read_at(fh, start, 8) != b"APETAGEX"):
        raise Unreadable("APE tag partly unreadable (bad size or header)")
    data = read_at(fh, body, tsize - 32)
    items, pos = [], 0
    for _ in range(count):
        if pos + 8 > len(data):
            raise Unreadable("APE tag partly unreadable (an item runs past its end)")
        (vlen,) = struct.unpack_from("<I", data, pos)
        key_end = data.find(b"\0", pos + 8)
        if key_end < 0 or key_end + 1 + vlen > len(data):
            raise Unreadable("APE tag partly unreadable (an item runs past its end)")
        items.append(data[pos : key_end + 1 + vlen])
        pos = key_end + 1 + vlen
    if pos != len(data):
        raise Unreadable("APE tag partly unreadable (bytes after its items)")
    return ApeTag(start, end, flags, items)


def ape_key(item: bytes) -> bytes:
    return item[8 : item.index(b"\0", 8)]


def ape_value(item: bytes) -> bytes:
    return item[item.index(b"\0", 8) + 1 :]


def ape_item(key: bytes, value: bytes) -> bytes:
    """A UTF-8 text item."""
    return struct.pack("<II", len(value), 0) + key + b"\0" + value


def build_ape(items: list[bytes], flags: int) -> bytes:
    """A whole APEv2 tag (header if ``flags`` says so, items in the order given, footer)."""
    body = b"".join(items)
    fields = struct.pack("<4I", 2000, len(body) + 32, len(items), flags & ~APE_IS_HEADER)
    header = b"APETAGEX" + struct.pack("<4I", 2000, len(body) + 32, len(items), flags | APE_IS_HEADER) + bytes(8)
    return (header if flags & APE_HAS_HEADER else b"") + body + b"APETAGEX" + fields + bytes(8)


def ape_view(fh, size: int) -> RawView:
    tag = ape_tag(fh, size)
    view = RawView()
    for item in tag.items:
        (view.genre if ape_key(item).lower() == b"genre" else view.others).append(item)
    if tag.end < size:  # the ID3v1 tag behind it
        view.others.append(b"id3:" + read_at(fh, tag.end, size - tag.end))
    return view
