"""Per-track CPU cost of decode + front end(s) and of the model, for several models on the
same generated files, interleaved (best of --repeat rounds, CPU time of this single-threaded
process: robust to other work on the machine). For comparing a new model with the bundled one.

    python benchmarks/model_cost.py models/genre-musicnn.json models/genre-v5.json [--seconds 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.synth import write_audio
from genre_tagger.listen.model import Classifier

FORMATS = ["mp3", "flac", "ogg", "mp3", "m4a", "flac"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seconds", type=float, default=200.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    clfs = {m: Classifier(m, threads=1) for m in args.models}
    with tempfile.TemporaryDirectory() as d:
        files = [write_audio(Path(d) / f"t{i}.{fmt}", fmt, seconds=args.seconds, seed=i) for i, fmt in enumerate(FORMATS)]
        for c in clfs.values():
            c.classify_file(files[0])  # warm-up
        best: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in clfs}
        for _ in range(args.repeat):
            for m, c in clfs.items():
                for f in files:
                    t0 = time.process_time()
                    tp = c.patches_for_file(f)
                    t1 = time.process_time()
                    c.classify_patches(tp.patches, tp.duration, tp.mn_mels)
                    t2 = time.process_time()
                    a, b = best[m].get(f.name, (1e9, 1e9))
                    best[m][f.name] = (min(a, t1 - t0), min(b, t2 - t1))
    rows = {}
    for m, c in clfs.items():
        dec = sum(v[0] for v in best[m].values()) / len(files) * 1000
        mod = sum(v[1] for v in best[m].values()) / len(files) * 1000
        rows[c.meta.model_id] = {"decode_frontend_ms": round(dec, 1), "model_ms": round(mod, 1), "total_ms": round(dec + mod, 1)}
    first = next(iter(rows.values()))["total_ms"]
    for r in rows.values():
        r["cost_vs_first"] = round(r["total_ms"] / first, 2)
    print(json.dumps({"files": f"{len(FORMATS)} x {args.seconds:g} s ({', '.join(FORMATS)})", "repeat": args.repeat,
                      "clock": "process CPU time, 1 thread", "machine": platform.machine(), "models": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
