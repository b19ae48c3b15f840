"""Tag families: how "genre" is read and changed in each kind of tag, one class per family.

========  ===========================  ==========================================
family    files                        genre field
========  ===========================  ==========================================
id3       MP3, WAV, AIFF, raw AAC      ``TCON`` (``TCO`` in v2.2); v2.4 stores several
          that has an ID3v2 tag        values natively, v2.2/2.3 join them with a
                                       configurable separator (default ``"; "``)
vorbis    FLAC, Ogg Vorbis, Opus       one ``GENRE`` comment per value (the file's own
                                       key spelling is kept)
mp4       M4A/MP4 (AAC, ALAC)          ``©gen`` (a numeric ``gnre`` atom is the same
                                       field and is replaced by ``©gen``)
asf       WMA/ASF                      ``WM/Genre``
ape       raw AAC (.aac) without an    an APEv2 ``Genre`` item (several values
          ID3v2 tag                    separated by NUL) in a tag at the end
========  ===========================  ==========================================

Each family reads the tags (:meth:`Family.load`, :meth:`Family.info`), gives a raw view for
byte-level checks (:meth:`Family.view`, see :mod:`genre_tagger.tagstore.rawtags`) and edits an
:class:`~genre_tagger.tagstore.overlay.Overlay` — the planned new file — without touching the real
one (:meth:`Family.edit`). ID3 tags are edited at the byte level (frames other than the
genre are copied verbatim, the tag keeps its version, an ID3v1 tag is left alone); the
other families are saved by mutagen into the overlay. Checking and committing the
planned file is :mod:`genre_tagger.tagstore.write`'s job.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TagError
from ..reasons import cannot_read, short_reason
from . import rawtags
from .overlay import Overlay, patch_mutagen
from .rawtags import RawView, Unreadable, read_at

PADDING = 8192  # bytes of free space added when a tag must grow (later writes then fit in place)


@dataclass(frozen=True)
class TagOptions:
    id3_version: int = 4  # 3 or 4: the version of new ID3 tags (existing tags keep theirs)
    id3v23_separator: str = "; "
    keep_mtime: bool = False  # keep the file's modification time after a write


@dataclass
class TrackTags:
    path: Path
    format: str  # container: "MP3", "AAC", "WAVE", "AIFF", "FLAC", "OggVorbis", "OggOpus", "MP4", "ASF"
    kind: str  # id3 | vorbis | mp4 | asf
    artist: str = ""
    title: str = ""
    album: str = ""
    genres: list[str] = field(default_factory=list)
    duration: float = 0.0
    id3_version: int | None = None
    album_artist: str = ""
    track_number: str = ""  # as stored: "3", "03", "3/12"
    disc_number: str = ""  # "1", "1/2"


# what Family.info reads besides the genres, in its order
INFO_FIELDS = ("artist", "title", "album", "album_artist", "track_number", "disc_number")


def _first_of_pairs(values):
    """MP4's (number, total) pairs (trkn, disk) as their number; other values as they are."""
    if isinstance(values, list | tuple):
        return [v[0] if isinstance(v, tuple) and v else v for v in values]
    return values


def _text(values) -> list[str]:
    out = []
    for v in values if isinstance(values, list | tuple) else [values]:
        s = str(getattr(v, "value", v))
        if s:
            out.append(s)
    return out


def _mutagen_load(cls, path: Path):
    try:
        return cls(str(path))
    except PermissionError as e:
        raise TagError(path, cannot_read(e)) from e
    except Exception as e:  # mutagen raises many types
        raise TagError(path, f"cannot read tags ({short_reason(e)})") from e


