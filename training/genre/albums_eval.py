"""Album decisions: fit and check the album pooling, calibration, threshold and contradiction rule.

Input: out-of-fold per-clip probabilities of the library vocabulary on realmusic (5
artist-grouped folds, GTZAN in every training fold, temperature and track threshold fitted
inside each fold; :func:`training.genre.library_experiments.cross_validate`). By default
``runs/oof_v5.npz`` when it exists (the v5 model's), else the v4 (bundled) model's,
computed here from the musicnn feature cache and kept in ``runs/oof_v4.npz``. An ``.npz`` holds
``keys`` (feature-cache keys of realmusic clips), ``genres`` (vocabulary ids), ``probs``
[n, G] (calibrated, out-of-fold), ``track_threshold`` [n] (the clip's fold's default
threshold) and ``fold`` [n] (0-4).

Albums: realmusic's artist groups (AllMusic labels are per artist/release, so an artist's
clips stand for one album); clips in groups of >= 2. The album machinery is the app's own
(:mod:`genre_tagger.library.albums`: pooling, calibration, contradiction rule).

Protocol (nested, so every reported album figure is out-of-fold twice): for each outer fold
k, the album settings (pooling temperature, contradiction rule, album threshold) are fitted
on the album clips of the other four folds' out-of-fold probabilities and applied to fold k.
The pooling (mean or mean-log) and the inner precision target (the smallest of .92-.96
whose outer written precision reaches .92) are chosen on those nested results. The
shipped settings are then fitted the same way on all album clips.

    python -m training.genre.albums_eval --realmusic ../shared/data/realmusic \\
        --gtzan ../shared/data/gtzan [--features runs/features/w16_m0.1] [--oof FILE]

Writes results/albums_<v4|v5>.json and its two plots (``--vocabulary gtzan``:
results/albums_<v4|v5>_gtzan*, on the clips whose label holds a GTZAN genre).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from genre_tagger.library.albums import MEAN, MEAN_LOG, Album, AlbumSettings, Contradiction, album_decisions, pool

from .realdata import realmusic_examples
from .sethead import choose_threshold, ece, fit_temperature, precision_coverage, reliability_bins

SHIPPED_CANDIDATE = "msd-tags+emb w4 gtzan-bal×0.3 C=0.03"  # the v4 model's (models/genre-musicnn.json provenance)
TARGETS = (0.92, 0.93, 0.94, 0.95, 0.96)
SHIPPED_TARGETS = (0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98)  # the check one level down needs stricter ones
GOAL = 0.92
# contradiction rules tried: (own_min, album_max), loosest album_max first within an own_min; (1.01, 0) = never, last
RULES = [(a, b) for a in (0.6, 0.7, 0.8, 0.9, 0.95) for b in (0.2, 0.1, 0.05, 0.02)] + [(1.01, 0.0)]


def v4_oof(realmusic: Path, gtzan: Path, features: Path, out: Path, vocabulary: str = "library") -> dict:
    """The bundled model's recipe, cross-validated: out-of-fold probabilities (see module doc).
    The gtzan vocabulary's head as the bundled model's (its C, GTZAN weight and evidence mask)."""
    from genre_tagger.listen.model import load_info

    from .library_experiments import CANDIDATES, cross_validate, gtzan_head, load_all, real_folds

    meta = load_info()
    vocab = meta.vocabulary(vocabulary)
    ex, cache = load_all(gtzan, realmusic, features)
    cand = next(c for c in CANDIDATES if c.name == SHIPPED_CANDIDATE)
    if vocabulary == "gtzan":
        cand = gtzan_head(cand, tuple(meta.provenance["gtzan_head"]))
    probs, thr, real_idx = cross_validate(cache, ex, list(vocab.genres), cand)
    real = [ex[i] for i in real_idx]
    fold = np.zeros(len(real), int)
    for k, f in enumerate(real_folds(real)):
        fold[f] = k
    d = {"keys": np.array([e.key for e in real]), "genres": np.array(vocab.genres), "probs": probs,
         "track_threshold": thr, "fold": fold}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **d)
    return d


def load_oof(path: Path, vocabulary: str = "library") -> dict:
    """An out-of-fold file in the format above; also the model-v5 work's (``threshold``
    for ``track_threshold``; the gtzan vocabulary's as ``probs_gtzan``, ``genres_gtzan``,
    ``threshold_gtzan`` in the same file)."""
    z = np.load(path, allow_pickle=False)
    d = {k: z[k] for k in z.files}
    if vocabulary != "library" and f"probs_{vocabulary}" in d:
        for k in ("probs", "genres", "threshold"):
            d[k] = d[f"{k}_{vocabulary}"]
    if "track_threshold" not in d and "threshold" in d:
        d["track_threshold"] = d["threshold"]
    return d


# ---------------------------------------------------------------------------


class AlbumData:
    """The album clips: each clip's own probabilities, its album, its accepted set."""

    def __init__(self, oof: dict, realmusic: Path, domain_only: bool = False):
        """``domain_only``: only clips whose accepted set holds one of the vocabulary's
        genres (the gtzan vocabulary: what it can name at all, as its track threshold)."""
        by_key = {e.key: e for e in realmusic_examples(realmusic)}
        keys = [str(k) for k in oof["keys"]]
        ex = [by_key[k] for k in keys]
        genres = {str(g) for g in oof["genres"]}
        inside = np.array([bool(e.accepted & genres) or not domain_only for e in ex])
        sizes: dict[str, int] = {}
        for e, ok in zip(ex, inside):
            sizes[e.group] = sizes.get(e.group, 0) + int(ok)
        keep = np.array([ok and sizes[e.group] >= 2 for e, ok in zip(ex, inside)])
        self.genres = [str(g) for g in oof["genres"]]
        self.all_probs, self.all_ex = oof["probs"], ex
        self.all_track_thr = oof["track_threshold"]
        self.probs = oof["probs"][keep]
        self.track_thr = oof["track_threshold"][keep]
        self.fold = oof["fold"][keep]
        self.ex = [e for e, k in zip(ex, keep) if k]
        self.sets = [e.accepted for e in self.ex]
        self.groups = [e.group for e in self.ex]
        self.albums = [Album(g, g) for g in self.groups]
        self.tops = [[(g, float(p)) for g, p in zip(self.genres, row)] for row in self.probs]
        self.n_albums = len(set(self.groups))

    def subset(self, idx: np.ndarray) -> list[int]:
        return [int(i) for i in idx]


