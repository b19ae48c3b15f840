"""Scanner benchmark: generate a library; measure each stage's cost per track on one core
with the app's own code (decode + front-end, model, tag reading); time a dry run, two full
scans (every track's tag written, on a fresh copy; dry run and full scans interleaved,
--repeat rounds, the fastest of each kind counts) and a rescan from the cache, each as the ``genre-tagger``
command in a fresh process with a fresh journal; report the dry run's rate against the
per-stage bound, each full scan's rate against the dry run's, the bytes each tag write
wrote (from the journal) and the peak RSS.

The first full scan writes into files that have no tag yet (as generated): where the tag
sits at the start of the file (MP3's ID3v2, FLAC's metadata, Ogg's comment page) and there is
no padding, the file must grow before its audio: on ext4 the audio is moved by whole
blocks and only the new head written (genre_tagger.tagstore.shift), elsewhere the write path writes
a new file (with padding for later writes in either case; GENRE_TAGGER_SHIFT=off forces
new files). The second full scan writes into files that already
carry a genre and padding (every file first set to a placeholder genre through the
write path, untimed): the tag fits, so every write is in place.

    python benchmarks/scan_speed.py [--tracks 300] [--minutes 3-5] [--workers 0] [--dir DIR] [--albums]

``--albums`` gives every file artist, album and track number tags (one album per artist
folder; library .cache/bench_library_<tracks>_albums), so that the default scan decides per
album: a track then waits until its album folder is classified before it is written.

The bound is what the stages alone allow: ``cores / (decode+front-end + model + tags)``
tracks/s, from the per-track means measured here one file at a time (so it leaves out
process start-up, the hand-off between processes and everything else the scan does).
The library (mixed formats, 3-5 minute tracks) is generated once into --dir (default
.cache/bench_library_<tracks>; the scans read the whole folder) and reused. Prints a
table of the stages, then JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genre_tagger.library.processes import one_math_thread  # noqa: E402

one_math_thread()  # as the app does: the stages are measured on one core, one thread

FORMATS = ("mp3", "flac", "ogg", "m4a", "opus", "wav")


def make_library(d: Path, n: int, lo: float, hi: float, distinct: int) -> list[Path]:
    """``n`` tracks: ``distinct`` generated recordings (cycling through the formats),
    copied under new names until there are ``n`` (encoding hundreds of 4-minute files
    would take longer than the benchmark; every copy is still decoded and classified)."""
    import numpy as np

    from devtools.synth import EXTENSION, write_audio

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


def tag_albums(files: list[Path]) -> None:
    """Artist, album and track number tags: the files of each artist folder are one album."""
    import mutagen
    from mutagen.id3 import TALB, TPE1, TRCK

    for i, p in enumerate(files):
        artist, album, track = p.parent.name, f"Album of {p.parent.name}", str(i // 20 + 1)
        f = mutagen.File(p, easy=p.suffix.lower() != ".wav")
        if f.tags is None:
            f.add_tags()
        if p.suffix.lower() == ".wav":
            for frame in (TPE1(text=artist), TALB(text=album), TRCK(text=track)):
                f.tags.add(frame)
        else:
            f["artist"], f["album"], f["tracknumber"] = artist, album, track
        f.save()


def scan_command(lib: Path, workers: int, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "genre_tagger", "--scan", str(lib), "-q", "--json", os.devnull, *extra]
    return cmd + (["--workers", str(workers)] if workers else [])


def timed(cmd: list[str], data_dir: str) -> float:
    """Wall time of one ``genre-tagger`` run (process start to exit)."""
    env = dict(os.environ, GENRE_TAGGER_DATA_DIR=data_dir)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    return dt


def stage_costs(files: list[Path]) -> dict:
    """Per-track CPU cost of each stage on one core, with the app's own code, one file at a time."""
    from genre_tagger.listen.model import Classifier
    from genre_tagger.tagstore.tags import read_tags

    clf = Classifier(threads=1)
    clf.classify_file(files[0])  # warm-up: first-call allocations of onnxruntime and the decoders
    read_tags(files[0])
    rows: dict[str, list[tuple[float, float, float]]] = {}
    clock = time.process_time  # CPU time of this (single-threaded) process: robust to other work on the machine
    for f in files:
        t0 = clock()
        tp = clf.patches_for_file(f)
        t1 = clock()
        clf.classify_patches(tp.patches, tp.duration, tp.mn_mels)
        t2 = clock()
        read_tags(f)
        t3 = clock()
        rows.setdefault(f.suffix.lstrip("."), []).append((t1 - t0, t2 - t1, t3 - t2))
    every = [r for rs in rows.values() for r in rs]

    def ms(values) -> float:
        return round(1000 * statistics.fmean(values), 1)

    per_format = {fmt: {"decode_frontend_ms": ms(r[0] for r in rs), "model_ms": ms(r[1] for r in rs), "tags_ms": ms(r[2] for r in rs)}
                  for fmt, rs in sorted(rows.items())}  # fmt: skip
    mean = {"decode_frontend_ms": ms(r[0] for r in every), "model_ms": ms(r[1] for r in every), "tags_ms": ms(r[2] for r in every)}
    mean["total_ms"] = round(sum(mean.values()), 1)
    return {"per_format": per_format, "mean": mean}


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, CPU ticks user+system, RSS pages) of every process (Linux /proc)."""
    rows = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rows[int(d)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]))
    return rows


ROLES = ("main process", "fork server and resource tracker", "workers")  # by depth below the command


def watch(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; sample its process tree every 20 ms: peak RSS summed over the tree, and
    the CPU seconds of each process (its last sample; the last < 20 ms of a process are
    missed), summed per role: the scan's own process, its helpers (fork server, resource
    tracker) and the worker processes they start."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, cpu, depth = 0, {}, {proc.pid: 0}
    while proc.poll() is None:
        rows = _proc_table()
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _, _) in rows.items():
                if ppid in depth and pid not in depth:
                    depth[pid] = depth[ppid] + 1
                    grew = True
        peak = max(peak, sum(rows[pid][2] for pid in depth if pid in rows))
        for pid in depth:
            if pid in rows:
                cpu[pid] = rows[pid][1]
        time.sleep(0.02)
    by_role = {role: 0 for role in ROLES}
    for pid, ticks in cpu.items():
        by_role[ROLES[min(depth[pid], 2)]] += ticks
    return {
        "peak_rss_mb": round(peak * page / 2**20, 1),
        "cpu_s": round(sum(cpu.values()) / tick, 2),
        "cpu_s_by_role": {role: round(t / tick, 2) for role, t in by_role.items()},
        "processes": len(cpu),
    }


def write_bytes(data_dir: str) -> dict:
    """Bytes written per completed tag write, from the journal of one run: an in-place
    write writes its changed ranges, a shifting write its new head, a replacing write the
    whole new file. Per format
    (file extension) and over all writes."""
    import sqlite3

    db = sqlite3.connect(Path(data_dir) / "journal.sqlite3")
    try:
        rows = db.execute("SELECT path, plan FROM writes WHERE state = 'done'").fetchall()
    finally:
        db.close()
    per: dict[str, list[tuple[str, int]]] = {}
    for path, plan in rows:
        plan = json.loads(plan)
        mode = plan.get("mode", "?")
        n = sum(r[1] for r in plan["ranges"]) if mode == "inplace" else int(plan["head"]) if mode == "shift" else int(plan["new_size"])
        name = path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else str(path)
        per.setdefault(Path(name).suffix.lstrip(".").lower(), []).append((mode, n))

    def summary(items: list[tuple[str, int]]) -> dict:
        sizes = sorted(n for _, n in items)
        return {"writes": len(sizes), "in_place": sum(m == "inplace" for m, _ in items),
                "shifted": sum(m == "shift" for m, _ in items), "new_file": sum(m == "replace" for m, _ in items),
                "median_bytes": int(statistics.median(sizes)),
                "max_bytes": sizes[-1], "total_mb": round(sum(sizes) / 2**20, 1),
                "at_most_64kb": sum(n <= 64 << 10 for n in sizes)}  # fmt: skip

    every = [x for xs in per.values() for x in xs]
    return {"per_format": {f: summary(xs) for f, xs in sorted(per.items())}, "all": summary(every) if every else {}}


def set_placeholder(lib: Path, data_dir: str) -> None:
    """Give every file a genre through the write path (a tag with padding, as a tagged
    library has), so that the next full scan rewrites tags that fit."""
    os.environ["GENRE_TAGGER_DATA_DIR"] = data_dir
    from genre_tagger.library.files import iter_audio_files
    from genre_tagger.tagstore.journal import Journal
    from genre_tagger.tagstore.write import WriteRun

    journal = Journal()
    try:
        with WriteRun(journal, "benchmark placeholder") as run:
            for p in iter_audio_files([lib]):
                res = run.apply(p, ["Benchmark Placeholder"])
                if res.status == "error":
                    raise SystemExit(f"{p}: {res.error}")
    finally:
        journal.close()
        del os.environ["GENRE_TAGGER_DATA_DIR"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=300)
    ap.add_argument("--minutes", default="3-5")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--dir", type=Path, help="library folder (default .cache/bench_library_<tracks>)")
    ap.add_argument("--rescan-tracks", type=int, default=1000, help="library size for the rescan goal")
    ap.add_argument("--generate-only", action="store_true", help="only write the library")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of a dry run and two full scans (the fastest of each counts)")
    ap.add_argument("--distinct", type=int, default=30, help="distinct recordings (a multiple of 6 keeps formats aligned)")
    ap.add_argument("--albums", action="store_true", help="artist/album/track tags: the scans decide per album")
    args = ap.parse_args()
    lo, hi = (float(v) for v in args.minutes.split("-"))
    args.dir = args.dir or ROOT / ".cache" / f"bench_library_{args.tracks}{'_albums' if args.albums else ''}"
    t0 = time.perf_counter()
    files = make_library(args.dir, args.tracks, lo, hi, args.distinct)
    if args.albums and not (args.dir / ".albums").exists():
        tag_albums(files)
        (args.dir / ".albums").touch()
    gen_s = time.perf_counter() - t0
    n = len(files)
    load_before = os.getloadavg()[0]  # other work on the machine skews every figure: say so
    if args.generate_only:
        print(f"{n} tracks in {args.dir} ({gen_s:.0f} s)")
        return
    workers = args.workers or os.cpu_count() or 1
    stages = stage_costs(files)
    bound = min(workers, os.cpu_count() or 1) / (stages["mean"]["total_ms"] / 1000)
    dry_runs: list[float] = []
    full_runs: dict[str, list[dict]] = {"first_write": [], "rewrite": []}
    for _ in range(args.repeat):  # interleaved rounds, the best of each kind counts: other work only ever slows a run down
        with tempfile.TemporaryDirectory() as data:
            dry_runs.append(timed(scan_command(args.dir, args.workers, "--dry-run"), data))
        with tempfile.TemporaryDirectory(dir=args.dir.parent) as tmp:  # full scans: write tags into a fresh copy
            copy = Path(tmp) / "library"
            shutil.copytree(args.dir, copy)
            os.sync()  # the copy on disk: the scans' fsyncs must not pay for flushing it
            for kind in ("first_write", "rewrite"):
                if kind == "rewrite":
                    with tempfile.TemporaryDirectory() as data:
                        set_placeholder(copy, data)
                with tempfile.TemporaryDirectory() as data:
                    report = Path(tmp) / f"{kind}.json"  # every track written: --overwrite, no threshold
                    load = os.getloadavg()[0]
                    t = timed(scan_command(copy, args.workers, "--overwrite", "--min-confidence", "0", "--json", str(report)), data)
                    full_runs[kind].append({
                        "s": t, "files_written": sum(r["status"] == "tagged" for r in json.loads(report.read_text())),
                        "bytes_per_write": write_bytes(data), "load_average_before": round(load, 2),
                    })  # fmt: skip
    dry = min(dry_runs)
    with tempfile.TemporaryDirectory() as data:  # a second dry run, watched: CPU and peak RSS (sampling slows it slightly)
        env = dict(os.environ, GENRE_TAGGER_DATA_DIR=data)
        tree = watch(scan_command(args.dir, args.workers, "--dry-run"), env)
        rescan = timed(scan_command(args.dir, args.workers, "--dry-run"), data)
    stage_cpu = n * stages["mean"]["total_ms"] / 1000
    full_scans = {}
    for kind, runs in full_runs.items():
        best = min(runs, key=lambda r: r["s"])
        full_scans[kind] = {
            "s": round(best["s"], 2), "s_all": [round(r["s"], 2) for r in runs], "tracks_per_s": round(n / best["s"], 2),
            "of_dry_run": round(dry / best["s"], 3), "files_written": best["files_written"],
            "bytes_per_write": best["bytes_per_write"], "load_average_before": [r["load_average_before"] for r in runs],
        }  # fmt: skip
    full, written = full_scans["first_write"]["s"], full_scans["first_write"]["files_written"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genre_tagger", "--help"], cwd=ROOT, capture_output=True)
    help_s = time.perf_counter() - t0
    m = stages["mean"]
    print(
        f"CPU per track, 1 core ({n} tracks): decode+front-end {m['decode_frontend_ms']} ms, model {m['model_ms']} ms, "
        f"tags {m['tags_ms']} ms = {m['total_ms']} ms",
        file=sys.stderr,
    )
    for fmt, row in stages["per_format"].items():
        print(
            f"  {fmt:5s} decode+front-end {row['decode_frontend_ms']:6.1f} ms  model {row['model_ms']:5.1f} ms  "
            f"tags {row['tags_ms']:5.1f} ms",
            file=sys.stderr,
        )
    print(
        f"bound on {workers} cores: {bound:.1f} tracks/s; "
        f"dry run (best of {len(dry_runs)}) {n / dry:.1f} tracks/s = {n / dry / bound:.0%} of it; "
        f"rescan {n / rescan:.0f} tracks/s",
        file=sys.stderr,
    )
    for kind, fs in full_scans.items():
        b = fs["bytes_per_write"]["all"]
        print(
            f"full scan, {kind.replace('_', ' ')}s (best of {len(fs['s_all'])}): {fs['tracks_per_s']:.1f} tracks/s "
            f"= {fs['of_dry_run']:.2f} x the dry run "
            f"({fs['files_written']} written: {b.get('in_place', 0)} in place, {b.get('shifted', 0)} shifted, "
            f"{b.get('new_file', 0)} new files; "
            f"bytes per write median {b.get('median_bytes', 0)}, max {b.get('max_bytes', 0)}, "
            f"{b.get('at_most_64kb', 0)} at most 64 KB)",
            file=sys.stderr,
        )
        for fmt, r in fs["bytes_per_write"]["per_format"].items():
            print(f"  {fmt:5s} {r['in_place']:3d} in place, {r['shifted']:3d} shifted, {r['new_file']:3d} new files; "
                  f"bytes median {r['median_bytes']:>9d}, "
                  f"max {r['max_bytes']:>9d}", file=sys.stderr)  # fmt: skip
    print(
        f"dry run CPU (all processes): {tree['cpu_s']} s, of which the stages {stage_cpu:.1f} s ({stage_cpu / tree['cpu_s']:.0%}); "
        f"peak RSS {tree['peak_rss_mb']} MB; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
        file=sys.stderr,
    )
    print("  CPU by process: " + ", ".join(f"{role} {sec} s" for role, sec in tree["cpu_s_by_role"].items()), file=sys.stderr)
    print(json.dumps({
        "tracks": n, "minutes_per_track": args.minutes, "formats": list(FORMATS), "workers": workers,
        "stages_per_track_1_core": stages, "bound_tracks_per_s": round(bound, 2),
        "dry_run_s": round(dry, 2), "dry_run_s_all": [round(t, 2) for t in dry_runs],
        "dry_run_tracks_per_s": round(n / dry, 2), "dry_run_of_bound": round(n / dry / bound, 3),
        "full_scan_s": round(full, 2), "full_scan_files_written": written, "full_scan_tracks_per_s": round(n / full, 2),
        "full_scan_of_dry_run": full_scans["first_write"]["of_dry_run"], "full_scans": full_scans,
        "rescan_s": round(rescan, 2), "rescan_tracks_per_s": round(n / rescan, 1),
        "rescan_1000_tracks_s_extrapolated": round(rescan / n * args.rescan_tracks, 2),
        "peak_rss_mb_scan_tree": tree["peak_rss_mb"], "dry_run_cpu_s": tree["cpu_s"], "dry_run_cpu_s_by_role": tree["cpu_s_by_role"],
        "dry_run_stage_cpu_s": round(stage_cpu, 2), "help_s": round(help_s, 3), "library_generation_s": round(gen_s, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
        "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
