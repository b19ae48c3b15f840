"""JSON and CSV reports: one record per file."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import IO

from ..tagstore.atomic import folder_problem, write_text_atomic
from .files import exact_path

FIELDS = ["path", "status", "genres", "top", "previous", "error", "artist", "title", "album", "duration", "cached",
          "album_artist", "album_key", "album_tracks", "album_genres", "album_confidence", "album_top", "decided_by"]  # fmt: skip


def record(r) -> dict:
    return {
        "path": exact_path(r.path),
        "status": r.status,
        "genres": list(r.genres),
        "top": [[g, round(float(p), 4)] for g, p in r.top],
        "previous": list(r.previous),
        "error": r.error or None,
        "artist": r.artist,
        "title": r.title,
        "album": r.album,
        "duration": round(float(r.duration), 2),
        "cached": r.cached,
        # the album decision (library.albums): the album's name, how many tracks it pooled, what it
        # writes and its probability; decided_by: "album", "own-contradicts" or "track" ("" with --group track)
        "album_artist": r.album_artist,
        "album_key": r.album_key or None,
        "album_tracks": r.album_tracks,
        "album_genres": list(r.album_genres),
        "album_confidence": None if r.album_confidence is None else round(float(r.album_confidence), 4),
        "album_top": [[g, round(float(p), 4)] for g, p in r.album_top],  # the album's pooled probabilities, best first
        "decided_by": r.decided_by or None,
    }


def write_json(records: list[dict], out: IO[str]) -> None:
    json.dump(records, out, indent=1, ensure_ascii=False, default=str)
    out.write("\n")


def _csv_cell(key: str, value) -> str:
    if key in ("top", "album_top"):
        return "; ".join(f"{g}:{p:.3f}" for g, p in value)
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def write_csv(records: list[dict], out: IO[str]) -> None:
    w = csv.writer(out)
    w.writerow(FIELDS)
    for r in records:
        w.writerow([_csv_cell(k, r[k]) for k in FIELDS])


def output_file_problem(dest: str) -> str | None:
    """Why a report could not be written to ``dest`` ('-' = stdout), or None. Checked
    before the scan, so that a typo never costs a whole scan."""
    if dest == "-":
        return None
    p = Path(dest)
    if p.is_dir():
        return f"{dest} is a folder; give a file name"
    if p.exists():
        return None if os.access(p, os.W_OK) else f"{dest} is not writable"
    return folder_problem(p.parent)


def write_report(records: list[dict], dest: str, kind: str) -> None:
    """``dest`` '-' writes to stdout. Raises ``OSError``."""
    buf = io.StringIO()
    (write_json if kind == "json" else write_csv)(records, buf)
    if dest == "-":
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
    else:
        write_text_atomic(dest, buf.getvalue())