def own_correct(data: AlbumData, idx: list[int]) -> np.ndarray:
    return np.array([data.genres[int(data.probs[i].argmax())] in data.sets[i] for i in idx])


def decide(data: AlbumData, idx: list[int], s: AlbumSettings) -> dict:
    """The album decision of each clip of ``idx`` (pooled within ``idx``'s own groups):
    confidence of what would be written, whether its genre is accepted, whether it follows
    the album, and the threshold that applies."""
    decs = album_decisions([data.albums[i] for i in idx], [data.tops[i] for i in idx], s)
    conf, ok, follows, thr = [], [], [], []
    for i, d in zip(idx, decs):
        g, p = d.top[0]
        conf.append(p), ok.append(g in data.sets[i]), follows.append(d.follows_album)
        thr.append(s.min_confidence if d.follows_album else data.track_thr[i])
    conf, ok, follows, thr = np.array(conf), np.array(ok), np.array(follows), np.array(thr)
    return {"conf": conf, "ok": ok, "follows": follows, "thr": thr, "written": conf >= thr}


def pooled_log(data: AlbumData, idx: list[int], pooling: str) -> np.ndarray:
    """log of the T=1 pooled album probabilities of each clip's album (within ``idx``)."""
    s = AlbumSettings(pooling, 1.0)
    by_group: dict[str, list[int]] = {}
    for i in idx:
        by_group.setdefault(data.groups[i], []).append(i)
    cache = {g: dict(pool([data.tops[i] for i in m], s)) for g, m in by_group.items()}
    return np.log(np.array([[max(cache[data.groups[i]][g], 1e-12) for g in data.genres] for i in idx]))