class Family:
    """One tag family. Subclasses set ``name`` and implement the four methods."""

    name = ""
    raw_restore = False  # edit() can put recorded raw genre data back byte for byte

    def load(self, path: Path, container: str):
        """Parsed tags (and stream info where cheap) for reading."""
        raise NotImplementedError

    def load_from(self, fh, size: int, container: str):
        """Like :meth:`load`, from a file object (the planned file): for reading it back."""
        raise NotImplementedError

    def info(self, loaded, options: TagOptions) -> tuple[list[str], list[str], float, int | None]:
        """(genres, [artist, title, album, album artist, track number, disc number], duration,
        id3 version) of a loaded file (see :data:`INFO_FIELDS`)."""
        raise NotImplementedError

    def view(self, fh, size: int, container: str) -> RawView:
        """The raw tag items (raises :class:`Unreadable`)."""
        raise NotImplementedError

    def edit(
        self, path: Path, container: str, ov: Overlay, genres: list[str], options: TagOptions, raw: dict | None, padding: int = PADDING
    ) -> dict | None:
        """Write ``genres`` into the overlay (or the recorded raw genre data ``raw``:
        byte-exact undo); a tag that must grow gets ``padding`` bytes of free space.
        Returns the raw genre data to record (see :meth:`raw_genre`), or
        None where that is the planned file's own (the caller reads it with :meth:`view_raw`
        in the same parse as the view it checks)."""
        raise NotImplementedError

    def raw_genre(self, fh, size: int, container: str) -> dict:
        """The genre field as stored (JSON-able; bytes as hex), for the journal."""
        return self.view_raw(fh, size, container)[1]

    def view_raw(self, fh, size: int, container: str) -> tuple[RawView, dict]:
        """:meth:`view` and :meth:`raw_genre` from one parse of the tag."""
        view = self.view(fh, size, container)
        return view, self._raw(view, container)

    def _raw(self, view: RawView, container: str) -> dict:
        return {"family": self.name, "container": container, "items": [b.hex() for b in view.genre]}


# --- ID3 ----------------------------------------------------------------------------


@dataclass
class _Id3Place:
    tag_off: int  # where the tag is (or goes)
    tag_len: int  # 0: no tag
    chunk_off: int | None = None  # WAV/AIFF: the chunk holding the tag
    chunk_len: int = 0  # its data size
    end_of_chunks: int = 0  # where a new chunk is appended


def _id3_place(fh, size: int, container: str) -> _Id3Place:
    if container in ("MP3", "AAC"):
        head = read_at(fh, 0, 10)
        if head[:3] == b"ID3" and len(head) == 10:
            return _Id3Place(0, 10 + rawtags.synchsafe(head[6:10]))
        return _Id3Place(0, 0)
    big = container == "AIFF"
    pos, found = 12, None
    while pos + 8 <= size:
        hdr = read_at(fh, pos, 8)
        n = int.from_bytes(hdr[4:8], "big" if big else "little")
        if hdr[:4] in (b"id3 ", b"ID3 "):
            found = (pos, n)
        pos += 8 + n + (n & 1)
    if pos > size + 1 or (pos == size + 1 and found is None):
        raise Unreadable(f"{'AIFF' if big else 'WAV'} file is truncated (a chunk runs past the end)")
    if found:
        tag = read_at(fh, found[0] + 8, 10)
        tag_len = 10 + rawtags.synchsafe(tag[6:10]) if tag[:3] == b"ID3" and len(tag) == 10 else 0
        if tag_len > found[1]:
            raise Unreadable("ID3 chunk is shorter than its tag")
        return _Id3Place(found[0] + 8, tag_len, found[0], found[1], pos)
    return _Id3Place(0, 0, None, 0, pos)


def _appended_id3(fh, size: int) -> int | None:
    """Where the footer (``3DI``) of an ID3v2.4 tag appended at the end of an MPEG file is,
    at the very end or before an ID3v1 tag; None if there is none."""
    for end in (size, size - 128):
        if end < 10:
            continue
        footer = read_at(fh, end - 10, 10)
        if footer[:3] == b"3DI" and footer[3] == 4 and not any(b & 0x80 for b in footer[6:10]):
            if end == size - 128 and read_at(fh, end, 3) != b"TAG":
                continue
            return end - 10
    return None


