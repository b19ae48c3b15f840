"""Cost of one tag write per format, through the one write path, on the files of the
scan benchmark's library (``benchmarks/scan_speed.py``: generated, no tag yet).

    python benchmarks/write_cost.py [--dir .cache/bench_library_300] [--per-format 5]

``--per-format`` files of each format are copied to a temporary folder and written twice
with ``WriteRun.apply`` in this process: a first write (the files have no tag: where the
tag sits at the start of the file it must grow: on ext4 the audio moves by whole blocks and
the new head is written, elsewhere a new file) and a rewrite
with another genre (fits the padding the first write added: in place). Per format and
pass it prints the median wall ms per write, its CPU time (user + system, of the writing
thread: what a write takes from a scan whose cores are busy classifying), the share of the
wall time spent planning and checking (``WriteRun._plan``, CPU: the tag edited on an
in-memory overlay and verified) and in the write path's own fsyncs (file and folder; the
journal's are inside SQLite), the bytes written to the audio file
(``WriteResult.bytes_written``) and the bytes this process wrote in all (``write_bytes`` of
/proc/self/io after the fsyncs: the journal's SQLite pages included, the kernel's copy of
a new file's unchanged parts too). For scale, ``bare_pwrite`` is what /proc/self/io counts
for a bare 128-byte ``pwrite`` + ``fsync`` of bytes already there into the same file: Linux
counts the whole page-cache folio the write dirties (64 KiB for a file that was copied or
read ahead into large folios, 4 KiB after ``POSIX_FADV_DONTNEED``), while the disk gets
only the changed block. Then JSON.
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


def _io_write_bytes() -> int:
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes:"))
    except (OSError, StopIteration):
        return -1


class _Timer:
    """Accumulates the wall time spent in wrapped functions (one write at a time)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, owner, name: str, key: str) -> None:
        fn = getattr(owner, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.spent[key] = self.spent.get(key, 0.0) + time.perf_counter() - t0

        setattr(owner, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=ROOT / ".cache" / "bench_library_300")
    ap.add_argument("--per-format", type=int, default=5)
    args = ap.parse_args()
    by_fmt: dict[str, list[Path]] = {}
    for p in sorted(args.dir.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            by_fmt.setdefault(p.suffix.lstrip("."), []).append(p)
    if not by_fmt:
        raise SystemExit(f"no files in {args.dir}: run benchmarks/scan_speed.py --generate-only first")
    with tempfile.TemporaryDirectory(dir=args.dir.parent) as tmp:
        os.environ["GENRE_TAGGER_DATA_DIR"] = str(Path(tmp) / "data")
        from genre_tagger.tagstore.journal import Journal
        from genre_tagger.tagstore.write import TAGGED, WriteRun

        timer = _Timer()
        timer.wrap(WriteRun, "_plan", "plan_ms")
        timer.wrap(os, "fsync", "fsync_ms")  # the write path's own (SQLite's, in C, are not counted)
        files = []
        for _, ps in sorted(by_fmt.items()):
            for p in ps[: args.per_format]:
                files.append(Path(tmp) / p.name)
                shutil.copyfile(p, files[-1])
        os.sync()  # the copies on disk: the writes' fsyncs must not pay for flushing them
        rows: dict[str, dict[str, list[dict]]] = {}
        bare: dict[str, list[int]] = {fmt: [] for fmt in by_fmt}
        journal = Journal()
        try:
            for pass_name, genres in (("first_write", ["Rock"]), ("rewrite", ["Jazz"])):
                with WriteRun(journal, "benchmark") as run:
                    for f in files:
                        timer.spent.clear()
                        io0, t0, c0 = _io_write_bytes(), time.perf_counter(), time.thread_time()
                        res = run.apply(f, genres)
                        dt, cpu = time.perf_counter() - t0, time.thread_time() - c0
                        if res.status != TAGGED:
                            raise SystemExit(f"{f}: {res.status} {res.error}")
                        rows.setdefault(f.suffix.lstrip("."), {}).setdefault(pass_name, []).append({
                            "ms": 1000 * dt, "cpu_ms": 1000 * cpu, "plan_ms": 1000 * timer.spent.get("plan_ms", 0.0),
                            "fsync_ms": 1000 * timer.spent.get("fsync_ms", 0.0), "bytes_written": res.bytes_written,
                            "process_write_bytes": _io_write_bytes() - io0,
                        })  # fmt: skip
            for f in files:  # the kernel's own count for a 128-byte change of the same file
                fd = os.open(f, os.O_RDWR)
                try:
                    same = os.pread(fd, 128, 0)
                    io0 = _io_write_bytes()
                    os.pwrite(fd, same, 0)
                    os.fsync(fd)
                    bare[f.suffix.lstrip(".")].append(_io_write_bytes() - io0)
                finally:
                    os.close(fd)
        finally:
            journal.close()
    out: dict = {"per_format": {}, "files_per_format": args.per_format,
                 "machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average": round(os.getloadavg()[0], 2)}  # fmt: skip
    for fmt, passes in rows.items():
        out["per_format"][fmt] = {}
        for pass_name, rs in passes.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            out["per_format"][fmt][pass_name] = {k: round(v, 1) if k.endswith("ms") else int(v) for k, v in med.items()}
            m = out["per_format"][fmt][pass_name]
            print(f"{fmt:5s} {pass_name:11s} {m['ms']:6.1f} ms (CPU {m['cpu_ms']:5.1f}, plan {m['plan_ms']:5.1f}, "
                  f"fsync {m['fsync_ms']:5.1f}); "
                  f"to the file {m['bytes_written']:>9d} B, process {m['process_write_bytes']:>9d} B", file=sys.stderr)  # fmt: skip
        out["per_format"][fmt]["bare_pwrite"] = int(statistics.median(bare[fmt]))
        print(f"{fmt:5s} bare 128-byte pwrite + fsync: process {out['per_format'][fmt]['bare_pwrite']:>9d} B", file=sys.stderr)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
