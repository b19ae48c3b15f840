"""The one place for tag I/O: read track info, read and write the genre field.

How "genre" maps onto each format is declared in :data:`GENRE_FIELDS` (like
mediafile's single ``genres`` field):

- ID3 (MP3, WAV, AIFF): ``TCON``; ID3v2.4 stores several values natively, ID3v2.3
  joins them with a configurable separator (default ``"; "``). A file's existing v2.3
  or v2.4 tag keeps its version; new tags get the configured one.
- Vorbis comments (FLAC, Ogg Vorbis, Opus): one ``GENRE`` field per value.
- MP4/M4A: ``©gen`` (a list); a numeric ``gnre`` atom is the same field and is dropped
  when the genre is written.
- ASF/WMA: ``WM/Genre`` (a list).

Writes are crash-safe: the file is copied to a temporary file in the same folder, the
copy is tagged, re-read and verified (genre as asked, every other tag unchanged, audio
payload byte-identical), flushed to disk and atomically renamed over the original.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TagError
from .payload import payload_digest


@dataclass(frozen=True)
class TagOptions:
    id3_version: int = 4  # 3 or 4
    id3v23_separator: str = "; "
    keep_mtime: bool = False  # keep the file's modification time after a write


@dataclass(frozen=True)
class GenreField:
    kind: str  # id3 | vorbis | mp4 | asf
    key: str
    drop: tuple[str, ...] = ()  # keys that also hold the genre, removed on write


GENRE_FIELDS = {
    "id3": GenreField("id3", "TCON"),
    "vorbis": GenreField("vorbis", "GENRE"),
    "mp4": GenreField("mp4", "\xa9gen", drop=("gnre",)),
    "asf": GenreField("asf", "WM/Genre"),
}

INFO_KEYS = {  # artist, title, album
    "id3": ("TPE1", "TIT2", "TALB"),
    "vorbis": ("artist", "title", "album"),
    "mp4": ("\xa9ART", "\xa9nam", "\xa9alb"),
    "asf": ("Author", "Title", "WM/AlbumTitle"),
}


@dataclass
class TrackTags:
    path: Path
    format: str  # mutagen class name, e.g. "MP3", "FLAC"
    kind: str  # id3 | vorbis | mp4 | asf
    artist: str = ""
    title: str = ""
    album: str = ""
    genres: list[str] = field(default_factory=list)
    duration: float = 0.0
    id3_version: int | None = None


def _open(path: Path):
    import mutagen

    try:
        f = mutagen.File(str(path))
    except PermissionError as e:
        raise TagError(path, f"cannot read file ({e.strerror})") from e
    except Exception as e:  # noqa: BLE001 - mutagen raises many types
        raise TagError(path, f"cannot read tags ({_short(e)})") from e
    if f is None:
        raise TagError(path, "not a supported audio file")
    return f


def _short(e: Exception) -> str:
    s = str(e).strip()
    return (s.splitlines()[0] if s else type(e).__name__)[:160]


def _kind(f) -> str:
    from mutagen.aiff import AIFF
    from mutagen.asf import ASF
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    if isinstance(f, MP3 | WAVE | AIFF):
        return "id3"
    if isinstance(f, FLAC | OggVorbis | OggOpus):
        return "vorbis"
    if isinstance(f, MP4):
        return "mp4"
    if isinstance(f, ASF):
        return "asf"
    raise TagError(None, f"unsupported tag format {type(f).__name__}")


def _text(values) -> list[str]:
    out = []
    for v in values if isinstance(values, list | tuple) else [values]:
        s = str(getattr(v, "value", v))
        if s:
            out.append(s)
    return out


def _get_genres(f, kind: str, sep: str) -> list[str]:
    tags = f.tags
    if tags is None:
        return []
    spec = GENRE_FIELDS[kind]
    if kind == "id3":
        frame = tags.get("TCON")
        if frame is None:
            return []
        values = list(frame.genres)
        if getattr(tags, "version", (2, 4, 0))[1] == 3 and sep.strip():
            values = [p.strip() for v in values for p in v.split(sep.strip()) if p.strip()]
        return values
    if kind == "vorbis":
        return [v for v in tags.get("genre", []) if v]
    if kind == "mp4":
        vals = _text(tags.get(spec.key, []))
        if not vals and "gnre" in tags:
            from mutagen.id3 import TCON

            vals = [TCON(text=[f"({int(n) - 1})"]).genres[0] for n in tags["gnre"] if int(n) > 0]
        return vals
    return _text(tags.get(spec.key, []))


def read_tags(path: str | Path, options: TagOptions = TagOptions()) -> TrackTags:
    """Artist, title, album, genres and duration of ``path``."""
    path = Path(path)
    f = _open(path)
    try:
        kind = _kind(f)
    except TagError as e:
        raise TagError(path, e.reason) from e
    t = TrackTags(path=path, format=type(f).__name__, kind=kind)
    t.duration = float(getattr(f.info, "length", 0.0) or 0.0)
    t.genres = _get_genres(f, kind, options.id3v23_separator)
    if f.tags is not None:
        vals = []
        for key in INFO_KEYS[kind]:
            v = f.tags.get(key)
            vals.append("" if v is None else " / ".join(_text(v.text if hasattr(v, "text") else v)))
        t.artist, t.title, t.album = vals
        if kind == "id3":
            t.id3_version = f.tags.version[1]
    return t


def _snapshot(f, kind: str) -> dict[str, str]:
    """Every tag except the genre, as comparable strings."""
    if f.tags is None:
        return {}
    spec = GENRE_FIELDS[kind]
    skip = {spec.key.lower(), *(d.lower() for d in spec.drop)}
    out: dict[str, str] = {}
    if kind == "id3":
        for k, frame in f.tags.items():
            if not k.startswith("TCON"):
                out[k] = frame.pprint() if hasattr(frame, "pprint") else repr(frame)
        return out
    items = f.tags.items() if hasattr(f.tags, "items") else list(f.tags)
    for k, v in items:
        if str(k).lower() not in skip:
            out.setdefault(str(k), "")
            out[str(k)] += repr(v)
    return out


def _set_genres(f, kind: str, genres: list[str]) -> None:
    spec = GENRE_FIELDS[kind]
    if f.tags is None:
        f.add_tags()
    tags = f.tags
    if kind == "id3":
        from mutagen.id3 import TCON

        tags.delall("TCON")
        if genres:
            tags.add(TCON(encoding=3, text=list(genres)))
        return
    for d in spec.drop:
        if d in tags:
            del tags[d]
    if kind == "vorbis":
        if genres:
            tags["genre"] = list(genres)
        elif "genre" in tags:
            del tags["genre"]
        return
    if genres:
        tags[spec.key] = list(genres)
    elif spec.key in tags:
        del tags[spec.key]


def _save(f, kind: str, path: Path, options: TagOptions, existing_version: int | None = None) -> None:
    if kind == "id3":
        # a file's existing ID3v2.3 / v2.4 tag keeps its version (converting would change
        # other frames); the option decides for files without a tag (or with v2.2)
        version = existing_version if existing_version in (3, 4) else options.id3_version
        if version not in (3, 4):
            raise TagError(path, f"ID3 version must be 3 or 4, not {version}")
        f.save(str(path), v2_version=version, v23_sep=options.id3v23_separator)
    else:
        f.save(str(path))


def write_genres(path: str | Path, genres: list[str], options: TagOptions = TagOptions()) -> list[str]:
    """Set the genre field of ``path`` to ``genres`` (empty list removes it).

    Returns the genres as read back. Raises :class:`TagError` and leaves the original
    file untouched on any failure.
    """
    path = Path(path)
    real = path.resolve()  # write through symlinks, never replace the link itself
    if not real.is_file():
        raise TagError(path, "no such file")
    if not os.access(real, os.W_OK) or not real.stat().st_mode & 0o222:
        raise TagError(path, "file is read-only")  # no write bit counts, even for root
    if not os.access(real.parent, os.W_OK):
        raise TagError(path, "folder is read-only (a safe write needs a temporary file beside it)")
    before = _open(real)
    kind = _kind(before)
    snap = _snapshot(before, kind)
    id3_version = before.tags.version[1] if kind == "id3" and before.tags is not None else None
    try:
        digest = payload_digest(real)
    except (ValueError, OSError) as e:
        raise TagError(path, f"cannot verify audio payload ({_short(e)}); not written") from e
    st = real.stat()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".genre-tagger.tmp", dir=real.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(real, tmp)
        shutil.copymode(real, tmp)
        f = _open(tmp)
        _set_genres(f, kind, genres)
        _save(f, kind, tmp, options, id3_version)
        after = _open(tmp)
        got = _get_genres(after, kind, options.id3v23_separator)
        if got != list(genres):
            raise TagError(path, f"verification failed: wrote {genres}, read back {got}")
        if _snapshot(after, kind) != snap:
            raise TagError(path, "verification failed: another tag changed; not written")
        if payload_digest(tmp) != digest:
            raise TagError(path, "verification failed: audio data would change; not written")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except (PermissionError, AttributeError, OSError):
            pass
        if options.keep_mtime:
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, real)
        _fsync_dir(real.parent)
    except TagError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as e:  # noqa: BLE001
        tmp.unlink(missing_ok=True)
        raise TagError(path, f"cannot write tags ({_short(e)})") from e
    return got


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
