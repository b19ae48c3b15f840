"""How much the model's answer moves when the audio does not change: time shifts and
containers/codecs, through the app's own Classifier.

    python benchmarks/stability.py CLIP [CLIP ...] [--model M] [--windows 4 8 16]
                                   [--mn-windows 2:0.3 4:0.1]
                                   [--shifts-ms 50 25 -25 -50] [--formats mp3 flac ogg opus m4a]

For each clip (any audio file; e.g. a few realmusic clips, never committed), the decoded
clip (scaled to peak 0.99 if louder, so that every container holds the same audio)
written as 16-bit WAV is the reference; its top genre in the default vocabulary is
the genre watched. Variants: the clip shifted by each of ``--shifts-ms`` (positive:
that much silence put before it; negative: that much cut from its start), and the clip
encoded as each of ``--formats``. For each window count, the figure is max |Δp| of the
reference's top genre over the variants (and the share of variants whose top genre
changes). ``--mn-windows COUNT:MARGIN ...`` does the same for a model's second tagger
(every pair of a --windows and an --mn-windows setting is measured).
Encodes use ``devtools.synth.write_audio`` (soundfile / PyAV encoders at
their default quality). Prints a table and JSON; writes nothing but temporary files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.synth import write_audio  # noqa: E402
from genre_tagger.listen.model import Classifier  # noqa: E402
from genre_tagger.listen.pipeline import SecondInput  # noqa: E402


def _rel(arg: str) -> str:
    """An existing path relative to the working directory (so the command reads the same elsewhere)."""
    return os.path.relpath(arg) if os.path.exists(arg) else arg


def load_clip(path: Path) -> tuple[np.ndarray, int]:
    """The whole clip, mono float32 at its own rate (soundfile, else PyAV)."""
    try:
        import soundfile as sf

        with open(path, "rb") as f:
            y, sr = sf.read(f, dtype="float32", always_2d=True)
        return y.mean(axis=1), sr
    except Exception:  # formats libsndfile does not read
        import av

        with av.open(str(path)) as c:
            s = c.streams.audio[0]
            res = av.AudioResampler(format="flt", layout="mono", rate=s.codec_context.sample_rate)
            chunks = [f.to_ndarray().reshape(-1) for fr in c.decode(s) for f in res.resample(fr)]
            return np.concatenate(chunks).astype(np.float32), s.codec_context.sample_rate


def _name(w: tuple) -> str:
    """A window setting's name: musicnn's count, and ``+M@margin`` for the second tagger's."""
    return str(w[0]) if w[1] is None else f"{w[0]}+{w[1][0]}@{w[1][1]:g}"


def shifted(y: np.ndarray, sr: int, ms: float) -> np.ndarray:
    n = int(round(abs(ms) * sr / 1000))
    return np.concatenate([np.zeros(n, np.float32), y]) if ms > 0 else y[n:]


