"""Fit the chosen model on all the data and export it (ONNX + ModelMeta JSON).

Candidate and library vocabulary come from ``results/library_selection.json``
(:mod:`training.genre.library_experiments`); the accuracy figures written into the
metadata come from the app-path evaluation (``results/realmusic_eval/metrics.json``,
:mod:`training.genre.evaluate_realmusic`), each named with its protocol.

    python -m training.genre.build_model --gtzan ../shared/data/gtzan \\
        --realmusic ../shared/data/realmusic [--out models] [--name genre-musicnn] [--version 4]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .library_experiments import CANDIDATES, WRITE_TARGET, fit_spec, load_all
from .library_model import build_net, export

PROTOCOL = "realmusic, 5-fold CV grouped by artist, app scan path, default settings"


def accuracy_figures(metrics: dict) -> dict[str, dict]:
    """Per vocabulary: {figure: {value, n, protocol, command}} from evaluate_realmusic's
    metrics.json (names as the About box reads them: "real…", "…precision", "…coverage",
    "fault-filtered-test")."""
    r, g = metrics["realmusic"], metrics["gtzan_filtered_test"]
    cmd = metrics["command"]
    lib = {
        "realmusic-extended-top1": {"value": round(r["extended_top1"], 3), "n": r["clips"], "protocol": PROTOCOL,
                                    "command": cmd},
        "ten-gtzan-genres-top1": {"value": round(r["gtzan10_top1"], 3), "n": r["gtzan10_clips"],
                                  "protocol": PROTOCOL + "; realmusic clips with a GTZAN genre", "command": cmd},
    }  # fmt: skip
    written = r.get("written_precision") is not None
    if written:
        lib["written-precision"] = {"value": round(r["written_precision"], 3), "n": round(r["coverage"] * r["clips"]),
                                    "protocol": PROTOCOL, "command": cmd}  # fmt: skip
        lib["coverage"] = {"value": round(r["coverage"], 3), "n": r["clips"], "protocol": PROTOCOL, "command": cmd}
    gtz = {"fault-filtered-test": {"accuracy": round(g["accuracy"], 3), "balanced_accuracy": round(g["balanced_accuracy"], 3),
                                   "n": g["clips"], "protocol": "GTZAN fault-filtered test clips with audio, fitted on "
                                   "filtered train+valid + realmusic, app scan path with --vocabulary gtzan",
                                   "command": cmd}}  # fmt: skip
    return {"library": lib, "gtzan": gtz}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--selection", type=Path, default=Path("results/library_selection.json"))
    ap.add_argument("--metrics", type=Path, default=Path("results/realmusic_eval/metrics.json"))
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--name", default="genre-musicnn")
    ap.add_argument("--version", default="4")
    args = ap.parse_args()
    sel = json.loads(args.selection.read_text())["chosen"]
    cand = next(c for c in CANDIDATES if c.name == sel["candidate"])
    ex, cache = load_all(args.gtzan, args.realmusic, args.features)
    spec = fit_spec(cache, ex, cand, sel["library"], tuple(sel["gtzan_head"]))
    if args.metrics.exists():
        figs = accuracy_figures(json.loads(args.metrics.read_text()))
        for h in spec.heads:
            h.accuracy = figs.get(h.vocabulary, {})
    spec.provenance.update({
        "architecture": "MSD_musicnn" + (" + MTT_musicnn" if spec.uses_mtt() else "")
        + " (Pons & Serra 2019, ported from the musicnn 0.1.0 TF checkpoints, dead front-end filters pruned exactly)"
        + " -> tag logits and embeddings averaged over the windows -> one calibrated linear softmax head per vocabulary",
        "training_data": "GTZAN clips with audio (one label each) + realmusic development half (accepted genre sets)",
        "loss": f"-log P(accepted set) + L2 (C = {cand.c:g})",
        "calibration": "temperature per vocabulary, fitted on out-of-fold logits of artist-grouped 4-fold CV",
        "min_confidence": f"lowest threshold with written precision >= {WRITE_TARGET} on the out-of-fold calibrated probabilities",
        "see": "results/MODEL.md",
    })  # fmt: skip
    meta = export(build_net(spec), spec, args.out, args.name, args.version)
    onnx = args.out / f"{args.name}.onnx"
    print(f"wrote {onnx} ({onnx.stat().st_size / 1e6:.2f} MB) and its metadata; "
          f"vocabularies {[(v.name, v.min_confidence) for v in meta.vocabularies]}")  # fmt: skip


if __name__ == "__main__":
    main()
