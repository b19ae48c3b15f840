"""Bytes written per tag write, and time per write, through the one write path.

    python benchmarks/write_io.py [--tracks 48] [--seconds 60] [--dir DIR] [--json FILE]

A generated library (mixed formats, tracks of --seconds) is copied to a temporary folder
and written three times through ``WriteRun.apply`` / ``undo_run``:

1. first write into files without a tag or without padding (the tag must grow: on ext4 the
   audio moves by whole blocks and only the new head is written, in place; elsewhere, or
   with GENRE_TAGGER_SHIFT=off, a new file),
2. a second, different genre (fits the padding the first write added: in place),
3. undo of pass 2 (in place, byte-exact).

For each pass it prints the distribution (min / median / p95 / max) of the bytes the
write path wrote to the audio file (``WriteResult.bytes_written``: the changed ranges in
place, the new head when the audio moved by blocks, the whole file when a new file is written) and of the bytes the process passed to
write calls in that time (``wchar`` of /proc/self/io: the journal's SQLite writes and the
new bytes; a new file's unchanged parts are copied by the kernel with copy_file_range and
are not counted there), the share of writes done in place, and ms per write. Goal:
<= 64 KB per write when the tag fits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORMATS = ("mp3", "flac", "ogg", "opus", "m4a", "wav", "aiff", "wma")


def _wchar() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def make_library(d: Path, n: int, seconds: float) -> list[Path]:
    from devtools.synth import EXTENSION, write_audio

    d.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        fmt = FORMATS[i % len(FORMATS)]
        p = d / f"{i:03d}.{EXTENSION.get(fmt, fmt)}"
        if not p.exists():
            if i < len(FORMATS):
                write_audio(p, fmt, seconds=seconds, seed=i)
            else:  # copies of the first recording of each format (encoding is slow)
                shutil.copy(d / f"{i % len(FORMATS):03d}.{EXTENSION.get(fmt, fmt)}", p)
        files.append(p)
    return files


def _dist(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"min": xs[0], "median": statistics.median(xs), "p95": xs[int(0.95 * (len(xs) - 1))], "max": xs[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--dir", default=str(ROOT / ".cache" / "bench_write_library"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    src = make_library(Path(args.dir) / f"{args.tracks}-{args.seconds:g}", args.tracks, args.seconds)
    work = Path(tempfile.mkdtemp(prefix="gt-write-bench-"))
    os.environ["GENRE_TAGGER_DATA_DIR"] = str(work / "data")
    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.undo import undo_run
    from genre_tagger.tagstore.write import TAGGED, WriteRun

    files = []
    for p in src:
        q = work / p.name
        shutil.copy(p, q)
        files.append(q)
    sizes = [p.stat().st_size for p in files]
    journal = Journal()
    passes = {}

    def measure(name: str, fn) -> None:
        rows = []
        for p in files:
            w0, t0, ino = _wchar(), time.perf_counter(), p.stat().st_ino
            r = fn(p)
            rows.append((r.bytes_written, _wchar() - w0, (time.perf_counter() - t0) * 1000, p.stat().st_ino == ino, r.status))
        ok = [r for r in rows if r[4] == TAGGED]
        passes[name] = {
            "files": len(rows),
            "written": len(ok),
            "in_place": sum(1 for r in ok if r[3]),
            "file_bytes": _dist([r[0] for r in ok]),
            "process_bytes": _dist([r[1] for r in ok]),
            "ms_per_write": _dist([round(r[2], 2) for r in ok]),
        }

    with WriteRun(journal, "bench first") as run:
        measure("1 first write (tag grows)", lambda p: run.apply(p, ["Rock"]))
    with WriteRun(journal, "bench second") as run:
        measure("2 second write (fits)", lambda p: run.apply(p, ["Jazz Fusion", "Blues"]))
    undo_results = {}

    def undo_all(p):
        if not undo_results:
            t0 = time.perf_counter()
            _, res = undo_run(journal)
            undo_results.update({r.path: r for r in res})
            undo_results["_ms"] = (time.perf_counter() - t0) * 1000
        return undo_results[p]

    w0 = _wchar()
    undo_all(files[0])
    total_w = _wchar() - w0
    res = [undo_results[p] for p in files]
    passes["3 undo of pass 2"] = {
        "files": len(res),
        "written": sum(r.status == TAGGED for r in res),
        "file_bytes": _dist([r.bytes_written for r in res]),
        "process_bytes_per_file": total_w / len(res),
        "ms_per_write": undo_results["_ms"] / len(res),
    }
    shutil.rmtree(work)
    print(f"{len(files)} files, {args.seconds:g} s each, sizes {min(sizes)}..{max(sizes)} bytes (median {statistics.median(sizes):.0f})")
    for name, d in passes.items():
        fb = d["file_bytes"]
        print(f"{name:28s} written {d['written']}/{d['files']}"
              + (f", in place {d['in_place']}" if "in_place" in d else "")
              + f"; bytes to the audio file: median {fb['median']:.0f}, p95 {fb['p95']:.0f}, max {fb['max']:.0f}")  # fmt: skip
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU",
        "python": platform.python_version(),
        "command": "python benchmarks/write_io.py " + " ".join(sys.argv[1:]),
        "file_sizes": _dist(sizes),
        "passes": passes,
    }
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