class Id3Family(Family):
    name = "id3"
    raw_restore = True

    def load(self, path: Path, container: str):
        from mutagen.id3 import ID3

        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            try:
                place = _id3_place(fh, size, container)
            except Unreadable:
                place = _Id3Place(0, 0)
            data = read_at(fh, place.tag_off, place.tag_len) if place.tag_len else b""
        tags = None
        try:
            if data:
                tags = ID3(io.BytesIO(data))
            elif container == "MP3":
                tags = ID3(str(path))  # an ID3v1 tag alone
        except Exception:  # no tag, or unreadable: no genre known
            tags = None
        from mutagen.aac import AAC
        from mutagen.aiff import AIFF
        from mutagen.mp3 import MP3
        from mutagen.wave import WAVE

        try:
            cls = {"MP3": MP3, "AAC": AAC, "WAVE": WAVE, "AIFF": AIFF}[container]
            length = float(cls(str(path)).info.length or 0.0)
        except Exception as e:  # mutagen raises many types
            if container in ("MP3", "AAC") and not data:  # no tag and no audio frames found
                raise TagError(path, f"not an {container} audio file (no audio frames found in it)") from e
            length = 0.0  # the duration is only informative
        return tags, length

    def info(self, loaded, options):
        tags, length = loaded
        if tags is None:
            return [], [""] * len(INFO_FIELDS), length, None
        frame = tags.get("TCON")
        genres = list(frame.genres) if frame is not None else []
        sep = options.id3v23_separator.strip()
        if tags.version[1] < 4 and sep:
            genres = [p.strip() for v in genres for p in v.split(sep) if p.strip()]
        names = []
        for key in ("TPE1", "TIT2", "TALB", "TPE2", "TRCK", "TPOS"):
            v = tags.get(key)
            names.append("" if v is None else " / ".join(_text(v.text)))
        return genres, names, length, tags.version[1]

    def load_from(self, fh, size, container):
        from mutagen.id3 import ID3

        place = _id3_place(fh, size, container)
        data = read_at(fh, place.tag_off, place.tag_len) if place.tag_len else b""
        return (ID3(io.BytesIO(data)) if data else None), 0.0

    def _tag(self, fh, size, container):
        place = _id3_place(fh, size, container)
        tag = rawtags.parse_id3(read_at(fh, place.tag_off, place.tag_len)) if place.tag_len else None
        return place, tag

    def view(self, fh, size, container):
        place, tag = self._tag(fh, size, container)
        return rawtags.id3_view(tag, place.tag_off)

    def view_raw(self, fh, size, container):
        place, tag = self._tag(fh, size, container)
        view = rawtags.id3_view(tag, place.tag_off)
        out = self._raw(view, container)
        out["version"] = tag.version if tag else None
        if tag is not None:  # how many other frames stand before the (first) genre frame
            gid = rawtags.GENRE_FRAME[tag.version]
            at = next((i for i, (fid, _) in enumerate(tag.frames) if fid == gid), len(tag.frames))
            out["index"] = sum(1 for fid, _ in tag.frames[:at] if fid != gid)
        return view, out

    def edit(self, path, container, ov, genres, options, raw, padding=PADDING):
        if container in ("MP3", "AAC") and (end := _appended_id3(ov, ov.size)) is not None:
            raise TagError(path, f"an ID3v2 tag is appended at the end of the file (its footer at byte {end}); readers that "
                                 "prefer it would go on showing its genre, so nothing was written")  # fmt: skip
        place, tag = self._tag(ov, ov.size, container)
        if tag is None and not genres and not (raw and raw["items"]):
            return {"family": self.name, "container": container, "items": [], "version": None}
        version = tag.version if tag else options.id3_version
        if version not in (2, 3, 4):
            raise TagError(path, f"ID3 version must be 3 or 4, not {version}")
        header6 = tag.header[:6] if tag else b"ID3" + bytes((version, 0, 0))
        if raw is not None and raw.get("version") in (None, version):
            new_genre = [bytes.fromhex(h) for h in raw["items"]]
        else:
            new_genre = [rawtags.genre_frame(version, genres, options.id3v23_separator)] if genres else []
        frames = tag.frames if tag else []
        gid = rawtags.GENRE_FRAME[version]
        kept = [raw_f for fid, raw_f in frames if fid != gid]
        # a new genre frame goes last: frames after it never move on later writes (a cover
        # behind it would otherwise be rewritten); recorded data goes back where it was
        before = min(raw.get("index", len(kept)), len(kept)) if raw is not None and raw.get("version") in (None, version) else len(kept)
        new_frames = kept[:before] + new_genre + kept[before:]
        new_tag = None
        if tag is not None:
            try:
                new_tag = rawtags.build_id3(header6, new_frames, tag.size, 0)  # fits: same size, in place
            except ValueError:
                new_tag = None
        if new_tag is None:
            new_tag = rawtags.build_id3(header6, new_frames, None, padding)
        if place.tag_len and len(new_tag) == place.tag_len:
            ov.splice(place.tag_off, place.tag_len, new_tag)  # in place
        elif container in ("MP3", "AAC"):
            ov.splice(0, place.tag_len, new_tag)
        else:
            self._resize_chunk(ov, container, place, new_tag)
        return {"family": self.name, "container": container, "items": [b.hex() for b in new_genre], "version": version,
                "index": before}  # fmt: skip

    @staticmethod
    def _resize_chunk(ov: Overlay, container: str, place: _Id3Place, new_tag: bytes) -> None:
        big = container == "AIFF"
        order = "big" if big else "little"
        n = len(new_tag) + (len(new_tag) & 1)  # keep chunks even-sized
        chunk = (b"ID3 " if big else b"id3 ") + n.to_bytes(4, order) + new_tag + b"\0" * (n - len(new_tag))
        if place.chunk_off is not None:
            old = 8 + place.chunk_len + (place.chunk_len & 1)
            old = min(old, ov.size - place.chunk_off)
            name = read_at(ov, place.chunk_off, 4)
            chunk = name + chunk[4:]
            ov.splice(place.chunk_off, old, chunk)
            delta = len(chunk) - old
        else:
            if place.end_of_chunks > ov.size:  # the last chunk lacks its pad byte
                ov.splice(ov.size, 0, b"\0")
            ov.splice(ov.size, 0, chunk)
            delta = ov.size - ov.base_size
        declared = int.from_bytes(read_at(ov, 4, 4), order)
        ov.splice(4, 4, (declared + delta).to_bytes(4, order))


