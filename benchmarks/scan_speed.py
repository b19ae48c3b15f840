"""Scanner benchmark: generate a library, then time a full scan, a rescan of the
unchanged library, and the decode-only floor; report peak RSS.

    python benchmarks/scan_speed.py [--tracks 300] [--minutes 3-5] [--workers 0] [--dir DIR]

The library (mixed formats, 3-5 minute tracks) is generated once into --dir (default
.cache/bench_library) and reused. Scans run ``genre-tagger --dry-run`` in a fresh
process with a fresh journal, so the first scan classifies every track and the second
one is served from the cache. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORMATS = ("mp3", "flac", "ogg", "m4a", "opus", "wav")


def make_library(d: Path, n: int, lo: float, hi: float, distinct: int) -> list[Path]:
    """``n`` tracks: ``distinct`` generated recordings (cycling through the formats),
    copied under new names until there are ``n`` (encoding hundreds of 4-minute files
    would take longer than the benchmark; every copy is still decoded and classified)."""
    import shutil

    import numpy as np

    from genre_tagger.synth import EXTENSION, write_audio

    marker = d / f".complete-{n}-{lo}-{hi}-{distinct}"
    files = []
    rng = np.random.default_rng(0)
    for i in range(n):
        fmt = FORMATS[i % len(FORMATS)]
        p = d / f"artist{i % 20:02d}" / f"{i:04d}.{EXTENSION.get(fmt, fmt)}"
        files.append(p)
        if marker.exists():
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        if i < distinct:
            secs = float(rng.uniform(lo, hi)) * 60
            write_audio(p, fmt, seconds=secs, sr=44100 if fmt != "opus" else 48000, seed=i)
        else:
            shutil.copyfile(files[i % distinct], p)  # same format: i and i % distinct share i % len(FORMATS)
    marker.touch()
    return files


def timed_scan(lib: Path, data_dir: str, workers: int) -> tuple[float, int, dict]:
    env = dict(os.environ, GENRE_TAGGER_DATA_DIR=data_dir)
    cmd = [sys.executable, "-m", "genre_tagger", "--scan", str(lib), "--dry-run", "-q", "--json", os.devnull]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    # time -v style peak RSS of the scan process tree: RUSAGE_CHILDREN after it ends
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    return dt, proc.returncode, {"max_child_rss_mb": round(max(before, after) / 1024, 1)}


def decode_floor(files: list[Path], workers: int) -> float:
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers or os.cpu_count()) as ex:
        list(ex.map(_decode_one, [str(f) for f in files], chunksize=4))
    return time.perf_counter() - t0


def _decode_one(path: str) -> int:
    from genre_tagger.audio import read_windows
    from genre_tagger.model import load_info
    from genre_tagger.pipeline import min_samples

    info = load_info()
    fe, ws = info.frontend, info.windows
    _, wins = read_windows(path, ws.starts, ws.length, fe.sample_rate, min_samples(fe, ws))
    return len(wins)


def peak_rss_of(cmd: list[str], env: dict) -> float:
    """Peak RSS (MB) summed over the scan process and its workers, sampled every 50 ms."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        total = 0
        pids = [proc.pid]
        try:
            out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-A"], capture_output=True, text=True).stdout
            rows = [tuple(int(v) for v in line.split()) for line in out.splitlines() if line.strip()]
            tree = {proc.pid}
            changed = True
            while changed:
                changed = False
                for pid, ppid, _ in rows:
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        changed = True
            total = sum(rss for pid, _, rss in rows if pid in tree)
            del pids
        except Exception:  # noqa: BLE001
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    return round(peak / 1024, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--minutes", default="3-5")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--dir", type=Path, default=ROOT / ".cache" / "bench_library")
    ap.add_argument("--rescan-tracks", type=int, default=1000, help="library size for the rescan goal")
    ap.add_argument("--generate-only", action="store_true", help="only write the library")
    ap.add_argument("--distinct", type=int, default=30, help="distinct recordings (a multiple of 6 keeps formats aligned)")
    args = ap.parse_args()
    lo, hi = (float(v) for v in args.minutes.split("-"))
    t0 = time.perf_counter()
    files = make_library(args.dir, args.tracks, lo, hi, args.distinct)
    gen_s = time.perf_counter() - t0
    n = len(files)
    if args.generate_only:
        print(f"{n} tracks in {args.dir} ({gen_s:.0f} s)")
        return
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, GENRE_TAGGER_DATA_DIR=data)
        cmd = [sys.executable, "-m", "genre_tagger", "--scan", str(args.dir), "--dry-run", "-q", "--json", os.devnull]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        t0 = time.perf_counter()
        rss = peak_rss_of(cmd, env)
        full = time.perf_counter() - t0
        rescan, _, _ = timed_scan(args.dir, data, args.workers)
    floor = decode_floor(files, args.workers)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genre_tagger", "--help"], cwd=ROOT, capture_output=True)
    help_s = time.perf_counter() - t0
    print(json.dumps({
        "tracks": n, "minutes_per_track": args.minutes, "formats": list(FORMATS), "workers": args.workers or os.cpu_count(),
        "full_scan_s": round(full, 2), "full_scan_tracks_per_s": round(n / full, 2),
        "rescan_s": round(rescan, 2), "rescan_tracks_per_s": round(n / rescan, 1),
        "rescan_1000_tracks_s_extrapolated": round(rescan / n * args.rescan_tracks, 2),
        "decode_only_s": round(floor, 2), "decode_only_tracks_per_s": round(n / floor, 2),
        "peak_rss_mb_scan_tree": rss, "help_s": round(help_s, 3), "library_generation_s": round(gen_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
