"""Issue 21, lever 1: how to add mn04 (EfficientAT, AudioSet) to MSD_musicnn's evidence,
chosen by numbers on cached features.

Protocol as :mod:`training.genre.library_experiments`: realmusic's 5 artist-grouped folds,
every GTZAN clip with audio in every training fold (genres balanced, a clip at 0.3 of a
realmusic clip), linear set-valued heads (:mod:`training.genre.sethead`); each fold's
temperature/fusion weights and default threshold are fitted inside its training data
(inner artist-grouped 4-fold CV), so every figure is out-of-fold. Fusions tried:

- ``concat``: one head on [MSD tags + embedding | mn04 features], window-averaged;
- ``late``: a head per tagger; their logits combined as ``a z_msd + b z_mn`` with (a, b)
  fitted (set NLL) on the inner out-of-fold logits — calibrated late fusion;
- ``evidence`` (a flag on either): over a vocabulary with R&B, Folk, Latin and World, each
  of those reads only its own AudioSet genre logits (+ MSD's matching tags), the others
  everything (:data:`AUDIOSET_EVIDENCE`); without it they read everything too. Either way
  the library rule then drops, one at a time, the extra genre whose written precision is
  below 0.80 (or written < 5 times).

mn04 features per window (the cached windows are musicnn's, at 32 kHz): ``pooled`` [384],
``hidden`` [512] and the logits of AudioSet's 146 music classes (``music``, indices
137-282), averaged over the track's windows like MSD's.

    python -m training.genre.fusion_experiments --gtzan ../shared/data/gtzan \\
        --realmusic ../shared/data/realmusic [--features runs/features/w16_m0.1] \\
        [--mn-features runs/features_mn04]

Writes results/fusion_selection.json (+ runs/oof_v5.npz: out-of-fold per-clip
probabilities of the chosen evidence, for album calibration).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from genre_tagger.genres import GTZAN_GENRES

from ..data import grouped_folds
from . import feature_cache, mn04_cache
from . import library_experiments as lx
from .realdata import Example, gtzan_examples, realmusic_examples
from .sethead import (
    choose_threshold,
    fit_set_head,
    fit_temperature,
    own_feature_mask,
    precision_coverage,
    set_mask,
    set_nll,
    softmax,
    top1_correct,
)

MUSIC = slice(137, 283)  # AudioSet's "Music" subtree (instruments, genres, moods)
# AudioSet output -> our genre id: what a weak genre may read in an evidence head
AUDIOSET_EVIDENCE = {
    "rnb": [226, 227, 232],  # Rhythm and blues, Soul music, Funk
    "folk": [233, 231, 264],  # Folk music, Bluegrass, Traditional music
    "latin": [248, 249, 250],  # Music of Latin America, Salsa music, Flamenco
    "world": [256, 257, 260, 261, 262, 234],  # Music of Africa, Afrobeat, Music of Asia, Carnatic, Bollywood, Middle Eastern
}
MSD_EVIDENCE = {"rnb": ["soul", "rnb", "funk"], "folk": ["folk"]}
BASE = list(GTZAN_GENRES) + ["electronic"]
WEAK = ["rnb", "folk", "latin", "world"]


@dataclass(frozen=True)
class Fusion:
    name: str
    msd: tuple[str, ...] = ("msd_logits", "msd_embedding")
    mn: tuple[str, ...] = ()  # pooled | hidden | music | logits (all 527)
    windows: int = 4  # MSD windows (of the 16 cached)
    mn_windows: int = 4  # mn04 windows (a subset of the 16 cached 3-s ones, or all of a cache with fewer); 0 = whole clip
    mn_cache: str = "w16_m0.1_l95232"  # which mn04 cache (mn04_cache's subfolder: windows, margin, window samples)
    mn_subset: tuple[int, ...] = ()  # explicit cached windows (overrides mn_windows); (6, 10) ~ WindowSpec(2, margin=0.3)
    mode: str = "concat"  # concat | late
    evidence: bool = False  # weak genres read only their own AudioSet logits (+ MSD tags)
    tag_evidence: bool = False  # late: in the MSD head, a genre with MSD tags of its own reads only them (v4's gtzan head)
    c: float = 0.03
    c_mn: float = 0.03  # late fusion: the mn04 head's C
    gtzan_weight: float = 0.3
    gtzan_balanced: bool = True

    def cand(self, c: float | None = None) -> lx.Candidate:
        return lx.Candidate(self.name, self.msd, self.windows, c=self.c if c is None else c, gtzan_weight=self.gtzan_weight,
                            gtzan_balanced=self.gtzan_balanced)  # fmt: skip


def msd_names() -> list[str]:
    from .tagger_features import TAG_NAMES

    return [n.split(":", 1)[1] for n in TAG_NAMES if n.startswith("msd:")]


def mn_block(mn: dict[str, np.ndarray], block: str, windows: int) -> np.ndarray:
    if windows == 0:
        src = {"pooled": mn["clip_pooled"], "hidden": mn["clip_hidden"], "logits": mn["clip_logits"], "music": mn["clip_logits"][:, MUSIC]}
        return src[block]
    cached = mn["win_pooled"].shape[1]
    if cached == 16:
        sub = lx.WINDOW_SUBSETS[windows]
    elif windows == cached:
        sub = list(range(cached))
    else:
        raise ValueError(f"{windows} mn04 windows: the cache holds {cached} (use them all) or 16 (subsets)")
    src = {"pooled": mn["win_pooled"], "hidden": mn["win_hidden"], "logits": mn["win_logits"], "music": mn["win_logits"][:, :, MUSIC]}
    return src[block][:, sub].mean(axis=1)


def msd_features(msd: dict[str, np.ndarray], f: Fusion) -> np.ndarray:
    sub = lx.WINDOW_SUBSETS[f.windows]
    return np.concatenate([msd[b][:, sub].mean(axis=1) for b in f.msd], axis=1) if f.msd else np.zeros((len(msd["msd_logits"]), 0))


def mn_features(mns: dict[str, dict[str, np.ndarray]], f: Fusion) -> np.ndarray:
    mn = mns[f.mn_cache]
    if f.mn_subset:
        sub = list(f.mn_subset)
        src = {"pooled": mn["win_pooled"], "hidden": mn["win_hidden"], "logits": mn["win_logits"], "music": mn["win_logits"][:, :, MUSIC]}
        return np.concatenate([src[b][:, sub].mean(axis=1) for b in f.mn], axis=1)
    return np.concatenate([mn_block(mn, b, f.mn_windows) for b in f.mn], axis=1) if f.mn else np.zeros((len(mn["clip_pooled"]), 0))


def msd_features_names(f: Fusion) -> list[str]:
    names = []
    for b in f.msd:
        names += [f"msd:{n}" for n in msd_names()] if b == "msd_logits" else [f"msd_emb:{i}" for i in range(200)]
    return names


def feature_names(f: Fusion) -> list[str]:
    names = msd_features_names(f)
    for b in f.mn:
        k = {"pooled": range(384), "hidden": range(512), "logits": range(527), "music": range(MUSIC.start, MUSIC.stop)}[b]
        names += [f"as:{i}" if b in ("logits", "music") else f"mn_{b}:{i}" for i in k]
    return names


def evidence_mask(genres: list[str], f: Fusion, part: str = "both") -> np.ndarray | None:
    """[G, D]: a weak genre (R&B, Folk, Latin, World) reads only its AudioSet genre logits
    and MSD's matching tags; the others read every feature. None unless ``evidence``.
    ``part``: the features of both taggers (concat), or only "msd" / "mn" (late)."""
    if not f.evidence:
        return None
    names = feature_names(f)
    n_msd = len(msd_features_names(f))
    names = {"both": names, "msd": names[:n_msd], "mn": names[n_msd:]}[part]
    mask = np.ones((len(genres), len(names)), np.float32)
    for gi, g in enumerate(genres):
        if g in AUDIOSET_EVIDENCE:
            own = {f"as:{i}" for i in AUDIOSET_EVIDENCE[g]} | {f"msd:{t}" for t in MSD_EVIDENCE.get(g, [])}
            mask[gi] = [n in own for n in names]
    return mask


def tag_evidence_mask(genres: list[str], f: Fusion) -> np.ndarray:
    """[G, D_msd]: a genre with MSD tags of its own (:data:`tagger_features.EVIDENCE`: blues, country,
    hip-hop, jazz, metal, pop, rock) reads only them; the others every MSD feature."""
    from .tagger_features import EVIDENCE

    return own_feature_mask(genres, msd_features_names(f), EVIDENCE)


@dataclass
class Fitted:
    """A fold's model: the heads, the fusion weights (temperature included) and the threshold."""

    heads: list  # LinearHead per block of features (1 for concat/evidence, 2 for late)
    weights: np.ndarray  # logits = sum_k weights[k] * heads[k].logits(x_k)
    threshold: float

    def logits(self, xs: list[np.ndarray]) -> np.ndarray:
        return sum(w * h.logits(x) for w, h, x in zip(self.weights, self.heads, xs))

    def probs(self, xs: list[np.ndarray]) -> np.ndarray:
        return softmax(self.logits(xs))