# --- APEv2 (raw AAC) ------------------------------------------------------------------


class ApeFamily(Family):
    """An APEv2 tag at the end of a raw AAC (ADTS/ADIF) file without an ID3v2 tag: the
    layout Picard writes for .aac, read by mutagen (``mutagen.File`` gives an
    ``APEv2File``) and FFmpeg alike. An ID3v2 tag in front of ADTS would make
    ``mutagen.File`` take the file for MP3 and fail. Edited at the byte level: every other
    item (and an ID3v1 tag behind it) stays byte for byte."""

    name = "ape"
    raw_restore = True

    def load(self, path: Path, container: str):
        from mutagen.aac import AAC

        with open(path, "rb") as fh:
            try:
                items = rawtags.ape_tag(fh, os.fstat(fh.fileno()).st_size).items
            except Unreadable:
                items = []
        try:
            length = float(AAC(str(path)).info.length or 0.0)
        except Exception as e:  # mutagen raises many types
            if not items:
                raise TagError(path, "not an AAC audio file (no audio frames found in it)") from e
            length = 0.0
        return items, length

    def load_from(self, fh, size, container):
        return rawtags.ape_tag(fh, size).items, 0.0

    def info(self, loaded, options):
        items, length = loaded
        by_key: dict[bytes, list[str]] = {}
        for item in items:
            if not (struct.unpack_from("<I", item, 4)[0] >> 1) & 3:  # text (not binary or a link)
                values = ape_text(rawtags.ape_value(item))
                by_key.setdefault(rawtags.ape_key(item).lower(), []).extend(values)
        names = [" / ".join(by_key.get(k, [])) for k in (b"artist", b"title", b"album", b"album artist", b"track", b"disc")]
        return by_key.get(b"genre", []), names, length, None

    def view(self, fh, size, container):
        return rawtags.ape_view(fh, size)

    def view_raw(self, fh, size, container):
        tag = rawtags.ape_tag(fh, size)
        view = rawtags.ape_view(fh, size)
        out = self._raw(view, container)
        out["index"] = next((i for i, it in enumerate(tag.items) if rawtags.ape_key(it).lower() == b"genre"), None)
        return view, out

    def edit(self, path, container, ov, genres, options, raw, padding=PADDING):
        tag = rawtags.ape_tag(ov, ov.size)
        keys = [rawtags.ape_key(it) for it in tag.items]
        key = next((k for k in keys if k.lower() == b"genre"), b"Genre")  # the file's own spelling
        kept = [it for it, k in zip(tag.items, keys) if k.lower() != b"genre"]
        if raw is not None:
            new_genre = [bytes.fromhex(h) for h in raw["items"]]
            at = raw.get("index")
        else:
            new_genre = [rawtags.ape_item(key, "\0".join(genres).encode("utf-8"))] if genres else []
            at = next((i for i, k in enumerate(keys) if k.lower() == b"genre"), None)
        at = len(kept) if at is None else min(at, len(kept))
        items = kept[:at] + new_genre + kept[at:]
        ov.splice(tag.start, tag.end - tag.start, rawtags.build_ape(items, tag.flags) if items else b"")
        return {"family": self.name, "container": container, "items": [b.hex() for b in new_genre],
                "index": at if new_genre else None}  # fmt: skip


