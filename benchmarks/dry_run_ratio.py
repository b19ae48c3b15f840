"""Dry-run scan speed of two (or more) models on the same generated library, interleaved in
the same run: ``genre-tagger --scan LIB --dry-run --no-cache --model M`` in a fresh process
with a fresh journal, --repeat rounds, the fastest run of each model counts; prints tracks/s
and each model's rate against the first one's (issue 21's budget: the new model's dry run at
least 0.75 of today's at 60 tracks).

    python benchmarks/dry_run_ratio.py models/genre-musicnn.json models/genre-v5.json [--tracks 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_speed import ROOT, make_library, scan_command, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--tracks", type=int, default=60)
    ap.add_argument("--minutes", default="3-5")
    ap.add_argument("--distinct", type=int, default=12, help="distinct recordings (a multiple of 6 keeps formats aligned)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, help="library folder (default .cache/bench_library_<tracks>_<distinct>)")
    args = ap.parse_args()
    lo, hi = (float(x) for x in args.minutes.split("-"))
    lib = args.dir or ROOT / ".cache" / f"bench_library_{args.tracks}_{args.distinct}"
    make_library(lib, args.tracks, lo, hi, args.distinct)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for m in args.models:
            with tempfile.TemporaryDirectory() as data_dir:
                dt = timed(scan_command(lib, args.workers, "--dry-run", "--no-cache", "--model", str(m)), data_dir)
            best[m] = min(best.get(m, float("inf")), dt)
    first = best[args.models[0]]
    rows = {m: {"seconds": round(t, 2), "tracks_per_s": round(args.tracks / t, 2), "rate_vs_first": round(first / t, 3)}
            for m, t in best.items()}  # fmt: skip
    print(json.dumps({"tracks": args.tracks, "distinct": args.distinct, "minutes": args.minutes, "repeat": args.repeat,
                      "workers": args.workers or os.cpu_count(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                      "dry_runs": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