def fit_weights(zs: list[np.ndarray], sets: list[frozenset[str]], genres: list[str]) -> np.ndarray:
    """Non-negative weights of the heads' logits minimising the set NLL (one head: 1/temperature)."""
    if len(zs) == 1:
        return np.array([1.0 / fit_temperature(zs[0], sets, genres)])
    import torch

    mask = set_mask(sets, genres)
    keep = mask.sum(1) > 0
    z = torch.tensor(np.stack([a[keep] for a in zs]), dtype=torch.float64)
    m = torch.tensor(mask[keep], dtype=torch.float64)
    grid = np.exp(np.linspace(np.log(0.05), np.log(3.0), 25))
    best = min(((a, b) for a in grid for b in grid), key=lambda ab: float(set_nll(ab[0] * z[0] + ab[1] * z[1], m).mean()))
    return np.array(best)


def _fit_heads(xs, ex, genres, f: Fusion, idx) -> list:
    sets = [ex[i].accepted for i in idx]
    sw = lx.sample_weights([ex[i] for i in idx], f.cand())
    if f.mode == "late":
        m1 = tag_evidence_mask(genres, f) if f.tag_evidence else evidence_mask(genres, f, "msd")
        return [fit_set_head(xs[0][idx], sets, genres, f.c, sw, weight_mask=m1),
                fit_set_head(xs[1][idx], sets, genres, f.c_mn, sw, weight_mask=evidence_mask(genres, f, "mn"))]  # fmt: skip
    x = np.concatenate(xs, axis=1)[idx]
    return [fit_set_head(x, sets, genres, f.c, sw, weight_mask=evidence_mask(genres, f))]