def ape_text(value: bytes) -> list[str]:
    """The values of an APEv2 text item (UTF-8, several separated by NUL)."""
    return [v for v in value.decode("utf-8", "replace").split("\0") if v]


# --- mutagen-saved families ------------------------------------------------------------


class _MutagenFamily(Family):
    classes: dict[str, str] = {}  # container -> "module:Class"

    def _cls(self, container: str):
        import importlib

        mod, cls = self.classes[container].split(":")
        return getattr(importlib.import_module(mod), cls)

    def load(self, path, container):
        return _mutagen_load(self._cls(container), path)

    def load_from(self, fh, size, container):
        fh.seek(0)
        return self._cls(container)(fh)

    def edit(self, path, container, ov, genres, options, raw, padding=PADDING):
        patch_mutagen()
        f = _mutagen_load(self._cls(container), path)
        if f.tags is None:
            if not genres:
                return {"family": self.name, "container": container, "items": []}
            f.add_tags()
        if raw is not None and self.raw_restore:
            self.set_raw(f, raw)
        else:
            self.set_genres(f, genres)
        ov.seek(0)
        f.save(ov, padding=lambda info: info.padding if info.padding >= 0 else padding)  # keep the size when it fits
        return None  # the planned tag's raw genre data, read by the caller with its view

    def set_genres(self, f, genres: list[str]) -> None:
        raise NotImplementedError

    def set_raw(self, f, raw: dict) -> None:
        """Put the recorded raw genre data (see :meth:`Family.raw_genre`) back."""
        raise NotImplementedError


class VorbisFamily(_MutagenFamily):
    name = "vorbis"
    raw_restore = True  # entries are KEY=value in UTF-8: restored with their key spelling
    classes = {"FLAC": "mutagen.flac:FLAC", "OggVorbis": "mutagen.oggvorbis:OggVorbis", "OggOpus": "mutagen.oggopus:OggOpus"}

    def info(self, f, options):
        tags = f.tags or []
        genres = [v for k, v in tags if k.lower() == "genre" and v]
        names = []
        for keys in (("artist",), ("title",), ("album",), ("albumartist", "album artist"), ("tracknumber",), ("discnumber",)):
            names.append(" / ".join(v for k, v in tags if k.lower() in keys and v))
        return genres, names, float(getattr(f.info, "length", 0.0) or 0.0), None

    def set_genres(self, f, genres):
        # the file's key spelling is kept; the values go last, so that comments after
        # them (an embedded picture in Ogg) never move on later writes
        key = next((k for k, _ in f.tags if k.lower() == "genre"), "GENRE")
        self._put(f, [(key, g) for g in genres], None)

    def set_raw(self, f, raw):
        items = [bytes.fromhex(h) for h in raw["items"]]
        self._put(f, [tuple(b.decode("utf-8").split("=", 1)) for b in items], raw.get("index"))

    def view_raw(self, fh, size, container):
        view = self.view(fh, size, container)
        out = self._raw(view, container)
        out["index"] = view.genre_at
        return view, out

    @staticmethod
    def _put(f, new: list[tuple[str, str]], index: int | None) -> None:
        kept = [(k, v) for k, v in f.tags if k.lower() != "genre"]
        at = len(kept) if index is None else min(index, len(kept))
        f.tags[:] = kept[:at] + new + kept[at:]

    def view(self, fh, size, container):
        return rawtags.flac_view(fh, size) if container == "FLAC" else rawtags.ogg_view(fh, size)


