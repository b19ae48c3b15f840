"""Model time per track on one CPU core: ONNX Runtime with 1 thread, the bundled
model's windows per track, batched as the app runs them.

    python benchmarks/model_speed.py [--model models/genre-musicnn.json] [--tracks 50]

Prints JSON: ms per track for the ONNX model alone, for the front-end (log-mel of the
windows; both front ends for a model with a second tagger), and for decode + front-end +
model on a generated 4-minute track.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.synth import write_audio
from genre_tagger.listen.frontend import patches_from_windows
from genre_tagger.listen.model import Classifier
from genre_tagger.listen.pipeline import mn_mels_from_windows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--tracks", type=int, default=50)
    args = ap.parse_args()
    clf = Classifier(args.model, threads=1)
    fe, n = clf.meta.frontend, clf.meta.windows.count
    rng = np.random.default_rng(0)
    patches = rng.uniform(0, 4, (n, fe.patch_frames, fe.n_mels)).astype(np.float32)
    second = clf.second
    mn = None
    if second is not None:
        mn = rng.uniform(-1.5, 1.0, (second.windows.count, second.frontend.n_mels, second.frames)).astype(np.float32)
    clf.classify_patches(patches, 0.0, mn)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.tracks):
        clf.classify_patches(patches, 0.0, mn)
    model_ms = (time.perf_counter() - t0) / args.tracks * 1000
    wins = [rng.normal(0, 0.1, fe.patch_samples).astype(np.float32) for _ in range(n)]
    wins2 = [rng.normal(0, 0.1, second.windows.length).astype(np.float32) for _ in range(second.windows.count)] if second else []
    t0 = time.perf_counter()
    for _ in range(args.tracks):
        patches_from_windows(wins, fe)
        if second is not None:
            mn_mels_from_windows(wins2, second)
    fe_ms = (time.perf_counter() - t0) / args.tracks * 1000
    with tempfile.TemporaryDirectory() as d:
        files = [write_audio(Path(d) / f"t{i}.mp3", "mp3", seconds=240.0, seed=i) for i in range(5)]
        clf.classify_file(files[0])
        t0 = time.perf_counter()
        for f in files:
            clf.classify_file(f)
        full_ms = (time.perf_counter() - t0) / len(files) * 1000
    print(json.dumps({
        "model": clf.meta.model_id, "windows_per_track": n, "onnx_threads": 1,
        "second_input_windows": second.windows.count if second else 0,
        "model_ms_per_track": round(model_ms, 1), "frontend_ms_per_track": round(fe_ms, 1),
        "decode_frontend_model_ms_per_4min_mp3": round(full_ms, 1),
        "machine": f"{platform.machine()} {platform.processor()}".strip(), "python": platform.python_version(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