def _head_inputs(xs, f: Fusion, idx) -> list[np.ndarray]:
    return [xs[0][idx], xs[1][idx]] if f.mode == "late" else [np.concatenate(xs, axis=1)[idx]]


INNER_FOLDS = 4


def inner_splits(groups: list[str], n: int = INNER_FOLDS) -> list[list[int]]:
    """The artist-grouped inner folds of a training set: :func:`fit_fold`'s, and the fold ids
    saved with its inner out-of-fold probabilities."""
    return grouped_folds(groups, n, lx.SEED + 1)


def fit_fold(
    xs, ex, genres, f: Fusion, idx: np.ndarray, inner_folds: int = INNER_FOLDS, target: float = lx.WRITE_TARGET,
    domain_only: bool = False,
) -> tuple[Fitted, np.ndarray]:
    """Heads on ``ex[idx]``; fusion weights / temperature and the threshold from inner
    artist-grouped CV on its realmusic clips. Also returns the inner out-of-fold probabilities."""
    real = np.array([i for i in idx if ex[i].is_real])
    oof = [np.zeros((len(real), len(genres))) for _ in range(2 if f.mode == "late" else 1)]
    for fo in inner_splits([ex[i].group for i in real], inner_folds):
        test = real[fo]
        train = np.setdiff1d(idx, test)
        heads = _fit_heads(xs, ex, genres, f, train)
        for k, (h, x) in enumerate(zip(heads, _head_inputs(xs, f, test))):
            oof[k][fo] = h.logits(x)
    sets = [ex[i].accepted for i in real]
    w = fit_weights(oof, sets, genres)
    p = softmax(sum(wk * z for wk, z in zip(w, oof)))
    dom = np.array([bool(s & set(genres)) or not domain_only for s in sets])  # gtzan vocabulary: clips it can name
    thr = choose_threshold(p.max(1)[dom], top1_correct(p, sets, genres)[dom], target)
    return Fitted(_fit_heads(xs, ex, genres, f, idx), w, thr), p


class InnerFold(NamedTuple):
    """One outer fold of :func:`cross_validate`: what its model's settings were fitted on."""

    test: list[int]  # the outer fold's positions among the realmusic clips
    probs: np.ndarray  # inner out-of-fold probabilities of its training realmusic clips
    sets: list[frozenset[str]]  # their accepted sets
    keys: list[str]  # their keys
    fold: np.ndarray  # their inner fold
    threshold: float  # the outer-fold model's default threshold (chosen on ``probs``)


INNER: dict[str, list[InnerFold]] = {}  # fusion name -> its last cross-validation's outer folds


def cross_validate(xs, ex, genres, f: Fusion) -> tuple[np.ndarray, np.ndarray, list[int]]:
    real_idx = np.array([i for i, e in enumerate(ex) if e.is_real])
    real = [ex[i] for i in real_idx]
    probs, thr = np.zeros((len(real), len(genres))), np.zeros(len(real))
    inner = INNER.setdefault(f.name, [])
    inner.clear()
    for fo in lx.real_folds(real):
        test = real_idx[fo]
        train = np.setdiff1d(np.arange(len(ex)), test)
        fitted, p_in = fit_fold(xs, ex, genres, f, train)
        probs[fo] = fitted.probs(_head_inputs(xs, f, test))
        thr[fo] = fitted.threshold
        in_real = [ex[i] for i in train if ex[i].is_real]  # the rows of p_in (fit_fold's order)
        in_fold = np.zeros(len(in_real), int)
        for k, g in enumerate(inner_splits([e.group for e in in_real])):
            in_fold[g] = k
        inner.append(InnerFold(fo, p_in, [e.accepted for e in in_real], [e.key for e in in_real], in_fold, fitted.threshold))
    return probs, thr, list(real_idx)


