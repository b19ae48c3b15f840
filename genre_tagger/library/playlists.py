"""One M3U8 playlist per genre (extended M3U, UTF-8, paths relative to the playlist)."""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from ..genres import display_name, genre_id
from ..tagstore.atomic import folder_problem, write_text_atomic
from .policy import ERROR

_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _safe_name(genre: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", genre).strip(" .")
    return name or "Unknown"


def _entry(target: Path, start: Path) -> str:
    """The line that names ``target``: a path relative to the playlist, or, where the name
    holds control characters or bytes that are not UTF-8 (an M3U line cannot carry them),
    a percent-encoded ``file://`` URI."""
    try:
        rel = os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # other drive on Windows
        rel = str(target.resolve())
    rel = rel.replace(os.sep, "/") if os.sep != "/" else rel
    return target.resolve().as_uri() if _LINE_BREAKING.search(rel) else rel


def _label(text: str) -> str:
    """#EXTINF titles come from tags: one line, no control characters."""
    return _LINE_BREAKING.sub(" ", text).strip()


def playlists_by_genre(results: Iterable) -> dict[str, list]:
    """The tracks of each genre's playlist: every genre a track has after the scan (the
    genres written, or that would be written, else the genres it kept). Spellings of one
    canonical genre ("Hip Hop", "Hip-Hop", "hiphop") make one playlist, named by its most
    common spelling (the canonical display name first among equals)."""
    by_id: dict[str, list] = defaultdict(list)
    spellings: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        if r.status == ERROR:
            continue
        for gid in dict.fromkeys(genre_id(g) for g in r.genres or r.previous):
            by_id[gid].append(r)
        for g in r.genres or r.previous:
            spellings[genre_id(g)][g] += 1
    named = {}
    for gid, tracks in by_id.items():
        counts = spellings[gid]
        name = max(counts, key=lambda g: (counts[g], g == display_name(gid), g))
        named[name] = tracks
    return dict(sorted(named.items()))


def playlist_folder_problem(folder: str | Path) -> str | None:
    """Why playlists could not be written into ``folder`` (created if missing), or None."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        return f"{folder} exists and is not a folder"
    while not p.exists() and p.parent != p:  # the nearest existing folder must let us create the rest
        p = p.parent
    return folder_problem(p)


def write_playlists(results: Iterable, folder: str | Path) -> dict[str, Path]:
    """Write ``<folder>/<Genre>.m3u8`` for every genre among ``results`` (see
    :func:`playlists_by_genre`). Returns {genre: playlist path}. Raises ``OSError``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for genre, items in playlists_by_genre(results).items():
        items.sort(key=lambda r: (r.artist.lower(), r.album.lower(), str(r.path)))
        lines = ["#EXTM3U", f"#PLAYLIST:{_label(genre)}"]
        for r in items:
            label = f"{r.artist} - {r.title}" if r.artist and r.title else (r.title or Path(r.path).stem)
            lines.append(f"#EXTINF:{int(round(r.duration)) if r.duration else -1},{_label(label)}")
            lines.append(_entry(Path(r.path), folder))
        p = folder / f"{_safe_name(genre)}.m3u8"
        write_text_atomic(p, "\n".join(lines) + "\n")
        out[genre] = p
    return out
