"""JSON and CSV reports: one record per file."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import IO

from .library import display_path

FIELDS = ["path", "status", "genres", "top", "previous", "error"]


def record(r) -> dict:
    return {
        "path": display_path(r.path),
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
    }


def write_json(records: list[dict], out: IO[str]) -> None:
    json.dump(records, out, indent=1, ensure_ascii=False, default=str)
    out.write("\n")


def write_csv(records: list[dict], out: IO[str]) -> None:
    w = csv.writer(out)
    w.writerow(FIELDS)
    for r in records:
        w.writerow([
            r["path"], r["status"], "; ".join(r["genres"]),
            "; ".join(f"{g}:{p:.3f}" for g, p in r["top"]), "; ".join(r["previous"]), r["error"] or "",
        ])  # fmt: skip


def write_report(records: list[dict], dest: str, kind: str) -> None:
    """``dest`` '-' writes to stdout."""
    buf = io.StringIO()
    (write_json if kind == "json" else write_csv)(records, buf)
    if dest == "-":
        import sys

        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
    else:
        p = Path(dest)
        if p.exists() and not p.is_file():  # /dev/null, a FIFO ...: never replace it
            with open(p, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.write(buf.getvalue())
            return
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8", errors="surrogateescape", newline="")
        os.replace(tmp, p)
