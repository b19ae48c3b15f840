"""Issue 21, vocabulary: can a one-vs-rest detector name R&B, Folk, Latin or World at the
library vocabulary's bar (written precision >= .80, out of fold)?

In the softmax over set-valued labels these genres are (almost) never the top genre
(results/MODEL.md, *Which genres the library vocabulary names*), so nothing was written
and nothing could be measured. A detector asks each genre alone: a logistic regression,
genre vs rest, on the chosen v5 fusion's features (musicnn: MSD tags + embedding, 4
windows; mn04: pooled + hidden + music logits, 2 windows), in two forms:

- ``open``: every feature (standardised), L2 with C from a small grid chosen on inner folds;
- ``evidence``: only the genre's own AudioSet genre logits and MSD tags
  (``fusion_experiments.AUDIOSET_EVIDENCE`` / ``MSD_EVIDENCE``).

Protocol as every realmusic figure: realmusic's 5 artist-grouped folds, every GTZAN clip
with audio in every training fold (a negative: its one label is one of the ten); per outer
fold the C and the detector's threshold are chosen on inner artist-grouped out-of-fold
probabilities of its training clips (the lowest threshold whose inner written precision is
>= --target with at least --min-support written). Scored on the held-out clips: how many
a detector writes, how many of those accept the genre. A genre could join the vocabulary
only with out-of-fold precision >= .80 on >= 5 written clips (the vocabulary rule).

    python -m training.genre.weak_detectors --gtzan ../shared/data/gtzan --realmusic ../shared/data/realmusic \\
        [--out results/weak_detectors.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ..data import grouped_folds
from . import fusion_experiments as fx
from .sethead import choose_threshold

CS = (0.003, 0.01, 0.03)


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0) + 1e-6
    m = LogisticRegression(C=c, max_iter=2000).fit((x - mu) / sd, y)
    return m, mu, sd


def _predict(fit: tuple, x: np.ndarray) -> np.ndarray:
    m, mu, sd = fit
    return m.predict_proba((x - mu) / sd)[:, 1]


def inner_oof(x, y, groups, train: np.ndarray, real: np.ndarray, c: float, seed: int) -> np.ndarray:
    """Out-of-fold probabilities of the realmusic clips among ``train`` (GTZAN always trains)."""
    p = np.zeros(len(real))
    for fo in grouped_folds([groups[i] for i in real], 4, seed):
        held = real[fo]
        fit_on = np.setdiff1d(train, held)
        p[fo] = _predict(_fit(x[fit_on], y[fit_on], c), x[held])
    return p


def detector_cv(x: np.ndarray, y: np.ndarray, ex: list, target: float, min_support: int) -> dict:
    groups = [e.group for e in ex]
    real_idx = np.array([i for i, e in enumerate(ex) if e.is_real])
    real = [ex[i] for i in real_idx]
    p_out = np.zeros(len(real_idx))
    written = np.zeros(len(real_idx), bool)
    folds = []
    for fo in fx.lx.real_folds(real):
        test = real_idx[fo]
        train = np.setdiff1d(np.arange(len(ex)), test)
        in_real = np.array([i for i in train if ex[i].is_real])
        best = None
        for c in CS:  # C by inner average precision of the written clips at the target (ties: inner AUC)
            p_in = inner_oof(x, y, groups, train, in_real, c, fx.lx.SEED + 1)
            thr = choose_threshold(p_in, y[in_real].astype(bool), target, min_support)
            w = p_in >= thr
            auc = roc_auc_score(y[in_real], p_in) if 0 < y[in_real].sum() < len(in_real) else 0.5
            key = (int(w.sum()) if thr < 1.0 else 0, auc)
            if best is None or key > best[0]:
                best = (key, c, thr)
        _, c, thr = best
        p_out[fo] = _predict(_fit(x[train], y[train], c), x[test])
        written[fo] = p_out[fo] >= thr
        folds.append({"C": c, "threshold": thr, "written": int(written[fo].sum()), "right": int((written[fo] & (y[test] == 1)).sum())})
    yr = y[real_idx].astype(bool)
    n_w = int(written.sum())
    return {
        "clips_accepting": int(yr.sum()),
        "auc_out_of_fold": round(float(roc_auc_score(yr, p_out)), 3),
        "written": n_w,
        "right": int((written & yr).sum()),
        "written_precision": round(float(yr[written].mean()), 3) if n_w else None,
        "precision_of_top_10": round(float(yr[np.argsort(-p_out)[:10]].mean()), 3),
        "folds": folds,
        "joins": bool(n_w >= 5 and yr[written].mean() >= 0.80),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"))
    ap.add_argument("--selection", type=Path, default=Path("results/fusion_selection.json"))
    ap.add_argument("--target", type=float, default=0.80)
    ap.add_argument("--min-support", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("results/weak_detectors.json"))
    args = ap.parse_args()
    t0 = time.time()
    f = fx.Fusion(**json.loads(args.selection.read_text())["chosen"]["fusion"])
    ex, msd, mn = fx.load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [f.mn_cache])
    x = np.concatenate([fx.msd_features(msd, f), fx.mn_features(mn, f)], axis=1)
    names = fx.feature_names(f)
    out: dict = {"command": "python -m training.genre.weak_detectors --gtzan <GTZAN> --realmusic <realmusic>",
                 "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU", "fusion": f.name,
                 "target": args.target, "min_support": args.min_support, "genres": {}}  # fmt: skip
    for g in fx.WEAK:
        y = np.array([g in e.accepted for e in ex], int)
        own = {f"as:{i}" for i in fx.AUDIOSET_EVIDENCE[g]} | {f"msd:{t}" for t in fx.MSD_EVIDENCE.get(g, [])}
        cols = [k for k, n in enumerate(names) if n in own]
        res = {"open": detector_cv(x, y, ex, args.target, args.min_support),
               "evidence": detector_cv(x[:, cols], y, ex, args.target, args.min_support)}  # fmt: skip
        res["evidence"]["features"] = [names[k] for k in cols]
        out["genres"][g] = res
        for kind, r in res.items():
            print(f"{g:6s} {kind:8s} accepting {r['clips_accepting']:3d} auc {r['auc_out_of_fold']:.3f} written {r['written']:3d} "
                  f"right {r['right']:3d} precision {r['written_precision']} top-10 {r['precision_of_top_10']} joins {r['joins']} "
                  f"({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
    out["seconds"] = round(time.time() - t0)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
