"""One M3U8 playlist per genre (extended M3U, UTF-8, paths relative to the playlist)."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from .policy import ERROR


def _safe_name(genre: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", genre).strip(" .")
    return name or "Unknown"


def _relpath(target: Path, start: Path) -> str:
    try:
        rel = os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # other drive on Windows
        rel = str(target.resolve())
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def write_playlists(results: Iterable, folder: str | Path, use_written: bool = True) -> dict[str, Path]:
    """Write ``<folder>/<Genre>.m3u8`` for every genre among ``results``.

    A track goes into the playlist of every genre it has after the scan: the genres
    written (or that would be written) and, for tracks kept as they were, their
    existing genres. Returns {genre: playlist path}.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_genre: dict[str, list] = defaultdict(list)
    for r in results:
        if r.status == ERROR:
            continue
        genres = (r.genres or r.previous) if use_written else [g for g, _ in r.top[:1]]
        for g in genres:
            by_genre[g].append(r)
    out = {}
    for genre, items in sorted(by_genre.items()):
        items.sort(key=lambda r: (r.artist.lower(), r.album.lower(), str(r.path)))
        lines = ["#EXTM3U", f"#PLAYLIST:{genre}"]
        for r in items:
            label = f"{r.artist} - {r.title}" if r.artist and r.title else (r.title or Path(r.path).stem)
            lines.append(f"#EXTINF:{int(round(r.duration)) if r.duration else -1},{label}")
            lines.append(_relpath(Path(r.path), folder))
        p = folder / f"{_safe_name(genre)}.m3u8"
        tmp = p.with_suffix(".m3u8.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
        os.replace(tmp, p)
        out[genre] = p
    return out