def variants(y: np.ndarray, sr: int, d: Path, shifts: list[float], formats: list[str]) -> tuple[Path, dict[str, Path]]:
    ref = write_audio(d / "ref.wav", "wav", y=y, sr=sr)
    out = {f"shift {ms:+g} ms": write_audio(d / f"shift{ms:+g}.wav", "wav", y=shifted(y, sr, ms), sr=sr) for ms in shifts}
    for fmt in formats:
        out[fmt] = write_audio(d / f"enc.{fmt}", fmt, y=y, sr=sr)
    return ref, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--model", default=None, help="model .json (default: the bundled one)")
    ap.add_argument("--windows", type=int, nargs="+", default=None, help="window counts to try (default: the model's)")
    ap.add_argument("--mn-windows", nargs="+", default=None, metavar="COUNT:MARGIN",
                    help="second tagger's window count and margin to try (default: the model's)")
    ap.add_argument("--shifts-ms", type=float, nargs="+", default=[50, 25, -25, -50])
    ap.add_argument("--formats", nargs="+", default=["mp3", "flac", "ogg", "opus", "m4a"])
    ap.add_argument("--vocabulary", default=None)
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here (e.g. results/stability.json)")
    args = ap.parse_args()

    clf = Classifier(args.model, threads=1)
    base = clf.meta
    vocab = base.vocabulary(args.vocabulary).name
    second = [None]
    if args.mn_windows:
        if base.mn_windows is None:
            ap.error("--mn-windows: this model has no second tagger")
        second = [(int(c), float(m)) for c, m in (x.split(":") for x in args.mn_windows)]
    counts = [(w, s) for w in (args.windows or [base.windows.count]) for s in second]
    keys = ("shift", "format", "flip_shift", "flip_format", "ms")
    rows: dict[tuple, dict[str, list[float]]] = {w: {k: [] for k in keys} for w in counts}
    per_clip = []
    by_variant: dict[tuple, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            y, sr = load_clip(clip)
            y = y * min(1.0, 0.99 / max(1e-9, float(np.abs(y).max())))  # fits every container (16-bit WAV clips at 1.0)
            d = Path(tmp) / clip.stem
            d.mkdir()
            ref, var = variants(y, sr, d, args.shifts_ms, args.formats)
            for w in counts:
                clf.meta = dataclasses.replace(base, windows=dataclasses.replace(base.windows, count=w[0]))
                if w[1] is not None:
                    mn = dataclasses.replace(base.mn_windows, count=w[1][0], margin=w[1][1])
                    clf.meta = dataclasses.replace(clf.meta, mn_windows=mn)
                    clf.second = SecondInput(base.mn_frontend, mn)
                t0 = time.perf_counter()
                r = clf.classify_file(ref)
                rows[w]["ms"].append((time.perf_counter() - t0) * 1000)
                top, p0 = r.ranked(vocab)[0]
                worst = {"shift": 0.0, "format": 0.0}
                dps = {}
                for name, path in var.items():
                    c = clf.classify_file(path)
                    kind = "shift" if name.startswith("shift") else "format"
                    dps[name] = dp = abs(c.probs[vocab][top] - p0)
                    worst[kind] = max(worst[kind], dp)
                    by_variant.setdefault(w, {}).setdefault(name, []).append(dp)
                    rows[w]["flip_" + kind].append(float(c.ranked(vocab)[0][0] != top))
                rows[w]["shift"].append(worst["shift"])
                rows[w]["format"].append(worst["format"])
                per_clip.append({"clip": _rel(str(clip)), "windows": _name(w), "top": top, "p": round(p0, 4),
                                 "max_dp_shift": round(worst["shift"], 4), "max_dp_format": round(worst["format"], 4),
                                 "dp": {k: round(v, 4) for k, v in dps.items()}})  # fmt: skip
    summary = {
        _name(w): {
            "clips": len(v["shift"]),
            "max_dp_shift_max": round(max(v["shift"]), 4),
            "max_dp_shift_mean": round(float(np.mean(v["shift"])), 4),
            "max_dp_format_max": round(max(v["format"]), 4),
            "max_dp_format_mean": round(float(np.mean(v["format"])), 4),
            "top_changed_shift": round(float(np.mean(v["flip_shift"])), 3),
            "top_changed_format": round(float(np.mean(v["flip_format"])), 3),
            "ms_per_clip": round(float(np.median(v["ms"])), 1),
            "max_dp_by_variant": {k: round(max(x), 4) for k, x in by_variant[w].items()},
        }
        for w, v in rows.items()
    }
    print(f"{'windows':>7} {'shift max':>9} {'shift mean':>10} {'format max':>10} {'format mean':>11} {'ms/clip':>8}")
    for w, s in summary.items():
        print(f"{w:>7} {s['max_dp_shift_max']:>9.3f} {s['max_dp_shift_mean']:>10.3f} {s['max_dp_format_max']:>10.3f} "
              f"{s['max_dp_format_mean']:>11.3f} {s['ms_per_clip']:>8.1f}")  # fmt: skip
    report = json.dumps({
        "model": base.model_id, "vocabulary": vocab, "shifts_ms": args.shifts_ms, "formats": args.formats,
        "summary": summary, "clips": per_clip,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, 1 ONNX thread (ms are wall time; other work may share the CPU)",
        "command": "python benchmarks/stability.py " + " ".join(_rel(a) for a in sys.argv[1:]),
    }, indent=1)  # fmt: skip
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