class _KeyedFamily(_MutagenFamily):
    """Tags as a dict of lists (MP4, ASF): the genre under ``genre_keys[0]``; the other
    keys hold the same field in another form and are replaced by it."""

    genre_keys: tuple[str, ...] = ()
    info_keys: tuple[str, ...] = ("",) * 6  # INFO_FIELDS

    def info(self, f, options):
        tags = f.tags or {}
        genres = _text(tags.get(self.genre_keys[0], []))
        names = [" / ".join(_text(_first_of_pairs(tags.get(k, [])))) for k in self.info_keys]
        return genres, names, float(getattr(f.info, "length", 0.0) or 0.0), None

    def set_genres(self, f, genres):
        for key in self.genre_keys:
            if key in f.tags:
                del f.tags[key]
        if genres:
            f.tags[self.genre_keys[0]] = list(genres)


class Mp4Family(_KeyedFamily):
    name = "mp4"
    classes = {"MP4": "mutagen.mp4:MP4"}
    genre_keys = ("\xa9gen", "gnre")  # mutagen reads a numeric gnre atom as \xa9gen
    info_keys = ("\xa9ART", "\xa9nam", "\xa9alb", "aART", "trkn", "disk")

    def view(self, fh, size, container):
        return rawtags.mp4_view(fh, size)


class AsfFamily(_KeyedFamily):
    name = "asf"
    classes = {"ASF": "mutagen.asf:ASF"}
    genre_keys = ("WM/Genre",)
    info_keys = ("Author", "Title", "WM/AlbumTitle", "WM/AlbumArtist", "WM/TrackNumber", "WM/PartOfSet")

    def view(self, fh, size, container):
        return rawtags.asf_view(fh, size)


FAMILIES: dict[str, Family] = {f.name: f for f in (Id3Family(), VorbisFamily(), Mp4Family(), AsfFamily(), ApeFamily())}
_CONTAINER_FAMILY = {"MP3": "id3", "AAC": "id3", "WAVE": "id3", "AIFF": "id3", "FLAC": "vorbis", "OggVorbis": "vorbis",
                     "OggOpus": "vorbis", "MP4": "mp4", "ASF": "asf"}  # fmt: skip
_MPEG_EXTS = {".mp3": "MP3", ".mp2": "MP3", ".aac": "AAC"}


def detect(path: Path) -> tuple[Family, str]:
    """The tag family and container of ``path``, from its first bytes (and extension for MPEG)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:3] == b"ID3" and len(head) >= 10:  # FLAC or MPEG behind an ID3 tag
                after = read_at(fh, 10 + rawtags.synchsafe(head[6:10]), 4)
                if after == b"fLaC":
                    return FAMILIES["vorbis"], "FLAC"
    except OSError as e:
        raise TagError(path, cannot_read(e)) from e
    container = None
    if head[:4] == b"fLaC":
        container = "FLAC"
    elif head[:4] == b"OggS":
        container = "OggOpus" if b"OpusHead" in head else "OggVorbis" if b"\x01vorbis" in head else None
        if container is None:
            raise TagError(path, "unsupported Ogg codec (only Vorbis and Opus are tagged)")
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        container = "WAVE"
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        container = "AIFF"
    elif head[4:8] == b"ftyp":
        container = "MP4"
    elif head[:16] == rawtags._ASF_HEADER:
        container = "ASF"
    elif path.suffix.lower() in _MPEG_EXTS:
        container = _MPEG_EXTS[path.suffix.lower()]
    elif head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        container = "MP3"
    if container is None:
        raise TagError(path, "not a supported audio file")
    if container == "AAC" and head[:3] != b"ID3":  # raw AAC without an ID3v2 tag: APEv2 at the end
        return FAMILIES["ape"], container
    return FAMILIES[_CONTAINER_FAMILY[container]], container


def read_tags(path: str | Path, options: TagOptions = TagOptions()) -> TrackTags:
    """Artist, title, album, genres and duration of ``path`` (raises :class:`TagError`)."""
    path = Path(path)
    family, container = detect(path)
    try:
        loaded = family.load(path, container)
        genres, names, length, id3v = family.info(loaded, options)
    except TagError:
        raise
    except Exception as e:  # any parser failure is this file's problem
        raise TagError(path, f"cannot read tags ({short_reason(e)})") from e
    t = TrackTags(path=path, format=container, kind=family.name, genres=genres, duration=length, id3_version=id3v)
    t.artist, t.title, t.album, t.album_artist, t.track_number, t.disc_number = names
    return t
