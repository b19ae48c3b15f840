r"""Choose the genre head by measurement (artist-separated), then train the final one.

    python -m training.genre.head_experiments --data ../shared/data/gtzan   # all candidates
    python -m training.genre.head_experiments --data ../shared/data/gtzan --cs 1 --balanced 1 \
        --kinds msd-evidence,evidence,tags-evidence,tags,embeddings   # results/head_selection.md
    python -m training.genre.head_experiments --data ../shared/data/gtzan \
        --final msd-evidence:1:1 --save runs/head_final.pt   # the final head (KIND:C:BALANCED), for training.genre.export

Protocols (clip-level accuracy; window probabilities averaged per clip):
- ``filtered``: fit on the fault-filtered train+valid lists, score the filtered test list
  (all restricted to the clips present; the lists are artist-disjoint).
- ``block-cv``: grouped 5-fold CV, a group being a run of 10 consecutive clip numbers
  of one genre (GTZAN orders clips largely by artist, so this approximates artist
  separation; no artist labels are available here). Harsh for the eight small genres,
  whose clips are mostly numbers 00000-00009: one fold holds most of a genre.
- ``random-cv``: seeded stratified 5-fold CV over all clips (not artist-separated; for
  comparison with the literature's random splits only).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from ..data import filtered_split, find_clips, grouped_folds, partition_groups, stratified_split
from ..metrics import classification_report
from ..train import TrainConfig, fit, tensor_batches
from .features import FeatureConfig, load_features
from .heads import GENRES, GenreHead, HeadConfig, build_mask, fit_head_lbfgs, stack_features

KEYS = {"msd_logits": "MSD_musicnn_logits", "mtt_logits": "MTT_musicnn_logits",
        "msd_embedding": "MSD_musicnn_embedding", "mtt_embedding": "MTT_musicnn_embedding"}  # fmt: skip


def load_gtzan_features(data: Path, cache: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    clips = find_clips(data)
    stems = [c.stem for c in clips]
    y = np.array([GENRES.index(c.genre) for c in clips])
    raw = load_features(FeatureConfig(data, cache).out_dir, stems, list(KEYS.values()))
    return stems, y, {k: raw[v] for k, v in KEYS.items()}


def train_head(feats: np.ndarray, y: np.ndarray, tr: list[int], cfg: HeadConfig, log=None) -> GenreHead:
    """Fit a head on all windows of clips ``tr``: L-BFGS to convergence (``cfg.optimizer
    == 'lbfgs'``), or the Adam loop with early stopping on 15 % of the clips."""
    if cfg.optimizer == "lbfgs":
        x = feats[tr].reshape(-1, feats.shape[-1])
        yy = np.repeat(y[tr], feats.shape[1])
        head = GenreHead(build_mask(cfg.kind), x.mean(0), x.std(0) + 1e-6)
        counts = np.bincount(y[tr], minlength=len(GENRES)).astype(np.float64)
        cw = counts.sum() / (len(GENRES) * np.maximum(counts, 1)) if cfg.balanced else None
        fit_head_lbfgs(head, x, yy, cfg.c, cw)
        return head
    inner_tr_pos, inner_va_pos, _ = stratified_split([str(v) for v in y[tr]], (0.85, 0.15, 0.0), cfg.seed)
    itr, iva = np.array(tr)[inner_tr_pos], np.array(tr)[inner_va_pos]
    w = feats.shape[1]
    xtr = feats[itr].reshape(-1, feats.shape[-1])
    ytr = np.repeat(y[itr], w)
    xva = feats[iva].reshape(-1, feats.shape[-1])
    yva = np.repeat(y[iva], w)
    mean, std = xtr.mean(0), xtr.std(0) + 1e-6
    head = GenreHead(build_mask(cfg.kind), mean, std)
    counts = np.bincount(y[itr], minlength=len(GENRES)).astype(np.float64)
    cw = (counts.sum() / (len(GENRES) * np.maximum(counts, 1))).tolist() if cfg.balanced else None
    tcfg = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, weight_decay=cfg.weight_decay, patience=cfg.patience,
                       lr_patience=8, seed=cfg.seed, class_weights=cw, extra=asdict(cfg))  # fmt: skip
    fit(head, tensor_batches(torch.from_numpy(xtr), torch.from_numpy(ytr), 4096, True, cfg.seed),
        tensor_batches(torch.from_numpy(xva), torch.from_numpy(yva), 4096, False), tcfg, log=log)  # fmt: skip
    return head.eval()


def predict_clips(head: GenreHead, feats: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        p = torch.softmax(head(torch.from_numpy(feats.reshape(-1, feats.shape[-1]))), -1).numpy()
    return p.reshape(feats.shape[0], feats.shape[1], -1).mean(1)


def run_protocol(name: str, feats: np.ndarray, y: np.ndarray, folds: list[tuple[list[int], list[int]]], cfg: HeadConfig) -> dict:
    pred = np.full(len(y), -1)
    probs = np.zeros((len(y), len(GENRES)))
    for tr, te in folds:
        head = train_head(feats, y, tr, cfg)
        probs[te] = predict_clips(head, feats[te])
        pred[te] = probs[te].argmax(1)
    idx = np.array(sorted({i for _, te in folds for i in te}))
    rep = classification_report(y[idx], pred[idx], GENRES)
    rep["protocol"] = name
    rep["n"] = len(idx)
    return rep


def protocols(stems: list[str], y: np.ndarray, split_dir: Path, seed: int) -> dict[str, list[tuple[list[int], list[int]]]]:
    split = filtered_split(split_dir)
    groups = partition_groups(stems, split)
    part = [[i for i, g in enumerate(groups) if g == p] for p in ("train", "valid", "test")]
    filt = [(part[0] + part[1], part[2])]
    blocks = [f"{s.split('/')[0]}-{int(s.split('.')[-1]) // 10}" for s in stems]
    bfolds = grouped_folds(blocks, 5, seed)
    bcv = [(sorted(set(range(len(stems))) - set(te)), te) for te in bfolds]
    labels = [str(v) for v in y]
    rfolds = []
    order = np.random.default_rng(seed).permutation(len(y))
    k = 5
    fold_of = np.zeros(len(y), int)
    for c in sorted(set(labels)):
        members = [i for i in order if labels[i] == c]
        for j, i in enumerate(members):
            fold_of[i] = j % k
    for f in range(k):
        te = [i for i in range(len(y)) if fold_of[i] == f]
        rfolds.append(([i for i in range(len(y)) if fold_of[i] != f], te))
    return {"filtered": filt, "block-cv": bcv, "random-cv": rfolds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path(".cache"))
    ap.add_argument("--splits", type=Path, default=None, help="folder of *_filtered.txt (default DATA/splits)")
    ap.add_argument("--out", type=Path, default=Path("results"))
    ap.add_argument("--kinds", default="msd-evidence,evidence,tags-evidence,tags,embeddings,all")
    ap.add_argument("--cs", default="0.01,0.1,1", help="inverse L2 strengths (L-BFGS)")
    ap.add_argument("--balanced", default="1,0", help="class-balanced loss: 1, 0 or both")
    ap.add_argument("--final", default=None, help="KIND:C:BALANCED - train the final head, save it to --save")
    ap.add_argument("--train-on", default="all", choices=["all", "filtered"],
                    help="with --final: all clips, or only the filtered train+valid lists (for a clean test score)")
    ap.add_argument("--save", type=Path, default=Path("runs/head_final.pt"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    stems, y, arrays = load_gtzan_features(args.data, args.cache)
    if args.final:
        kind, c, bal = args.final.split(":")
        cfg = HeadConfig(kind=kind, c=float(c), balanced=bal == "1")
        feats = stack_features(arrays, kind)
        train = list(range(len(y)))
        if args.train_on == "filtered":
            groups = partition_groups(stems, filtered_split(args.splits or args.data / "splits"))
            train = [i for i, g in enumerate(groups) if g in ("train", "valid")]
        head = train_head(feats, y, train, cfg)
        args.save.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"head": head.state_dict(), "config": asdict(cfg), "stems": [stems[i] for i in train]}, args.save)
        print(f"saved {args.save} (trained on {len(train)} clips)")
        return
    protos = protocols(stems, y, args.splits or args.data / "splits", 0)
    rows = []
    for kind in args.kinds.split(","):
        feats = stack_features(arrays, kind)
        for c, bal in [(float(c), b == "1") for c in args.cs.split(",") for b in args.balanced.split(",")]:
            cfg = replace(HeadConfig(), kind=kind, c=c, balanced=bal)
            for pname, folds in protos.items():
                t0 = time.time()
                rep = run_protocol(pname, feats, y, folds, cfg)
                row = {"head": kind, "C": c, "balanced": bal, "protocol": pname, "n": rep["n"],
                       "accuracy": round(rep["accuracy"], 4), "balanced_accuracy": round(rep["balanced_accuracy"], 4),
                       "seconds": round(time.time() - t0, 1)}  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "head_selection.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [
        "# Genre head selection (musicnn taggers + linear head)",
        "",
        f"Command: `python -m training.genre.head_experiments --data <GTZAN> --kinds {args.kinds} --cs {args.cs} "
        f"--balanced {args.balanced}` on {platform.machine()} "
        f"({platform.processor() or 'cpu'}), {time.strftime('%Y-%m-%d')}; {len(y)} clips with audio.",
        "",
        "| head | C | class-balanced | protocol | clips | accuracy | balanced accuracy |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {r['head']} | {r['C']:g} | {'yes' if r['balanced'] else 'no'} | {r['protocol']} | {r['n']} "
        f"| {r['accuracy']:.3f} | {r['balanced_accuracy']:.3f} |"
        for r in rows
    ]
    (args.out / "head_selection.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