TARGETS = (0.90, 0.91, 0.92, 0.93, 0.94, 0.95)


def threshold_study(name: str, oof: tuple, ex: list[Example], genres: list[str], bar: float = 0.92) -> dict:
    """Lever 3, nested: for each target T, every outer fold's threshold is the lowest with
    inner out-of-fold written precision >= T (chosen on its training data only); the
    realised written precision / coverage of the outer-fold models on their held-out clips
    says which T keeps a model that never saw a clip at >= ``bar``. The shipped model's
    threshold is then chosen the same way (4-fold OOF on all data) at that T."""
    probs, _, real_idx = oof
    real = [ex[i] for i in real_idx]
    ok = top1_correct(probs, [e.accepted for e in real], genres)
    conf = probs.max(1)
    rows = []
    for t in TARGETS:
        thr = np.zeros(len(real))
        for fold in INNER[name]:
            thr[fold.test] = choose_threshold(fold.probs.max(1), top1_correct(fold.probs, fold.sets, genres), t)
        w = conf >= thr
        per_fold = [float(ok[fo.test][w[fo.test]].mean()) if w[fo.test].any() else None for fo in INNER[name]]
        rows.append({"target": t, "written_precision": float(ok[w].mean()) if w.any() else None, "coverage": float(w.mean()),
                     "thresholds": sorted({round(float(x), 2) for x in thr}), "precision_per_fold": per_fold})  # fmt: skip
    good = [r for r in rows if r["written_precision"] is not None and r["written_precision"] >= bar]
    return {"bar": bar, "targets": rows, "chosen_target": min(r["target"] for r in good) if good else max(TARGETS)}


def curve_figures(probs: np.ndarray, real: list[Example], genres: list[str]) -> dict:
    """Threshold-free figures: precision of the 80 % surest, coverage at precision >= 0.92."""
    ok = top1_correct(probs, [e.accepted for e in real], genres)
    _, prec, _ = precision_coverage(probs.max(1), ok)
    good = np.nonzero(prec >= 0.92)[0]
    return {"precision_at_coverage_0.8": float(prec[int(0.8 * len(ok)) - 1]),
            "coverage_at_precision_0.92": float((good[-1] + 1) / len(ok)) if len(good) else 0.0}  # fmt: skip


def evaluate(msd, mn, ex, genres, f: Fusion) -> tuple[dict, tuple]:
    xs = [msd_features(msd, f), mn_features(mn, f)]
    oof = cross_validate(xs, ex, genres, f)
    probs, thr, real_idx = oof
    real = [ex[i] for i in real_idx]
    res = lx.scores(probs, real, genres, thr)
    res.update(curve_figures(probs, real, genres))
    return res, oof


