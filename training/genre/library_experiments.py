"""Choose the genre heads and the library vocabulary by numbers, on cached tagger outputs.

Protocol (realmusic/README.md; issue 13): 5-fold cross-validation on realmusic grouped by
artist, every GTZAN clip with audio in every training fold; heads are linear softmax
layers on window-averaged tagger outputs fitted to the clips' accepted *sets*
(:mod:`training.genre.sethead`); the temperature and the default threshold of each fold
are fitted inside the fold (inner grouped 4-fold CV on its training clips), so every
reported figure is out-of-fold. The GTZAN measure: the "gtzan" head fitted on the
fault-filtered train+valid GTZAN clips + all realmusic, scored on the filtered test clips.

    python -m training.genre.library_experiments --gtzan ../shared/data/gtzan \\
        --realmusic ../shared/data/realmusic [--features runs/features/w16_m0.1]

Writes results/library_selection.{md,json}. The shipped figures come from the app path
(:mod:`training.genre.evaluate_realmusic`); these select the candidate and vocabulary.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from genre_tagger.genres import GTZAN_GENRES

from ..data import grouped_folds
from . import feature_cache
from .library_model import HeadSpec, ModelSpec
from .realdata import Example, gtzan_examples, gtzan_top1_eligible, realmusic_examples
from .sethead import (
    LinearHead,
    choose_threshold,
    ece,
    fit_set_head,
    fit_temperature,
    own_feature_mask,
    precision_coverage,
    reliability_bins,
    softmax,
    top1_correct,
)
from .tagger_features import EVIDENCE, block_names

# subsets of the 16 cached windows (centres 0.125, 0.175, ... 0.875 of the track) that
# approximate a WindowSpec(count=K, margin=0.1) (centres within 0.75 s of K's own)
WINDOW_SUBSETS = {1: [8], 2: [4, 12], 4: feature_cache.MTT_WINDOWS, 6: [1, 4, 6, 9, 11, 14], 8: list(range(1, 16, 2)), 16: list(range(16))}
EXTRA_CANDIDATES = ["electronic", "rnb", "folk", "latin", "punk", "ambient", "world", "soundtrack", "experimental",
                    "easylistening", "religious"]  # fmt: skip
N_FOLDS, SEED = 5, 0
PRECISION_BAR = 0.80  # an extra genre stays in the library vocabulary only at this written precision
MIN_PREDICTED = 5  # ... measured on at least this many clips written as it
WRITE_TARGET = 0.93  # default threshold: written precision on realmusic in inner CV (0.92 realised 0.88-0.90 in the outer folds)


@dataclass(frozen=True)
class Candidate:
    """Features: window-averaged outputs of the named tagger blocks over their windows."""

    name: str
    blocks: tuple[str, ...]  # msd_logits | msd_embedding | mtt_logits | mtt_embedding
    windows: int = 4  # windows per track (the MSD tagger's)
    mtt_windows: int = 0  # windows the MTT tagger sees (every (windows // mtt_windows)-th); 0 = none
    c: float = 0.1
    gtzan_weight: float = 1.0  # weight of a GTZAN clip relative to a realmusic clip
    gtzan_balanced: bool = False  # GTZAN clips weighted so that each of its genres weighs the same
    evidence: bool = False  # a genre with a tag of its own reads only that tag (tagger_features.EVIDENCE)

    def uses_mtt(self) -> bool:
        return any(b.startswith("mtt") for b in self.blocks)


def evidence_mask(genres: list[str], cand: Candidate) -> np.ndarray | None:
    """[G, D] 0/1: a genre with evidence tags among the features (:data:`tagger_features.EVIDENCE`,
    e.g. rock <- msd:rock, msd:classic rock, msd:hard rock) may use only those; the
    others (classical, disco, reggae, electronic …) use every feature. None = no mask."""
    if not cand.evidence:
        return None
    return own_feature_mask(genres, block_names(cand.blocks), EVIDENCE)


def mtt_subset(windows: int, mtt_windows: int) -> list[int]:
    """Positions among a track's ``windows`` windows the MTT tagger sees (graph: ``[::step]``)."""
    step = max(1, windows // mtt_windows)
    return list(range(0, windows, step))[:mtt_windows]


def features(cache: dict[str, np.ndarray], cand: Candidate) -> np.ndarray:
    """[n, D]: each block averaged over its windows (cache arrays are [n, 16, dim])."""
    sub = WINDOW_SUBSETS[cand.windows]
    parts = []
    for b in cand.blocks:
        if b.startswith("mtt"):  # cached on the 4 windows of WINDOW_SUBSETS[4] only
            if cand.windows != 4:
                raise ValueError("MTT features are cached for 4 windows per track only")
            idx = mtt_subset(cand.windows, cand.mtt_windows)
        else:
            idx = sub
        parts.append(cache[b][:, idx].mean(axis=1))
    return np.concatenate(parts, axis=1)


def real_folds(real: list[Example], n_folds: int = N_FOLDS, seed: int = SEED) -> list[list[int]]:
    return grouped_folds([e.group for e in real], n_folds, seed)


def sample_weights(ex: list[Example], cand: Candidate) -> np.ndarray:
    """1 per realmusic clip; ``gtzan_weight`` per GTZAN clip on average, per genre equal
    when ``gtzan_balanced`` (the GTZAN audio we have is 100 blues + 100 jazz + 132 others)."""
    w = np.ones(len(ex))
    gz = [i for i, e in enumerate(ex) if not e.is_real]
    if gz:
        counts = collections.Counter(ex[i].primary for i in gz)
        for i in gz:
            w[i] = cand.gtzan_weight * (len(gz) / (len(counts) * counts[ex[i].primary]) if cand.gtzan_balanced else 1.0)
    return w


@dataclass
class FoldModel:
    head: LinearHead
    threshold: float


def fit_calibrated(
    x: np.ndarray, ex: list[Example], genres: list[str], cand: Candidate, inner_folds: int = 4,
    target: float = WRITE_TARGET, domain_only: bool = False,
) -> FoldModel:
    """Head on all of ``ex``; temperature and threshold from inner artist-grouped CV on its
    realmusic clips (GTZAN clips in every inner training fold). The threshold is chosen on
    every realmusic clip (as the README scores the default vocabulary) or, with
    ``domain_only``, on those whose accepted set holds one of ``genres`` (for the "gtzan"
    vocabulary: what it can name at all)."""  # fmt: skip
    sw = sample_weights(ex, cand)
    sets = [e.accepted for e in ex]
    real_idx = np.array([i for i, e in enumerate(ex) if e.is_real])
    oof = np.zeros((len(real_idx), len(genres)))
    for f in grouped_folds([ex[i].group for i in real_idx], inner_folds, SEED + 1):
        test = real_idx[f]
        train = np.setdiff1d(np.arange(len(ex)), test)
        h = fit_set_head(x[train], [sets[i] for i in train], genres, cand.c, sw[train], weight_mask=evidence_mask(genres, cand))
        oof[f] = h.logits(x[test])
    real_sets = [sets[i] for i in real_idx]
    t = fit_temperature(oof, real_sets, genres)
    p = softmax(oof / t)
    dom = np.array([bool(s & set(genres)) or not domain_only for s in real_sets])
    thr = choose_threshold(p.max(1)[dom], top1_correct(p, real_sets, genres)[dom], target)
    head = fit_set_head(x, sets, genres, cand.c, sw, weight_mask=evidence_mask(genres, cand))
    head.temperature = t
    return FoldModel(head, thr)


def fit_spec(
    cache: dict[str, np.ndarray], ex: list[Example], cand: Candidate, library: list[str], gtzan_params: tuple
) -> ModelSpec:
    """The exportable model fitted on ``ex``: a calibrated "library" head over ``library``
    and a calibrated "gtzan" head over the ten (:func:`gtzan_head` with ``gtzan_params``),
    thresholds from inner grouped CV."""
    x = features(cache, cand)
    heads = []
    for vocab, genres, hc in (("library", library, cand), ("gtzan", list(GTZAN_GENRES), gtzan_head(cand, gtzan_params))):
        fm = fit_calibrated(x, ex, genres, hc, domain_only=vocab == "gtzan")
        w, b = fm.head.folded()
        heads.append(HeadSpec(vocab, list(genres), w, b, fm.threshold, fm.head.temperature))
    prov = {"candidate": asdict(cand), "gtzan_head": list(gtzan_params), "training_clips": {"gtzan": sum(not e.is_real for e in ex),
            "realmusic": sum(e.is_real for e in ex)}}  # fmt: skip
    return ModelSpec(cand.blocks, cand.windows, cand.mtt_windows if cand.uses_mtt() else 0, heads, prov)


def scores(probs: np.ndarray, ex: list[Example], genres: list[str], thr: np.ndarray) -> dict:
    """realmusic/README.md's figures for the top genre of ``probs`` (+ ECE, per genre),
    written = top confidence >= the clip's threshold ``thr`` (its fold's)."""
    sets = [e.accepted for e in ex]
    top = probs.argmax(1)
    conf = probs.max(1)
    ok = top1_correct(probs, sets, genres)
    gz = np.array([gtzan_top1_eligible(e) for e in ex])
    gz_ok = np.array([genres[t] == e.gtzan for t, e in zip(top, ex)])
    written = conf >= thr
    per_genre = {}
    for gi, g in enumerate(genres):
        pred = top == gi
        w = written & pred
        per_genre[g] = {"predicted": int(pred.sum()), "precision": float(ok[pred].mean()) if pred.any() else None,
                        "clips_accepting": int(sum(g in s for s in sets)), "written": int(w.sum()),
                        "written_precision": float(ok[w].mean()) if w.any() else None}  # fmt: skip
    return {
        "clips": len(ex),
        "extended_top1": float(ok.mean()),
        "gtzan10_top1": float(gz_ok[gz].mean()) if gz.any() else None,
        "gtzan10_clips": int(gz.sum()),
        "written_precision": float(ok[written].mean()) if written.any() else None,
        "coverage": float(written.mean()),
        "ece": ece(conf, ok),
        "per_genre": per_genre,
        "threshold_per_fold": sorted({round(float(t), 2) for t in thr}),
    }


def cross_validate(
    cache: dict[str, np.ndarray], ex: list[Example], genres: list[str], cand: Candidate
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Out-of-fold calibrated probabilities and per-clip thresholds for the realmusic clips."""
    x = features(cache, cand)
    real_idx = np.array([i for i, e in enumerate(ex) if e.is_real])
    real = [ex[i] for i in real_idx]
    probs = np.zeros((len(real), len(genres)))
    thr = np.zeros(len(real))
    for f in real_folds(real):
        test = real_idx[f]
        train = np.setdiff1d(np.arange(len(ex)), test)
        fm = fit_calibrated(x[train], [ex[i] for i in train], genres, cand)
        probs[f] = fm.head.probs(x[test])
        thr[f] = fm.threshold
    return probs, thr, list(real_idx)


def evaluate(cache, ex, genres, cand) -> dict:
    return summarise(cross_validate(cache, ex, genres, cand), ex, genres, cand)


def summarise(oof: tuple[np.ndarray, np.ndarray, list[int]], ex, genres, cand) -> dict:
    """:func:`scores` of :func:`cross_validate`'s out-of-fold results."""
    probs, thr, real_idx = oof
    real = [ex[i] for i in real_idx]
    res = {"all": scores(probs, real, genres, thr)}
    if cand.uses_mtt():  # Emotify is Magnatune, which MTT_musicnn was trained on
        keep = np.array([e.source != "emotify" for e in real])
        res["without_emotify"] = scores(probs[keep], [e for e, k in zip(real, keep) if k], genres, thr[keep])
    return res


# (C, weight of a GTZAN clip, evidence mask) tried for the "gtzan" head
GTZAN_HEAD_GRID = tuple((c, w, ev) for ev in (False, True) for w in (1.0, 3.0, 10.0, 30.0) for c in (0.03, 0.1, 0.3, 1.0))


def gtzan_head(cand: Candidate, params: tuple) -> Candidate:
    """The "gtzan" vocabulary's head: the library head's features, unbalanced GTZAN
    clips (its measure is GTZAN) and its own (C, GTZAN weight, evidence mask)."""
    c, w, ev = params
    return replace(cand, gtzan_weight=w, gtzan_balanced=False, c=c, evidence=bool(ev))


def _gtzan_fit_score(x, ex, cand, train_parts, test_part) -> float:
    genres = list(GTZAN_GENRES)
    train = [i for i, e in enumerate(ex) if e.is_real or e.group in train_parts]
    test = [i for i, e in enumerate(ex) if not e.is_real and e.group == test_part]
    h = fit_set_head(x[train], [ex[i].accepted for i in train], genres, cand.c, sample_weights([ex[i] for i in train], cand),
                     weight_mask=evidence_mask(genres, cand))
    pred = h.logits(x[test]).argmax(1)
    y = np.array([genres.index(ex[i].primary) for i in test])
    return float((pred == y).mean())


def choose_gtzan_head(cache, ex, cand) -> tuple:
    """(C, GTZAN weight) of the "gtzan" head: best accuracy on the fault-filtered *valid*
    clips, fitted on filtered train + all realmusic (the test clips stay unseen)."""
    x = features(cache, cand)
    return max(GTZAN_HEAD_GRID, key=lambda p: _gtzan_fit_score(x, ex, gtzan_head(cand, p), ("train",), "valid"))


def gtzan_test(cache, ex, cand) -> dict:
    """The "gtzan" head (settings from :func:`choose_gtzan_head`) fitted on filtered
    train+valid GTZAN + all realmusic; accuracy on the filtered test clips with audio."""
    p = choose_gtzan_head(cache, ex, cand)
    x = features(cache, cand)
    acc = _gtzan_fit_score(x, ex, gtzan_head(cand, p), ("train", "valid"), "test")
    return {"clips": sum(not e.is_real and e.group == "test" for e in ex), "accuracy": acc, "head": list(p)}


def genre_to_drop(per_genre: dict, extras: list[str]) -> str | None:
    """The vocabulary rule: the extra genre with the lowest *written* precision (share of
    the clips the app writes it for, at the default threshold, whose accepted set holds
    it) among those below PRECISION_BAR; a genre written for fewer than MIN_PREDICTED
    clips counts as unmeasured, i.e. below. None when every extra genre passes."""
    worst, worst_p = None, 2.0
    for g in extras:
        pg = per_genre[g]
        p = pg["written_precision"] if pg["written"] >= MIN_PREDICTED and pg["written_precision"] is not None else -1.0
        if p < PRECISION_BAR and p < worst_p:
            worst, worst_p = g, p
    return worst


def select_vocabulary(cache, ex, cand, extras: list[str]) -> tuple[list[str], list[dict], tuple]:
    """Drop, one at a time, the extra genre :func:`genre_to_drop` names, refitting after
    each drop, until every extra genre passes. Returns the vocabulary, the drops and its
    :func:`cross_validate` results."""
    kept, log = list(extras), []
    while True:
        genres = list(GTZAN_GENRES) + kept
        oof = cross_validate(cache, ex, genres, cand)
        res = summarise(oof, ex, genres, cand)["all"]
        worst = genre_to_drop(res["per_genre"], kept)
        if worst is None:
            return genres, log, oof
        pg = res["per_genre"][worst]
        log.append({"dropped": worst, **pg, "vocabulary_before": genres, "extended_top1_before": res["extended_top1"]})
        print(f"  drop {worst}: written precision {pg['written_precision']} on {pg['written']} written "
              f"(top-1 precision {pg['precision']} on {pg['predicted']})", flush=True)  # fmt: skip
        kept.remove(worst)


CANDIDATES = [
    Candidate("msd-tags w4", ("msd_logits",), 4, c=0.1),
    Candidate("msd-tags+emb w4", ("msd_logits", "msd_embedding"), 4, c=0.1),
    Candidate("msd-tags+emb w4 C=0.03", ("msd_logits", "msd_embedding"), 4, c=0.03),
    Candidate("msd-tags+emb w6", ("msd_logits", "msd_embedding"), 6, c=0.1),
    Candidate("msd-tags+emb w16", ("msd_logits", "msd_embedding"), 16, c=0.1),
    Candidate("msd+mtt tags w4/1", ("msd_logits", "mtt_logits"), 4, 1, c=0.1),
    Candidate("msd+mtt tags+emb w4/1", ("msd_logits", "msd_embedding", "mtt_logits", "mtt_embedding"), 4, 1, c=0.1),
    Candidate("msd+mtt tags+emb w4/2", ("msd_logits", "msd_embedding", "mtt_logits", "mtt_embedding"), 4, 2, c=0.1),
    Candidate("msd-tags+emb w4 gtzan×0.3", ("msd_logits", "msd_embedding"), 4, c=0.1, gtzan_weight=0.3),
    Candidate("msd-tags+emb w4 gtzan-bal×0.5", ("msd_logits", "msd_embedding"), 4, c=0.1, gtzan_weight=0.5, gtzan_balanced=True),
    Candidate("msd-tags+emb w4 gtzan-bal×0.3", ("msd_logits", "msd_embedding"), 4, c=0.1, gtzan_weight=0.3, gtzan_balanced=True),
    Candidate("msd-tags+emb w4 gtzan-bal×0.3 C=0.03", ("msd_logits", "msd_embedding"), 4, c=0.03, gtzan_weight=0.3,
              gtzan_balanced=True),
]


@dataclass
class Selection:
    command: str
    machine: str
    candidates: list[dict] = field(default_factory=list)
    vocabulary: dict = field(default_factory=dict)


def load_all(gtzan: Path, realmusic: Path, features_dir: Path) -> tuple[list[Example], dict[str, np.ndarray]]:
    ex = realmusic_examples(realmusic) + gtzan_examples(gtzan)
    have = [e for e in ex if feature_cache.cache_file(features_dir, e.key).exists()]
    if len(have) < len(ex):
        print(f"{len(ex) - len(have)} clips not in the feature cache (undecodable or not yet cached): left out")
    return have, feature_cache.load(features_dir, [e.key for e in have])


# model time per window, ONNX Runtime, 1 thread (pruned taggers; MSD: benchmarks/model_speed.py, 25 ms for 4
# windows; MTT: 314 of 561 front-end filters live, ~3x MSD's per-window cost in PyTorch)
MS_PER_WINDOW = {"msd": 6.5, "mtt": 20.0}
# the scan must not get slower (issue 13): every extra window costs ~12 ms of decoding and ~6.5 ms of
# model time per track, so the budget is today's per-track model cost (4 MSD windows), not the 60 ms cap
BUDGET_MS = 30.0


def estimated_ms(cand: Candidate) -> float:
    return cand.windows * MS_PER_WINDOW["msd"] + (cand.mtt_windows * MS_PER_WINDOW["mtt"] if cand.uses_mtt() else 0.0)


def choose(rows: list[dict]) -> dict:
    """The rule: highest out-of-fold extended top-1 among candidates within the scan-speed budget."""
    ok = [r for r in rows if r["estimated_ms"] <= BUDGET_MS]
    return max(ok, key=lambda r: r["realmusic"]["all"]["extended_top1"])


def plots(probs: np.ndarray, ex: list[Example], genres: list[str], threshold: float, out: Path, title: str) -> dict:
    """Reliability diagram and precision-vs-coverage curve of out-of-fold probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = probs.max(1)
    ok = top1_correct(probs, [e.accepted for e in ex], genres)
    mids, accs, counts = reliability_bins(conf, ok)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.plot(mids, accs, "o-", label=f"model (ECE {ece(conf, ok):.3f})")
    for m, a, c in zip(mids, accs, counts):
        ax.annotate(str(c), (m, a), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("confidence of the top genre (calibrated)"), ax.set_ylabel("share correct (top genre accepted)")
    ax.set_title(f"Reliability, {title}", fontsize=9), ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout(), fig.savefig(out / "reliability.png", dpi=110), plt.close(fig)
    t, prec, cov = precision_coverage(conf, ok)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(cov, prec, lw=1.5)
    k = int(np.searchsorted(-t, -threshold, side="right")) - 1
    if k >= 0:
        ax.plot([cov[k]], [prec[k]], "ro", label=f"min_confidence {threshold:.2f}: precision {prec[k]:.3f}, coverage {cov[k]:.3f}")
    ax.axhline(0.92, color="grey", ls=":", lw=1), ax.axvline(0.80, color="grey", ls=":", lw=1)
    ax.set_xlabel("coverage (share of clips written)"), ax.set_ylabel("written precision")
    ax.set_ylim(0.5, 1.0), ax.set_title(f"Precision vs coverage, {title}", fontsize=9), ax.legend(fontsize=8)
    fig.tight_layout(), fig.savefig(out / "precision_coverage.png", dpi=110), plt.close(fig)
    return {"reliability_bins": {"confidence": [float(m) for m in mids], "accuracy": [float(a) for a in accs], "clips": counts}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--only", default="", help="comma-separated candidate names")
    ap.add_argument("--out", type=Path, default=Path("results/library_selection.json"))
    args = ap.parse_args()
    ex, cache = load_all(args.gtzan, args.realmusic, args.features)
    sel = Selection(command="python -m training.genre.library_experiments --gtzan <GTZAN> --realmusic <realmusic>",
                    machine=f"{platform.machine()}, {os.cpu_count()} cores, no GPU (shared with other work)")  # fmt: skip
    base = list(GTZAN_GENRES) + ["electronic", "rnb", "folk"]
    cands = [c for c in CANDIDATES if not args.only or c.name in args.only.split(",")]
    for cand in cands:
        t0 = time.time()
        row = {"candidate": asdict(cand), "name": cand.name, "estimated_ms": estimated_ms(cand), "vocabulary": base,
               "realmusic": evaluate(cache, ex, base, cand), "gtzan_filtered_test": gtzan_test(cache, ex, cand)}  # fmt: skip
        a = row["realmusic"]["all"]
        print(f"{cand.name:32s} ext {a['extended_top1']:.3f} g10 {a['gtzan10_top1']:.3f} "
              f"prec {a['written_precision']:.3f} cov {a['coverage']:.3f} ece {a['ece']:.3f} "
              f"gtzan-test {row['gtzan_filtered_test']['accuracy']:.3f} ~{row['estimated_ms']:.0f} ms "
              f"({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
        sel.candidates.append(row)
    best = choose(sel.candidates)
    cand = next(c for c in CANDIDATES if c.name == best["name"])
    print(f"chosen: {cand.name}; selecting the library vocabulary from {EXTRA_CANDIDATES}", flush=True)
    library, dropped, oof = select_vocabulary(cache, ex, cand, EXTRA_CANDIDATES)
    final = summarise(oof, ex, library, cand)  # the library's cross-validation, not run again
    gtz = evaluate(cache, ex, list(GTZAN_GENRES), gtzan_head(cand, tuple(best["gtzan_filtered_test"]["head"])))
    probs, thr, real_idx = oof
    real = [ex[i] for i in real_idx]
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    th_all = choose_threshold(probs.max(1), top1_correct(probs, [e.accepted for e in real], library), WRITE_TARGET)
    curves = plots(probs, real, library, th_all, out_dir, f"library vocabulary\n{cand.name}, out-of-fold, artist-grouped 5-fold")
    sel.vocabulary = {"tried": EXTRA_CANDIDATES, "dropped": dropped, "library": library}
    sel_d = asdict(sel)
    sel_d["chosen"] = {"candidate": cand.name, "library": library, "gtzan_head": best["gtzan_filtered_test"]["head"],
                       "realmusic_library": final,
                       "realmusic_gtzan_vocab": gtz, "threshold_on_all_oof": th_all, **curves}  # fmt: skip
    args.out.write_text(json.dumps(sel_d, indent=1))
    print(f"library: {library}; ext {final['all']['extended_top1']:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