def intruders(data: AlbumData, idx: list[int]) -> list[tuple[list[int], int]]:
    """Simulated bonus tracks: each artist group among ``idx`` with one clip of another
    group (the next in a fixed order whose label shares no genre with the group's first clip)."""
    groups: dict[str, list[int]] = {}
    for i in idx:
        groups.setdefault(data.groups[i], []).append(i)
    names = sorted(groups)
    out = []
    for k, g in enumerate(names):
        members = groups[g]
        for h in names[k + 1 :] + names[:k]:
            j = groups[h][0]
            if not (data.sets[j] & data.sets[members[0]]):
                out.append((members, j))
                break
    return out


def intruder_rescue(data: AlbumData, idx: list[int], s: AlbumSettings) -> float:
    """Share of simulated bonus tracks (:func:`intruders`) that get a genre of their own
    label: what a contradiction rule is for (the artist groups alone can only show its cost)."""
    hits = []
    for members, j in intruders(data, idx):
        album = Album("x", "x")
        d = album_decisions([album] * (len(members) + 1), [data.tops[i] for i in members] + [data.tops[j]], s)[-1]
        hits.append(d.top[0][0] in data.sets[j])
    return float(np.mean(hits)) if hits else 0.0


def fit_settings(data: AlbumData, idx: list[int], pooling: str, target: float) -> AlbumSettings:
    """Album settings fitted on the clips ``idx`` (whole artist groups): temperature by set
    NLL of the pooled album probabilities against each clip's accepted set; the
    contradiction rule: among the rules with the best extended top-1 of the final decisions
    on the real albums (no measurable cost), the one that rescues most simulated bonus tracks
    (:func:`intruder_rescue`);
    the album threshold: the lowest whose written precision over the clips that follow
    their album is >= ``target`` (at least 20 written)."""
    t = fit_temperature(pooled_log(data, idx, pooling), [data.sets[i] for i in idx], data.genres)
    s = AlbumSettings(pooling, t, 1.0, Contradiction(1.01, 0.0))
    scored = []
    for a, b in RULES:
        r = replace(s, contradiction=Contradiction(a, b))
        scored.append((float(decide(data, idx, r)["ok"].mean()), intruder_rescue(data, idx, r), (a, b)))
    best_acc = max(acc for acc, _, _ in scored)
    # no cost on real albums (extended top-1 as high as the best rule's); then the most intruders rescued; then the
    # first in RULES' order (a rule before never, the loosest album_max first)
    best = max((x for x in scored if x[0] >= best_acc - 1e-9), key=lambda x: x[1])[2]
    s = replace(s, contradiction=Contradiction(*best))
    d = decide(data, idx, s)
    thr = choose_threshold(d["conf"][d["follows"]], d["ok"][d["follows"]], target)
    return replace(s, min_confidence=thr)


def nested(data: AlbumData, pooling: str, target: float) -> dict:
    """Album settings fitted on four folds' album clips, applied to the fifth, for each fold."""
    n = len(data.ex)
    conf, ok, written, follows = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    per_fold = []
    for k in sorted(set(data.fold.tolist())):
        test = [i for i in range(n) if data.fold[i] == k]
        train = [i for i in range(n) if data.fold[i] != k]
        s = fit_settings(data, train, pooling, target)
        d = decide(data, test, s)
        conf[test], ok[test], written[test], follows[test] = d["conf"], d["ok"], d["written"], d["follows"]
        per_fold.append({"fold": k, "settings": s.to_dict(), "clips": len(test),
                         "written_precision": float(d["ok"][d["written"]].mean()) if d["written"].any() else None,
                         "coverage": float(d["written"].mean())})  # fmt: skip
    return {"pooling": pooling, "inner_target": target, **figures(conf, ok, written, follows), "per_fold": per_fold,
            "_arrays": (conf, ok, written, follows)}  # fmt: skip


