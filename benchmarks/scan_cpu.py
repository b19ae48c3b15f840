"""Where a full scan's extra time goes: CPU by process and the machine's idle time, for a
dry run and a full scan with first writes, on the scan benchmark's library.

    python benchmarks/scan_cpu.py [--tracks 300] [--rounds 2] [--workers 0]

Each round runs a dry run and a full scan (``--overwrite --min-confidence 0`` on a fresh,
flushed copy: every file written, mp3/flac/ogg as new files) as the ``genre-tagger``
command, watched like ``scan_speed.py``'s dry run (CPU seconds per process role, sampled
every 20 ms), and reads ``/proc/stat`` around it: CPU seconds of the whole machine
(user, nice, system) and its idle time. If the machine is idle for only a small part of
the dry run, its cores are saturated and every CPU second a write costs lengthens the
scan by about 1/cores seconds, on whichever thread it runs. Linux only. Prints one line
per scan, then JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from scan_speed import scan_command, watch  # noqa: E402


def _stat() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]  # user nice system idle iowait irq softirq steal


def measured(cmd: list[str], data_dir: str) -> dict:
    tick = os.sysconf("SC_CLK_TCK")
    s0, t0 = _stat(), time.perf_counter()
    tree = watch(cmd, dict(os.environ, GENRE_TAGGER_DATA_DIR=data_dir))
    wall = time.perf_counter() - t0
    d = [(b - a) / tick for a, b in zip(s0, _stat())]
    return {"s": round(wall, 2), "cpu_s_by_role": tree["cpu_s_by_role"], "machine_busy_s": round(d[0] + d[1] + d[2] + d[5] + d[6], 2),
            "machine_idle_s": round(d[3] + d[4], 2), "load_average": round(os.getloadavg()[0], 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--dir", type=Path, help="library folder (default .cache/bench_library_<tracks>, see scan_speed.py)")
    args = ap.parse_args()
    lib = args.dir or ROOT / ".cache" / f"bench_library_{args.tracks}"
    if not lib.is_dir():
        raise SystemExit(f"no library in {lib}: run benchmarks/scan_speed.py --tracks {args.tracks} --generate-only first")
    rows = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as data:
            rows.append(dict(kind="dry run", **measured(scan_command(lib, args.workers, "--dry-run"), data)))
        with tempfile.TemporaryDirectory(dir=lib.parent) as tmp:
            copy = Path(tmp) / "library"
            shutil.copytree(lib, copy)
            os.sync()  # the scan's fsyncs must not pay for flushing the copy
            with tempfile.TemporaryDirectory() as data:
                cmd = scan_command(copy, args.workers, "--overwrite", "--min-confidence", "0")
                rows.append(dict(kind="full scan, first writes", **measured(cmd, data)))
        for r in rows[-2:]:
            roles = ", ".join(f"{k} {v} s" for k, v in r["cpu_s_by_role"].items())
            print(f"{r['kind']:24s} {r['s']:6.2f} s; CPU: {roles}; machine busy {r['machine_busy_s']} s, "
                  f"idle {r['machine_idle_s']} s; load {r['load_average']}", file=sys.stderr)  # fmt: skip
    print(json.dumps({"tracks": args.tracks, "scans": rows}, indent=1))


if __name__ == "__main__":
    main()
