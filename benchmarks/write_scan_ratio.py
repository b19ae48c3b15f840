"""Full scan (tags written) against dry run, interleaved so that other load on the machine
hits both alike.

    python benchmarks/write_scan_ratio.py [--tracks 36] [--minutes 1-2] [--rounds 3] [--dir DIR]

Uses the library of benchmarks/scan_speed.py (generated once into --dir). Each round runs,
as ``genre-tagger`` commands in fresh processes with fresh journals:

- a dry run on the library;
- a full scan (``--overwrite``) of a fresh copy — the files have no tag or no padding yet,
  so most tags must grow (on ext4 the audio moves by whole blocks, elsewhere new file + rename);
- a second full scan of that copy with another genre mapping (``--map``), so every file
  is written again — now in place, into the padding the first write added.

Prints each time and the medians' ratios full / dry-run rate (goal: >= 0.9).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from scan_speed import make_library, scan_command, timed  # noqa: E402


def display_names() -> list[str]:
    """Every genre name the bundled model writes (so that --map changes every file's genre)."""
    from genre_tagger.listen.model import load_info

    info = load_info(None)
    vocab = info.vocabulary(None) if hasattr(info, "vocabulary") else None
    return list(vocab.display) if vocab is not None else sorted(set(info.display.values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=36)
    ap.add_argument("--minutes", default="1-2")
    ap.add_argument("--distinct", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--dir", type=Path, default=ROOT / ".cache" / "bench_write_scan")
    args = ap.parse_args()
    lo, hi = (float(x) for x in args.minutes.split("-"))
    files = make_library(args.dir, args.tracks, lo, hi, args.distinct)
    n = len(files)
    times: dict[str, list[float]] = {"dry run": [], "full scan, tags grow": [], "full scan, in place": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as data:
            times["dry run"].append(timed(scan_command(args.dir, args.workers, "--dry-run"), data))
        with tempfile.TemporaryDirectory(dir=args.dir.parent) as tmp:
            copy = Path(tmp) / "lib"
            shutil.copytree(args.dir, copy)
            with tempfile.TemporaryDirectory() as data:
                times["full scan, tags grow"].append(timed(scan_command(copy, args.workers, "--overwrite"), data))
            with tempfile.TemporaryDirectory() as data:
                remap = [a for g in display_names() for a in ("--map", f"{g}={g} (re-tagged)")]
                times["full scan, in place"].append(timed(scan_command(copy, args.workers, "--overwrite", *remap), data))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:22s} " + "  ".join(f"{t:6.2f}" for t in v) + f"   median {med[k]:.2f} s = {n / med[k]:.2f} tracks/s")
    ratios = {k: round(med["dry run"] / med[k], 3) for k in times if k != "dry run"}
    print("rate / dry-run rate: " + ", ".join(f"{k} {r:.2f}" for k, r in ratios.items()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps({
        "tracks": n, "minutes_per_track": args.minutes, "rounds": args.rounds,
        "seconds": {k: [round(t, 2) for t in v] for k, v in times.items()}, "ratio_to_dry_run": ratios,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU", "load_average_after": load,
        "command": "python benchmarks/write_scan_ratio.py " + " ".join(sys.argv[1:]),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