L10, L6 = "w3_m0.1_l320000", "w4_m0.1_l192000"  # mn04 caches of 3 10-s and 4 6-s windows per clip
FUSIONS = [
    Fusion("msd w4 (today's evidence)"),
    Fusion("mn04 w4 pooled+hidden+music", msd=(), mn=("pooled", "hidden", "music")),
    Fusion("mn04 clip pooled+hidden+music", msd=(), mn=("pooled", "hidden", "music"), mn_windows=0),
    Fusion("concat msd w4 + mn04 w4 music", mn=("music",)),
    Fusion("concat msd w4 + mn04 w4 hidden+music", mn=("hidden", "music")),
    Fusion("concat msd w4 + mn04 w4 pooled+hidden+music", mn=("pooled", "hidden", "music")),
    Fusion("concat msd w4 + mn04 w2 pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=2),
    Fusion("concat msd w4 + mn04 clip pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=0),
    Fusion("late msd w4 | mn04 w4 pooled+hidden+music", mn=("pooled", "hidden", "music"), mode="late"),
    Fusion("late msd w4 | mn04 w4 music", mn=("music",), mode="late", c_mn=0.1),
    # mn04 on 2 of musicnn's 4 windows (centres 0.4, 0.6: WindowSpec(count=2, margin=0.3)): half its cost, no extra decode
    Fusion("late msd w4 | mn04 w2 inner pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_subset=(6, 10), mode="late"),
    Fusion("late msd w4 | mn04 clip pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=0, mode="late"),
    # mn04 was trained on 10-s clips: longer windows (their own caches)
    Fusion("mn04 3x10s pooled+hidden+music", msd=(), mn=("pooled", "hidden", "music"), mn_windows=3, mn_cache=L10),
    Fusion("mn04 4x6s pooled+hidden+music", msd=(), mn=("pooled", "hidden", "music"), mn_windows=4, mn_cache=L6),
    Fusion("concat msd w4 + mn04 3x10s pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=3, mn_cache=L10),
    Fusion("concat msd w4 + mn04 4x6s pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=4, mn_cache=L6),
    Fusion("late msd w4 | mn04 3x10s pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=3, mn_cache=L10, mode="late"),
    Fusion("late msd w4 | mn04 4x6s pooled+hidden+music", mn=("pooled", "hidden", "music"), mn_windows=4, mn_cache=L6, mode="late"),
    Fusion("late msd w4 | mn04 3x10s pooled+hidden+music C_mn=0.01", mn=("pooled", "hidden", "music"), mn_windows=3, mn_cache=L10,
           mode="late", c_mn=0.01),
    Fusion("late msd w4 | mn04 3x10s pooled+hidden+music C_mn=0.1", mn=("pooled", "hidden", "music"), mn_windows=3, mn_cache=L10,
           mode="late", c_mn=0.1),
    Fusion("late msd w4 | mn04 3x10s hidden+music", mn=("hidden", "music"), mn_windows=3, mn_cache=L10, mode="late"),
]  # fmt: skip


# (C, weight of a GTZAN clip) tried for the "gtzan" vocabulary's heads (GTZAN unbalanced: its measure is GTZAN)
GTZAN_GRID = tuple((c, w) for w in (1.0, 3.0, 10.0) for c in (0.03, 0.1, 0.3))
GTZAN_GRID_EV = tuple((c, w, ev) for ev in (False, True) for c, w in GTZAN_GRID)  # + v4's tag-evidence mask (late only)


def gtzan_fusion(f: Fusion, params: tuple) -> Fusion:
    c, w, ev = (*params, False) if len(params) == 2 else params
    return Fusion(**{**asdict(f), "c": c, "c_mn": c, "gtzan_weight": w, "gtzan_balanced": False, "evidence": False,
                     "tag_evidence": bool(ev) and f.mode == "late"})  # fmt: skip


def _gtzan_score(xs, ex, f: Fusion, train_parts: tuple, test_part: str, fitted: bool = False):
    genres = list(GTZAN_GENRES)
    train = np.array([i for i, e in enumerate(ex) if e.is_real or e.group in train_parts])
    test = np.array([i for i, e in enumerate(ex) if not e.is_real and e.group == test_part])
    heads = _fit_heads(xs, ex, genres, f, train)
    w = np.ones(len(heads)) if not fitted else fit_fold(xs, ex, genres, f, train)[0].weights
    z = sum(wk * h.logits(x) for wk, h, x in zip(w, heads, _head_inputs(xs, f, test)))
    y = np.array([genres.index(ex[i].primary) for i in test])
    pred = z.argmax(1)
    bal = float(np.mean([(pred[y == k] == k).mean() for k in np.unique(y)]))
    return float((pred == y).mean()), bal, len(test)


def gtzan_test(msd, mn, ex, f: Fusion, grid: tuple = GTZAN_GRID) -> dict:
    """The "gtzan" vocabulary: (C, GTZAN weight) chosen on the fault-filtered valid clips
    (fitted on filtered train + all realmusic), then fitted on train+valid + realmusic
    (late fusion: weights from inner CV) and scored on the filtered test clips with audio."""
    xs = [msd_features(msd, f), mn_features(mn, f)]
    p = max(grid, key=lambda p: _gtzan_score(xs, ex, gtzan_fusion(f, p), ("train",), "valid")[0])
    acc, bal, n = _gtzan_score(xs, ex, gtzan_fusion(f, p), ("train", "valid"), "test", fitted=True)
    return {"clips": n, "accuracy": acc, "balanced_accuracy": bal, "head": list(p)}


def load_all(gtzan: Path, realmusic: Path, msd_dir: Path, mn_root: Path, mn_caches: list[str]) -> tuple[list[Example], dict, dict]:
    """Examples cached in the MSD cache and in every named mn04 cache (``mn_root/<name>``)."""
    ex = realmusic_examples(realmusic) + gtzan_examples(gtzan)
    dirs = [msd_dir] + [mn_root / c for c in mn_caches]
    have = [e for e in ex if all(feature_cache.cache_file(d, e.key).exists() for d in dirs)]
    if len(have) < len(ex):
        print(f"{len(ex) - len(have)} clips not in every feature cache (undecodable or not yet cached): left out", flush=True)
    keys = [e.key for e in have]
    return have, feature_cache.load(msd_dir, keys), {c: mn04_cache.load(mn_root / c, keys) for c in mn_caches}


def _line(name: str, r: dict) -> str:
    return (f"{name:52s} ext {r['extended_top1']:.3f} g10 {r['gtzan10_top1']:.3f} prec {r['written_precision'] or 0:.3f} "
            f"cov {r['coverage']:.3f} | p@.8 {r['precision_at_coverage_0.8']:.3f} cov@.92 {r['coverage_at_precision_0.92']:.3f} "
            f"ece {r['ece']:.3f}")  # fmt: skip


def select_vocabulary(msd, mn, ex, f: Fusion, extras: list[str]) -> tuple[list[str], list[dict], dict, tuple]:
    """library_experiments' rule on this fusion: drop the worst extra genre while any is below the bar."""
    kept, log = list(extras), []
    while True:
        genres = BASE + kept
        res, oof = evaluate(msd, mn, ex, genres, f)
        worst = lx.genre_to_drop(res["per_genre"], [g for g in kept if g != "electronic"])
        print("  " + _line(f"{f.name} [{len(genres)} genres]", res), flush=True)
        if worst is None:
            return genres, log, res, oof
        pg = res["per_genre"][worst]
        log.append({"dropped": worst, **{k: pg[k] for k in ("written", "written_precision", "predicted", "precision", "clips_accepting")}})
        print(f"  drop {worst}: written precision {pg['written_precision']} on {pg['written']} written "
              f"(top-1 precision {pg['precision']} on {pg['predicted']})", flush=True)  # fmt: skip
        kept.remove(worst)


def save_oof(path: Path, oof: tuple, ex: list[Example], genres: list[str], realmusic: Path, gtzan_oof: tuple | None = None) -> None:
    """Out-of-fold per-clip probabilities for album calibration (no audio, no features):
    ``keys``, ``artist``, ``group``, ``accepted`` (';'-joined ids), ``fold``; per vocabulary
    ``probs`` / ``genres`` / ``threshold`` (library; the fold's default threshold) and, with
    ``gtzan_oof``, ``probs_gtzan`` / ``genres_gtzan`` / ``threshold_gtzan``."""
    import csv

    probs, thr, real_idx = oof
    real = [ex[i] for i in real_idx]
    with open(realmusic / "labels.csv", newline="") as fh:
        artist = {"realmusic/" + r["path"].rsplit(".", 1)[0]: r["artist"] for r in csv.DictReader(fh)}
    extra = {}
    if gtzan_oof is not None:
        extra = {"probs_gtzan": gtzan_oof[0].astype(np.float32), "threshold_gtzan": gtzan_oof[1].astype(np.float32),
                 "genres_gtzan": np.array(list(GTZAN_GENRES))}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, keys=np.array([e.key for e in real]), artist=np.array([artist[e.key] for e in real]),
             group=np.array([e.group for e in real]), genres=np.array(genres), probs=probs.astype(np.float32),
             threshold=thr.astype(np.float32), accepted=np.array([";".join(sorted(e.accepted)) for e in real]),
             fold=np.array(_fold_of(real)), **extra)  # fmt: skip


def save_inner(path: Path, name: str, genres: list[str]) -> None:
    """The inner out-of-fold probabilities of the last cross-validation of fusion ``name``
    (each outer fold's training clips, cross-validated among themselves: what that fold's
    settings were fitted on), in ``albums_eval.inner_oof``'s format: ``keys_<k>``,
    ``probs_<k>``, ``fold_<k>`` (inner fold), ``track_threshold_<k>`` (the outer-fold model's
    default threshold, chosen on those same probabilities), ``genres``."""
    d: dict = {"genres": np.array(genres)}
    for k, fo in enumerate(INNER[name]):
        d.update({f"keys_{k}": np.array(fo.keys), f"probs_{k}": fo.probs.astype(np.float32), f"fold_{k}": fo.fold,
                  f"track_threshold_{k}": np.full(len(fo.keys), fo.threshold, np.float32)})  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **d)


def _fold_of(real: list[Example]) -> list[int]:
    out = [0] * len(real)
    for k, fo in enumerate(lx.real_folds(real)):
        for i in fo:
            out[i] = k
    return out


# AudioSet genre classes -> our ids, for the no-training probe (:func:`mapping_probe`)
AUDIOSET_MAP = {"pop": [216], "hiphop": [217], "rock": [219, 221, 222, 223, 224, 225], "metal": [220], "rnb": [226, 227, 232],
                "reggae": [228, 263], "country": [229, 231], "jazz": [230, 235], "folk": [233], "world": [234, 256, 257, 260, 261, 262],
                "disco": [236], "classical": [237, 238], "electronic": [239, 240, 241, 242, 243, 244, 245, 247], "ambient": [246, 253],
                "latin": [248, 249, 250], "blues": [251], "religious": [258, 259], "soundtrack": [270]}  # fmt: skip


def mapping_probe(mn: dict[str, np.ndarray], ex: list[Example], windows: int = 4) -> dict:
    """No training: each realmusic clip's genre = the id whose AudioSet classes have the
    highest (window-averaged) logit; how often a weak genre is named and how often rightly."""
    real = [i for i, e in enumerate(ex) if e.is_real]
    z = mn_block(mn, "logits", windows)[real]
    ids = list(AUDIOSET_MAP)
    top = np.stack([z[:, AUDIOSET_MAP[g]].max(1) for g in ids], 1).argmax(1)
    out = {}
    for g in WEAK + ["reggae", "blues"]:
        pred = top == ids.index(g)
        ok = np.array([g in ex[i].accepted for i in real])
        out[g] = {"named": int(pred.sum()), "right": int((pred & ok).sum()), "clips_accepting": int(ok.sum()),
                  "precision": float(ok[pred].mean()) if pred.any() else None}  # fmt: skip
    return out


def plots_from_oof(oof_path: Path, target: float, out_dir: Path, title: str) -> dict:
    """Reliability diagram and precision-coverage curve (results/v5/) from the saved
    out-of-fold probabilities; the marked point: the threshold chosen on them at ``target``."""
    from types import SimpleNamespace

    z = np.load(oof_path)
    genres = [str(g) for g in z["genres"]]
    real = [SimpleNamespace(accepted=frozenset(str(a).split(";"))) for a in z["accepted"]]
    probs = z["probs"].astype(np.float64)
    thr = choose_threshold(probs.max(1), top1_correct(probs, [e.accepted for e in real], genres), target)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = lx.plots(probs, real, genres, thr, out_dir, title)
    return {"threshold_on_all_oof": thr, **res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"), help="mn04_cache's --out")
    ap.add_argument("--only", default="", help="comma-separated fusion names (default: all)")
    ap.add_argument("--vocabulary", default="", help="fusion name whose vocabulary to select (evidence heads for the weak genres)")
    ap.add_argument("--gtzan-again", action="store_true", help="only choose the chosen fusion's gtzan head again (grid + tag evidence)")
    ap.add_argument("--save-oof", action="store_true",
                    help="only recompute and save --oof for the chosen fusion (and its inner out-of-fold "
                    "probabilities, <oof>_inner.npz, for albums_eval --shipped-check)")
    ap.add_argument("--plots", type=Path, help="only draw the reliability / precision-coverage plots of --oof into this folder")
    ap.add_argument("--mapping-probe", type=Path, help="write the no-training AudioSet mapping probe (mn04 4 windows) here and stop")
    ap.add_argument("--gtzan-test", action="store_true", help="also the gtzan vocabulary on the fault-filtered test clips")
    ap.add_argument("--out", type=Path, default=Path("results/fusion_selection.json"))
    ap.add_argument("--oof", type=Path, default=Path("runs/oof_v5.npz"))
    args = ap.parse_args()
    if args.gtzan_again:  # the chosen fusion's gtzan vocabulary with the tag-evidence mask in its grid
        out = json.loads(args.out.read_text())
        sel = out["chosen"]
        f = Fusion(**sel["fusion"])
        ex, msd, mn = load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [f.mn_cache])
        gz = gtzan_test(msd, mn, ex, f, GTZAN_GRID_EV)
        gz_cv, _ = evaluate(msd, mn, ex, list(GTZAN_GENRES), gtzan_fusion(f, tuple(gz["head"])))
        sel.update(gtzan_head=gz["head"], gtzan_filtered_test=gz, realmusic_gtzan_vocab=gz_cv)
        args.out.write_text(json.dumps(out, indent=1))
        print(f"gtzan head {gz['head']}: filtered test {gz['accuracy']:.3f} (balanced {gz['balanced_accuracy']:.3f})")
        return
    if args.save_oof:  # the chosen fusion's out-of-fold probabilities of both vocabularies, again
        sel = json.loads(args.out.read_text())["chosen"]
        f = Fusion(**sel["fusion"])
        ex, msd, mn = load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [f.mn_cache])
        _, oof = evaluate(msd, mn, ex, sel["library"], f)
        inner = args.oof.with_name(args.oof.stem + "_inner.npz")
        save_inner(inner, f.name, sel["library"])  # for albums_eval --shipped-check
        print(f"wrote {inner}")
        _, gz_oof = evaluate(msd, mn, ex, list(GTZAN_GENRES), gtzan_fusion(f, tuple(sel["gtzan_head"])))
        save_oof(args.oof, oof, ex, sel["library"], args.realmusic, gz_oof)
        print(f"wrote {args.oof}")
        return
    if args.plots:
        sel = json.loads(args.out.read_text())
        title = "v5 library vocabulary (MSD_musicnn + mn04, late fusion)\nout-of-fold, artist-grouped 5-fold"
        sel["chosen"]["plots"] = plots_from_oof(args.oof, sel["chosen"]["threshold_target"], args.plots, title)
        args.out.write_text(json.dumps(sel, indent=1))
        print(sel["chosen"]["plots"])
        return
    if args.mapping_probe:
        ex, _, mn = load_all(args.gtzan, args.realmusic, args.features, args.mn_features, [FUSIONS[1].mn_cache])
        probe = {"command": "python -m training.genre.fusion_experiments ... --mapping-probe FILE",
                 "what": "no training: top id by the max AudioSet logit of its classes (AUDIOSET_MAP), mn04 on 4 windows of 2.98 s",
                 "genres": mapping_probe(mn[FUSIONS[1].mn_cache], ex)}  # fmt: skip
        args.mapping_probe.write_text(json.dumps(probe, indent=1))
        print(json.dumps(probe["genres"]))
        return
    todo = [f for f in FUSIONS if not args.only or f.name in args.only.split(",")]
    vf = next((f for f in FUSIONS if f.name == args.vocabulary), None)
    caches = sorted({f.mn_cache for f in todo + ([vf] if vf else [])})
    ex, msd, mn = load_all(args.gtzan, args.realmusic, args.features, args.mn_features, caches)
    out = json.loads(args.out.read_text()) if args.out.exists() else {}
    out.update(command="python -m training.genre.fusion_experiments --gtzan <GTZAN> --realmusic <realmusic>",
               machine=f"{platform.machine()}, {os.cpu_count()} cores, no GPU (shared with other work)",
               clips={"gtzan": sum(not e.is_real for e in ex), "realmusic": sum(e.is_real for e in ex)})  # fmt: skip
    rows = out.setdefault("fusions", {})
    for f in todo:
        t0 = time.time()
        res, _ = evaluate(msd, mn, ex, BASE, f)
        res["gtzan_filtered_test"] = gtzan_test(msd, mn, ex, f) if args.gtzan_test else None
        rows[f.name] = {"fusion": asdict(f), "vocabulary": BASE, **{k: v for k, v in res.items()}}
        g = res["gtzan_filtered_test"]
        print(_line(f.name, res) + (f" gtzan-test {g['accuracy']:.3f}" if g else "") + f" ({time.time() - t0:.0f} s)", flush=True)
        args.out.write_text(json.dumps(out, indent=1))
    if vf is not None:
        vocab, oofs = {}, {}
        for ev in (True, False):
            f = Fusion(**{**asdict(vf), "evidence": ev, "name": f"{vf.name} [{'evidence' if ev else 'open'} heads for {'/'.join(WEAK)}]"})
            genres, dropped, res, oof = select_vocabulary(msd, mn, ex, f, WEAK)
            vocab[f.name] = {"fusion": asdict(f), "library": genres, "dropped": dropped, "result": res}
            oofs[f.name] = (f, genres, oof, res)
            out["vocabulary"] = vocab
            args.out.write_text(json.dumps(out, indent=1))
        # the rule: the higher out-of-fold extended top-1 (ties: more genres)
        name = max(oofs, key=lambda k: (oofs[k][3]["extended_top1"], len(oofs[k][1])))
        f, genres, oof, res = oofs[name]
        save_oof(args.oof, oof, ex, genres, args.realmusic)
        study = threshold_study(name, oof, ex, genres)
        gz = gtzan_test(msd, mn, ex, f, GTZAN_GRID_EV if f.mode == "late" else GTZAN_GRID)
        gz_cv, gz_oof = evaluate(msd, mn, ex, list(GTZAN_GENRES), gtzan_fusion(f, tuple(gz["head"])))
        save_oof(args.oof, oof, ex, genres, args.realmusic, gz_oof)
        print(f"chosen: {name}; library {genres}; threshold target {study['chosen_target']}; gtzan test {gz['accuracy']:.3f}", flush=True)
        out["threshold"] = study
        out["chosen"] = {"name": name, "fusion": asdict(f), "library": genres, "threshold_target": study["chosen_target"],
                         "gtzan_head": gz["head"], "gtzan_filtered_test": gz, "realmusic_library": res,
                         "realmusic_gtzan_vocab": gz_cv, "oof": str(args.oof)}  # fmt: skip
        args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