def figures(conf: np.ndarray, ok: np.ndarray, written: np.ndarray, follows: np.ndarray | None = None) -> dict:
    t, prec, cov = precision_coverage(conf, ok)
    at92 = cov[prec >= GOAL]
    out = {
        "clips": int(len(conf)),
        "extended_top1": float(ok.mean()),
        "written_precision": float(ok[written].mean()) if written.any() else None,
        "coverage": float(written.mean()),
        "ece": ece(conf, ok),
        "coverage_at_precision_092_best_threshold": float(at92[at92 * len(conf) >= 20].max()) if (at92 * len(conf) >= 20).any() else 0.0,
        "precision_of_75pct_surest": float(prec[int(np.ceil(0.75 * len(conf))) - 1]),
    }
    if follows is not None:
        out["follow_album"] = int(follows.sum())
        out["own_decision_contradicts"] = int((~follows).sum())
    return out


def track_figures(data: AlbumData, idx: list[int]) -> dict:
    conf = data.probs[idx].max(1)
    ok = own_correct(data, idx)
    return figures(conf, ok, conf >= data.track_thr[idx])


def plots(out: Path, album: tuple, track: tuple, threshold_point: tuple, title: str) -> dict:
    """``out``: the JSON's path; the plots go beside it as ``<stem>_reliability.png`` and
    ``<stem>_precision_coverage.png``."""
    out_dir, stem = out.parent, out.stem
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = reliability_bins

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    rel = {}
    for name, (conf, ok), style in (("album decisions", album, "o-"), ("tracks alone", track, "s:")):
        mids, accs, counts = bins(conf, ok)
        rel[name] = {"confidence": mids, "accuracy": accs, "clips": counts}
        ax.plot(mids, accs, style, label=f"{name} (ECE {ece(conf, ok):.3f})")
        if name == "album decisions":
            for m, a, c in zip(mids, accs, counts):
                ax.annotate(str(c), (m, a), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("confidence of the written genre"), ax.set_ylabel("share correct (genre accepted)")
    ax.set_title(f"Reliability, {title}", fontsize=9), ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout(), fig.savefig(out_dir / f"{stem}_reliability.png", dpi=110), plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (conf, ok), style in (("album decisions", album, "-"), ("tracks alone", track, ":")):
        _, prec, cov = precision_coverage(conf, ok)
        ax.plot(cov, prec, style, lw=1.5, label=name)
    thr, p, c = threshold_point
    ax.plot([c], [p], "ro", label=f"album min_confidence {thr:.2f} (nested): precision {p:.3f}, coverage {c:.3f}")
    ax.axhline(GOAL, color="grey", ls=":", lw=1), ax.axvline(0.75, color="grey", ls=":", lw=1)
    ax.set_xlabel("coverage (share of album clips written)"), ax.set_ylabel("written precision")
    ax.set_ylim(0.5, 1.0), ax.set_title(f"Precision vs coverage, {title}", fontsize=9), ax.legend(fontsize=7)
    fig.tight_layout(), fig.savefig(out_dir / f"{stem}_precision_coverage.png", dpi=110), plt.close(fig)
    return rel


def inner_oof(realmusic: Path, gtzan: Path, features: Path, out: Path) -> dict:
    """For each outer fold k: out-of-fold probabilities of the clips of the other four folds,
    cross-validated among themselves (models on ~64 % of realmusic + GTZAN): what the album
    settings of a model trained on those four folds would be fitted on. Saved as one .npz:
    ``keys_<k>``, ``probs_<k>``, ``track_threshold_<k>``, ``fold_<k>`` (the inner folds)."""
    from genre_tagger.listen.model import load_info

    from .library_experiments import CANDIDATES, cross_validate, load_all, real_folds

    vocab = load_info().vocabulary("library")
    ex, cache = load_all(gtzan, realmusic, features)
    cand = next(c for c in CANDIDATES if c.name == SHIPPED_CANDIDATE)
    real = [e for e in ex if e.is_real]
    row = {e.key: i for i, e in enumerate(ex)}
    d: dict = {"genres": np.array(vocab.genres)}
    for k, f in enumerate(real_folds(real)):
        held = {real[i].key for i in f}
        sub = [e for e in ex if e.key not in held]
        probs, thr, real_idx = cross_validate({b: a[[row[e.key] for e in sub]] for b, a in cache.items()}, sub, list(vocab.genres), cand)
        inner = [sub[i] for i in real_idx]
        fold = np.zeros(len(inner), int)
        for j, g in enumerate(real_folds(inner)):
            fold[g] = j
        d.update({f"keys_{k}": np.array([e.key for e in inner]), f"probs_{k}": probs, f"track_threshold_{k}": thr, f"fold_{k}": fold})
        print(f"inner out-of-fold probabilities for outer fold {k}: {len(inner)} clips", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **d)
    return d


def shipped_check(data: AlbumData, inner: dict, realmusic: Path, pooling: str, target: float) -> dict:
    """Lever 3 for albums: the album settings are fitted on out-of-fold probabilities of
    models trained on less data than the model they ship with. Simulated one level down:
    for each outer fold k, the settings are fitted on the inner out-of-fold probabilities
    of the other four folds (models on ~64 %) and applied to fold k's probabilities from
    the model trained on those four folds (~80 %), as shipping applies settings fitted on
    fold models to the model trained on everything."""
    n = len(data.ex)
    conf, ok, written = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    per_fold = []
    for k in sorted(set(data.fold.tolist())):
        sub = {"keys": inner[f"keys_{k}"], "genres": inner["genres"], "probs": inner[f"probs_{k}"],
               "track_threshold": inner[f"track_threshold_{k}"], "fold": inner[f"fold_{k}"]}  # fmt: skip
        inner_data = AlbumData(sub, realmusic)
        s = fit_settings(inner_data, list(range(len(inner_data.ex))), pooling, target)
        test = [i for i in range(n) if data.fold[i] == k]
        d = decide(data, test, s)
        conf[test], ok[test], written[test] = d["conf"], d["ok"], d["written"]
        per_fold.append({"fold": k, "settings": s.to_dict(), "written_precision": float(d["ok"][d["written"]].mean()) if d["written"].any()
                         else None, "coverage": float(d["written"].mean())})  # fmt: skip
    return {"pooling": pooling, "inner_target": target, **figures(conf, ok, written), "per_fold": per_fold}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realmusic", type=Path, required=True)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--oof", type=Path, default=None, help="out-of-fold probabilities (.npz); default runs/oof_v5.npz if present")
    ap.add_argument("--vocabulary", default="library", choices=("library", "gtzan"))
    ap.add_argument("--v4", action="store_true", help="the v4 model's probabilities even where runs/oof_v5.npz exists")
    ap.add_argument("--shipped-check", action="store_true",
                    help="library: album settings fitted one level down (inner out-of-fold) applied to the outer models "
                         "(v4: refitted here; v5: <oof>_inner.npz from fusion_experiments --save-oof)")
    ap.add_argument("--out", type=Path, default=None, help="default results/albums_<v4|v5>[_gtzan].json")
    ap.add_argument("--target", type=float, default=None,
                    help="fit the shipped settings at this inner precision target instead of choosing it on the nested runs "
                         "(a margin for the gap between fold models and the shipped one, where --shipped-check cannot be run)")
    args = ap.parse_args()
    t0 = time.time()
    suffix = "" if args.vocabulary == "library" else f"_{args.vocabulary}"
    v5 = Path("runs/oof_v5.npz")
    if args.oof is None and v5.exists() and not args.v4:
        args.oof = v5
    args.out = args.out or Path(f"results/albums_{'v5' if args.oof == v5 else 'v4'}{suffix}.json")
    if args.oof is not None:
        oof, source = load_oof(args.oof, args.vocabulary), f"{args.oof} ({args.vocabulary} vocabulary)"
    else:
        cached = Path(f"runs/oof_v4{suffix}.npz")
        oof = load_oof(cached) if cached.exists() else v4_oof(args.realmusic, args.gtzan, args.features, cached, args.vocabulary)
        head = "" if args.vocabulary == "library" else f", {args.vocabulary} head as the bundled model's"
        source = (f"v4 (bundled model's recipe: {SHIPPED_CANDIDATE}{head}), {args.vocabulary} vocabulary, "
                  "cross-validated from the musicnn feature cache")  # fmt: skip
    data = AlbumData(oof, args.realmusic, domain_only=args.vocabulary == "gtzan")
    print(f"{len(data.ex)} album clips in {data.n_albums} artist groups (of {len(data.all_ex)} clips); source: {source}")
    all_idx = list(range(len(data.ex)))
    track = track_figures(data, all_idx)
    print(f"tracks alone (album clips): ext {track['extended_top1']:.3f} prec {track['written_precision']:.3f} "
          f"cov {track['coverage']:.3f} cov@.92 {track['coverage_at_precision_092_best_threshold']:.3f}")  # fmt: skip
    runs = []
    for pooling in (MEAN, MEAN_LOG):
        for target in ([args.target] if args.target else TARGETS):
            r = nested(data, pooling, target)
            runs.append(r)
            print(f"{pooling:8s} target {target:.2f}: ext {r['extended_top1']:.3f} prec {r['written_precision']} "
                  f"cov {r['coverage']:.3f} cov@.92(best thr) {r['coverage_at_precision_092_best_threshold']:.3f} "
                  f"ece {r['ece']:.3f} own {r['own_decision_contradicts']}", flush=True)  # fmt: skip
    # the choice: per pooling, the smallest inner target whose precision reaches the goal; between
    # poolings, the higher coverage. Judged on the nested runs, or with --shipped-check on the
    # check one level down (settings from smaller models applied to a bigger one, as shipping does)
    # among the settings whose nested precision reaches the goal too
    checks = []
    if args.shipped_check:
        if args.oof is not None:  # v5: fusion_experiments --save-oof writes <oof>_inner.npz beside it
            cached = args.oof.with_name(args.oof.stem + "_inner.npz")
            if not cached.exists():
                ap.error(f"--shipped-check needs {cached}: run python -m training.genre.fusion_experiments --gtzan … "
                         "--realmusic … --save-oof")
            inner = load_oof(cached)
        else:
            cached = Path("runs/oof_v4_inner.npz")
            inner = load_oof(cached) if cached.exists() else inner_oof(args.realmusic, args.gtzan, args.features, cached)
        for pooling in (MEAN, MEAN_LOG):
            for target in SHIPPED_TARGETS:
                checks.append(shipped_check(data, inner, args.realmusic, pooling, target))
                c = checks[-1]
                print(f"shipped check {pooling:8s} target {target:.2f}: prec {c['written_precision']} cov {c['coverage']:.3f}", flush=True)
    def reaches(r: dict) -> bool:
        return r["written_precision"] is not None and r["written_precision"] >= GOAL

    judged = checks or runs
    if checks:  # the same settings must also reach the goal nested on same-size fold models
        for c in checks:
            if not any(r["pooling"] == c["pooling"] and r["inner_target"] == c["inner_target"] for r in runs):
                runs.append(nested(data, c["pooling"], c["inner_target"]))
        both = {(r["pooling"], r["inner_target"]) for r in runs if reaches(r)}
        judged = [c for c in checks if (c["pooling"], c["inner_target"]) in both] or checks
    ok_runs = [r for r in judged if reaches(r)]
    chosen_runs = []
    for pooling in (MEAN, MEAN_LOG):
        mine = [r for r in ok_runs if r["pooling"] == pooling]
        if mine:
            chosen_runs.append(min(mine, key=lambda r: r["inner_target"]))
    pick = max(chosen_runs, key=lambda r: r["coverage"]) if chosen_runs else max(judged, key=lambda r: r["written_precision"] or 0)
    if checks:
        print(f"chosen by the shipped check: {pick['pooling']} target {pick['inner_target']}: prec {pick['written_precision']:.3f} "
              f"cov {pick['coverage']:.3f}", flush=True)  # fmt: skip
    chosen = next(r for r in runs if r["pooling"] == pick["pooling"] and r["inner_target"] == pick["inner_target"])
    final = fit_settings(data, all_idx, chosen["pooling"], chosen["inner_target"])
    final = replace(final, fitted=f"{source}; realmusic artist groups >= 2 ({len(data.ex)} clips, {data.n_albums} groups); "
                    f"training/genre/albums_eval.py; nested written precision {chosen['written_precision']:.3f} at coverage "
                    f"{chosen['coverage']:.3f}"
                    + (f"; one level down (settings from smaller models on a bigger one) {pick['written_precision']:.3f} at "
                       f"{pick['coverage']:.3f}" if checks else ""))  # fmt: skip
    fin = decide(data, all_idx, final)
    conf, ok, written, follows = chosen["_arrays"]
    # the same nested decisions counted per album (each clip weighs 1 / its album's size), so that a few
    # big artist groups (17 clips) do not decide the figure alone
    size = {g: data.groups.count(g) for g in set(data.groups)}
    w = np.array([1.0 / size[g] for g in data.groups])
    per_album = {"albums": data.n_albums, "album_top1": float((w * ok).sum() / w.sum()),
                 "written_precision": float((w * ok)[written].sum() / w[written].sum()) if written.any() else None,
                 "coverage": float(w[written].sum() / w.sum())}  # fmt: skip
    print(f"nested, per album: {per_album}")
    tconf = data.probs.max(1)
    rel = plots(args.out, (conf, ok), (tconf, own_correct(data, all_idx)),
                (float(np.median([f["settings"]["min_confidence"] for f in chosen["per_fold"]])), chosen["written_precision"] or 0.0,
                 chosen["coverage"]),
                f"{len(data.ex)} realmusic clips in artist groups >= 2\nout-of-fold, album settings nested")  # fmt: skip
    res = {
        "command": "python -m training.genre.albums_eval --realmusic ../shared/data/realmusic --gtzan ../shared/data/gtzan"
        + ("" if args.vocabulary == "library" else f" --vocabulary {args.vocabulary}") + (" --v4" if args.v4 else "")
        + (f" --oof {args.oof}" if args.oof else "") + (f" --target {args.target}" if args.target else "")
        + (" --shipped-check" if args.shipped_check else ""),
        "vocabulary": args.vocabulary,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU (shared with other work)",
        "source": source,
        "album_clips": len(data.ex),
        "albums": data.n_albums,
        "clips_total": len(data.all_ex),
        "tracks_alone": track,
        "nested": [{k: v for k, v in r.items() if k != "_arrays"} for r in runs],
        "chosen": {"pooling": chosen["pooling"], "inner_target": chosen["inner_target"],
                   "nested": {k: v for k, v in chosen.items() if k not in ("_arrays", "per_fold")},
                   "nested_per_album": per_album},  # fmt: skip
        "shipped_settings": final.to_dict(),
        "shipped_settings_on_all_clips_in_sample": figures(fin["conf"], fin["ok"], fin["written"], fin["follows"]),
        "reliability_bins": rel,
        "seconds": round(time.time() - t0, 1),
    }
    if checks:
        res["shipped_check"] = {"chosen": pick, "all": checks}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["chosen"], indent=1))
    print(json.dumps(res["shipped_settings"], indent=1))
    print(f"wrote {args.out} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
