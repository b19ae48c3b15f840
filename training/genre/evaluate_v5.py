"""The v5 model's real-music accuracy through the app's own scan path (as
:mod:`training.genre.evaluate_realmusic` does for v4): per artist-grouped fold of realmusic,
fit the v5 model (:func:`training.genre.build_v5.fit_and_export`) on all GTZAN clips with
audio + the other folds, export it, and run ``genre-tagger --scan DIR --dry-run --json FILE
--no-cache --model FOLD.json`` (default settings) over symlinks to the held-out clips;
scored from the JSON report. Plus ``--vocabulary gtzan`` on the fault-filtered GTZAN test
clips with the model fitted on filtered train+valid GTZAN + all realmusic.

    python -m training.genre.evaluate_v5 --data ../shared/data/realmusic --gtzan ../shared/data/gtzan \\
        --mn04 ../shared/weights/efficientat-mn04 [--out results/v5/realmusic_eval]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from . import fusion_experiments as fx
from .build_v5 import fit_and_export
from .evaluate_realmusic import scan, score, score_gtzan_test


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="realmusic root (labels.csv)")
    ap.add_argument("--gtzan", type=Path, required=True, help="GTZAN root (audio + splits/)")
    ap.add_argument("--mn04", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"))
    ap.add_argument("--selection", type=Path, default=Path("results/fusion_selection.json"))
    ap.add_argument("--out", type=Path, default=Path("results/v5/realmusic_eval"))
    ap.add_argument("--folds", default="", help="only these folds (comma-separated), for a quick check")
    args = ap.parse_args()
    torch.set_num_threads(1)
    chosen = json.loads(args.selection.read_text())["chosen"]
    f = fx.Fusion(**chosen["fusion"])
    library, gtzan_head, target = chosen["library"], tuple(chosen["gtzan_head"]), chosen["threshold_target"]
    ex, msd, mn = fx.load_all(args.gtzan, args.data, args.features, args.mn_features, [f.mn_cache])
    real_idx = [i for i, e in enumerate(ex) if e.is_real]
    real = [ex[i] for i in real_idx]
    only = {int(k) for k in args.folds.split(",") if k}
    out: dict = {"fusion": chosen["name"], "library": library, "threshold_target": target,
                 "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU (shared with other work)",
                 "command": "python -m training.genre.evaluate_v5 --data <realmusic> --gtzan <GTZAN> --mn04 <weights>",
                 "folds": []}  # fmt: skip
    held, held_recs, held_thr = [], [], []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for k, fo in enumerate(fx.lx.real_folds(real)):
            if only and k not in only:
                continue
            test = [real[i] for i in fo]
            test_keys = {e.key for e in test}
            train = [i for i, e in enumerate(ex) if e.key not in test_keys]
            work = Path(tmp) / f"fold{k}"
            meta = fit_and_export(ex, msd, mn, train, f, library, gtzan_head, target, args.mn04, work / "model", f"fold{k}", "cv")
            recs = scan(work / "model" / f"fold{k}.json", test, work)
            thr = meta.vocabulary().min_confidence
            s = score(recs, test, [thr] * len(test))
            s["min_confidence"] = thr
            out["folds"].append(s)
            held += test
            held_recs += recs
            held_thr += [thr] * len(test)
            print(f"fold {k}: ext {s['extended_top1']:.3f} g10 {s['gtzan10_top1']} prec {s['written_precision']} "
                  f"cov {s['coverage']:.3f} thr {thr} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
        out["realmusic"] = score(held_recs, held, held_thr)
        keep = [i for i, e in enumerate(held) if e.source != "emotify"]
        out["realmusic_without_emotify"] = score([held_recs[i] for i in keep], [held[i] for i in keep], [held_thr[i] for i in keep])
        train = [i for i, e in enumerate(ex) if e.is_real or e.group in ("train", "valid")]
        test = [e for e in ex if not e.is_real and e.group == "test"]
        work = Path(tmp) / "gtzan"
        fit_and_export(ex, msd, mn, train, f, library, gtzan_head, target, args.mn04, work / "model", "gtzan-filtered", "cv")
        recs = scan(work / "model" / "gtzan-filtered.json", test, work, "gtzan")
        out["gtzan_filtered_test"] = score_gtzan_test(recs, test)
    a = out["realmusic"]
    print(f"realmusic (app path, {a['clips']} clips): ext top-1 {a['extended_top1']:.3f}, GTZAN-10 top-1 {a['gtzan10_top1']}, "
          f"written precision {a['written_precision']} at coverage {a['coverage']:.3f}; "
          f"GTZAN filtered test (gtzan vocab) {out['gtzan_filtered_test']['accuracy']:.3f} ({time.time() - t0:.0f} s)")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(out, indent=1))
    print("wrote", args.out / "metrics.json")


if __name__ == "__main__":
    main()
