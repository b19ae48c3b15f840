"""The model's real-music accuracy through the app's own scan path, as realmusic/README.md scores it.

Per artist-grouped fold of realmusic (the same 5 folds as the selection): fit the model on
all GTZAN clips with audio + the other folds' realmusic clips (heads, temperatures and
default thresholds as for the shipped model), export it (ONNX + metadata), and run
``genre-tagger --scan DIR --dry-run --json FILE --no-cache`` with default settings over a
temporary folder of symlinks to the held-out clips. Scored from the JSON report:
- extended top-1: the top genre's id is in the clip's accepted set (every clip);
- GTZAN-10 top-1: the top genre is the clip's gtzan_genre (clips with one, high/medium);
- written precision / coverage: status ``would-tag`` and first written genre accepted.
Plus ``--vocabulary gtzan`` on the fault-filtered GTZAN test clips with audio, with the
model fitted on filtered train+valid GTZAN + all realmusic.

    python -m training.genre.evaluate_realmusic --data ../shared/data/realmusic \\
        --gtzan ../shared/data/gtzan [--candidate NAME] [--out results/realmusic_eval]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genre_tagger.genres import GTZAN_GENRES, genre_id

from .library_experiments import CANDIDATES, fit_spec, load_all, real_folds
from .library_model import build_net, export
from .realdata import Example, gtzan_top1_eligible


def scan(model_json: Path, clips: list[Example], work: Path, vocabulary: str | None = None) -> list[dict]:
    """Run the app's CLI scan (dry run, default settings) over symlinks to ``clips``;
    returns one report record per clip, in order (a clip without a record gets None)."""
    d = work / "clips"
    d.mkdir(parents=True)
    links = {}
    for i, e in enumerate(clips):
        link = d / f"{i:04d}{e.path.suffix}"
        link.symlink_to(e.path.resolve())
        links[str(link)] = i
    report = work / "report.json"
    cmd = [sys.executable, "-m", "genre_tagger", "--scan", str(d), "--dry-run", "--json", str(report),
           "--no-cache", "--quiet", "--model", str(model_json)]  # fmt: skip
    if vocabulary:
        cmd += ["--vocabulary", vocabulary]
    env = {**os.environ, "HOME": str(work / "home"), "XDG_DATA_HOME": str(work / "home"),
           "XDG_CACHE_HOME": str(work / "home"), "XDG_CONFIG_HOME": str(work / "home")}  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if not report.exists():
        raise RuntimeError(f"scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    records: list[dict | None] = [None] * len(clips)
    for r in json.loads(report.read_text()):
        i = links.get(str(Path(r["path"])))
        if i is None:
            i = links.get(str(d / Path(r["path"]).name))
        if i is not None:
            records[i] = r
    return records


def fit_and_scan(
    ex: list[Example],
    cache: dict[str, np.ndarray],
    train: list[Example],
    test: list[Example],
    cand,
    library: list[str],
    gtzan_head: tuple,
    work: Path,
    name: str,
    vocabulary: str | None = None,
):
    """Fit the model on ``train`` (rows of ``cache`` are ``ex``), export it to ``work/model``
    and scan ``test`` with it; returns (metadata, scan records)."""
    row = {e.key: i for i, e in enumerate(ex)}
    sub = {b: a[[row[e.key] for e in train]] for b, a in cache.items()}
    spec = fit_spec(sub, train, cand, library, gtzan_head)
    meta = export(build_net(spec), spec, work / "model", name, "cv")
    return meta, scan(work / "model" / f"{name}.json", test, work, vocabulary)


def score(records: list[dict | None], clips: list[Example], min_conf: list[float] | None = None) -> dict:
    """realmusic/README.md's three figures (+ per-genre precision of the top genre). With
    ``min_conf`` (the model's default threshold per clip) also the written precision and
    coverage that threshold gives on the report's top probability (a cross-check of the
    app's default)."""
    top_ok, gz_ok, written, written_ok, per = [], [], 0, 0, {}
    at_thr = []
    for k, (r, e) in enumerate(zip(records, clips)):
        top = genre_id(r["top"][0][0]) if r and r.get("top") else None
        ok = top in e.accepted
        top_ok.append(ok)
        if gtzan_top1_eligible(e):
            gz_ok.append(top == e.gtzan)
        if top is not None:
            per.setdefault(top, []).append(ok)
        if min_conf is not None and r and r.get("top"):
            at_thr.append((r["top"][0][1] >= min_conf[k], ok))
        if r and r["status"] == "would-tag" and r.get("genres"):
            written += 1
            written_ok += genre_id(r["genres"][0]) in e.accepted
    return {
        "clips": len(clips),
        "extended_top1": float(np.mean(top_ok)),
        "gtzan10_top1": float(np.mean(gz_ok)) if gz_ok else None,
        "gtzan10_clips": len(gz_ok),
        "written_precision": written_ok / written if written else None,
        "coverage": written / len(clips),
        "no_record": sum(r is None for r in records),
        "at_model_min_confidence": {
            "written_precision": float(np.mean([o for w, o in at_thr if w])) if any(w for w, _ in at_thr) else None,
            "coverage": sum(w for w, _ in at_thr) / len(clips),
        } if min_conf is not None else None,
        "top1_precision_per_genre": {g: {"predicted": len(v), "precision": float(np.mean(v))} for g, v in sorted(per.items())},
    }


def score_gtzan_test(records: list[dict | None], clips: list[Example]) -> dict:
    """Top-1 accuracy and balanced accuracy (mean per-genre recall) of scan records on GTZAN
    test clips, gtzan vocabulary."""
    ok = [bool(r and r.get("top") and genre_id(r["top"][0][0]) == e.primary) for r, e in zip(records, clips)]
    present = [g for g in GTZAN_GENRES if any(e.primary == g for e in clips)]
    recall = [float(np.mean([o for o, e in zip(ok, clips) if e.primary == g])) for g in present]
    return {"vocabulary": "gtzan", "clips": len(clips), "accuracy": float(np.mean(ok)), "balanced_accuracy": float(np.mean(recall))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="realmusic root (labels.csv)")
    ap.add_argument("--gtzan", type=Path, required=True, help="GTZAN root (audio + splits/)")
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"), help="feature cache (for fitting)")
    ap.add_argument("--candidate", default=None, help="candidate name (default: the selection's choice)")
    ap.add_argument("--library", default=None, help="comma-separated library vocabulary (default: the selection's)")
    ap.add_argument("--selection", type=Path, default=Path("results/library_selection.json"))
    ap.add_argument("--out", type=Path, default=Path("results/realmusic_eval"))
    ap.add_argument("--folds", default="", help="only these folds (comma-separated), for a quick check")
    args = ap.parse_args()
    sel = json.loads(args.selection.read_text()) if args.selection.exists() else {}
    cand_name = args.candidate or sel["chosen"]["candidate"]
    cand = next(c for c in CANDIDATES if c.name == cand_name)
    library = args.library.split(",") if args.library else sel["chosen"]["library"]
    gtzan_head = tuple(sel["chosen"]["gtzan_head"])
    ex, cache = load_all(args.gtzan, args.data, args.features)
    real = [e for e in ex if e.is_real]
    folds = real_folds(real)
    only = {int(f) for f in args.folds.split(",") if f}
    out: dict = {"candidate": cand_name, "library": library, "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU",
                 "command": "python -m training.genre.evaluate_realmusic --data <realmusic> --gtzan <GTZAN>", "folds": []}  # fmt: skip
    held_clips: list[Example] = []
    held_records: list[dict | None] = []
    held_thr: list[float] = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for k, f in enumerate(folds):
            if only and k not in only:
                continue
            test = [real[i] for i in f]
            test_keys = {e.key for e in test}
            train = [e for e in ex if e.key not in test_keys]
            meta, recs = fit_and_scan(ex, cache, train, test, cand, library, gtzan_head, Path(tmp) / f"fold{k}", f"fold{k}")
            thr = meta.vocabulary().min_confidence
            s = score(recs, test, [thr] * len(test))
            s["min_confidence"] = thr
            held_thr += [thr] * len(test)
            out["folds"].append(s)
            held_clips += test
            held_records += recs
            print(f"fold {k}: ext {s['extended_top1']:.3f} g10 {s['gtzan10_top1']} prec {s['written_precision']} "
                  f"cov {s['coverage']:.3f} thr {s['min_confidence']} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
        out["realmusic"] = score(held_records, held_clips, held_thr)
        keep = [i for i, e in enumerate(held_clips) if e.source != "emotify"]
        out["realmusic_without_emotify"] = score([held_records[i] for i in keep], [held_clips[i] for i in keep],
                                                 [held_thr[i] for i in keep])  # fmt: skip
        # GTZAN: fit on filtered train+valid (+ all realmusic), scan the filtered test clips
        train = [e for e in ex if e.is_real or e.group in ("train", "valid")]
        test = [e for e in ex if not e.is_real and e.group == "test"]
        _, recs = fit_and_scan(ex, cache, train, test, cand, library, gtzan_head, Path(tmp) / "gtzan", "gtzan-filtered",
                               vocabulary="gtzan")  # fmt: skip
        out["gtzan_filtered_test"] = score_gtzan_test(recs, test)
    a = out["realmusic"]
    print("at the model's min_confidence:", a["at_model_min_confidence"])
    print(f"realmusic (app path, {a['clips']} clips): ext top-1 {a['extended_top1']:.3f}, GTZAN-10 top-1 {a['gtzan10_top1']}, "
          f"written precision {a['written_precision']} at coverage {a['coverage']:.3f}; "
          f"GTZAN filtered test (gtzan vocab) {out['gtzan_filtered_test']['accuracy']:.3f}")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(out, indent=1))
    print("wrote", args.out / "metrics.json")


if __name__ == "__main__":
    main()
