"""Album decisions through the app's own scan path, per artist-grouped fold of realmusic.

For each of the 5 folds (the same as every realmusic figure): fit the v4 recipe on all
GTZAN clips with audio + the other folds' realmusic clips and export it (as
:mod:`training.genre.evaluate_realmusic` does), put into its library vocabulary's metadata
the album settings that ``albums_eval``'s nested fit chose for this fold (fitted on the
other folds' out-of-fold probabilities only; results/albums_v4.json), copy the fold's album
clips (artist groups of >= 2) into ``<artist>/<album>/NN.opus`` with artist, album and
track number tags, and run ``genre-tagger --scan DIR --dry-run --json FILE --no-cache``
with default settings (``--group album``). Scored from the JSON report: a clip is written
when its status is ``would-tag``, right when its first written genre is in its accepted
set; extended top-1 reads the genre its decision is based on (the album's when it follows
the album).

    python -m training.genre.albums_app_eval --data ../shared/data/realmusic --gtzan ../shared/data/gtzan \\
        [--features runs/features/w16_m0.1] [--albums results/albums_v4.json] [--out results/albums_v4_app.json]
    python -m training.genre.albums_app_eval --data ../shared/data/realmusic --gtzan ../shared/data/gtzan \\
        --v5 ../shared/weights/efficientat-mn04 [--albums results/albums_v5.json] [--out results/albums_v5_app.json]

With ``--v5 MN04_DIR`` the fold models are v5's (:func:`training.genre.build_v5.fit_and_export`
with results/fusion_selection.json's chosen fusion, as ``evaluate_v5`` fits them) and the
fold album settings come from the album results named by ``--albums``: for v5 the chosen
row of its check one level down (settings fitted on each fold's inner out-of-fold
probabilities, as a model ships with), for v4 the chosen nested row (how
results/albums_v4_app.json was made).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genre_tagger.genres import genre_id

from .albums_eval import SHIPPED_CANDIDATE
from .library_experiments import CANDIDATES, fit_spec, load_all, real_folds
from .library_model import build_net, export
from .realdata import Example


def album_library(clips: list[Example], root: Path) -> dict[str, int]:
    """Copies of ``clips`` as ``root/<artist>/<album>/NN<ext>`` with artist/album/track tags
    (an artist's clips are one album); returns path -> index into ``clips``."""
    import mutagen

    where, n, folders = {}, {}, {}
    for i, e in enumerate(clips):
        artist = e.group.removeprefix("artist:")
        folder = root / f"artist {folders.setdefault(artist, len(folders)):03d}" / "album"
        folder.mkdir(parents=True, exist_ok=True)
        n[artist] = n.get(artist, 0) + 1
        p = folder / f"{n[artist]:02d}{e.path.suffix}"
        shutil.copyfile(e.path, p)
        f = mutagen.File(p)
        if f.tags is None:
            f.add_tags()
        f["artist"], f["album"], f["tracknumber"] = artist, f"{artist} album", str(n[artist])
        f.save()
        where[str(p)] = i
    return where


def scan(model_json: Path, lib: Path, work: Path) -> list[dict]:
    report = work / "report.json"
    cmd = [sys.executable, "-m", "genre_tagger", "--scan", str(lib), "--dry-run", "--json", str(report), "--no-cache", "--quiet",
           "--model", str(model_json)]  # fmt: skip
    env = {**os.environ, "GENRE_TAGGER_DATA_DIR": str(work / "data")}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if not report.exists():
        raise RuntimeError(f"scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(report.read_text())


def score(rows: list[tuple[dict | None, Example]]) -> dict:
    ext, written, written_ok, decided = [], 0, 0, {}
    for r, e in rows:
        if r is None:
            ext.append(False)
            continue
        basis = r["album_top"] if r.get("decided_by") == "album" and r.get("album_top") else r["top"]
        ext.append(bool(basis) and genre_id(basis[0][0]) in e.accepted)
        decided[r.get("decided_by") or "none"] = decided.get(r.get("decided_by") or "none", 0) + 1
        if r["status"] == "would-tag" and r["genres"]:
            written += 1
            written_ok += genre_id(r["genres"][0]) in e.accepted
    return {"clips": len(rows), "extended_top1": float(np.mean(ext)), "written_precision": written_ok / written if written else None,
            "coverage": written / len(rows), "decided_by": decided}  # fmt: skip


def chosen_fold_settings(albums: dict, one_level_down: bool) -> dict[int, dict]:
    """Per outer fold, the album settings of the row an ``albums_eval`` run chose: with
    ``one_level_down`` (and a ``--shipped-check`` run) those fitted on the fold's inner
    out-of-fold probabilities, as a model ships with; else the nested ones (fitted on the
    other folds' out-of-fold probabilities)."""
    check = albums.get("shipped_check") if one_level_down else None
    pick, rows = (check["chosen"], check["all"]) if check else (albums["chosen"], albums["nested"])
    row = next(r for r in rows if r["pooling"] == pick["pooling"] and r["inner_target"] == pick["inner_target"])
    return {f["fold"]: f["settings"] for f in row["per_fold"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--gtzan", type=Path, required=True)
    ap.add_argument("--features", type=Path, default=Path("runs/features/w16_m0.1"))
    ap.add_argument("--albums", type=Path, default=None, help="default results/albums_<v4|v5>.json")
    ap.add_argument("--selection", type=Path, default=None,
                    help="default results/library_selection.json (v4), results/fusion_selection.json (v5)")
    ap.add_argument("--out", type=Path, default=None, help="default results/albums_<v4|v5>_app.json")
    ap.add_argument("--v5", type=Path, default=None, metavar="MN04_DIR", help="v5 fold models (mn04 weights folder)")
    ap.add_argument("--mn-features", type=Path, default=Path("runs/features_mn04"))
    args = ap.parse_args()
    args.albums = args.albums or Path(f"results/albums_{'v5' if args.v5 else 'v4'}.json")
    args.selection = args.selection or Path("results/fusion_selection.json" if args.v5 else "results/library_selection.json")
    args.out = args.out or Path(f"results/albums_{'v5' if args.v5 else 'v4'}_app.json")
    # v5: the settings fitted one level down; v4: the nested ones (results/albums_v4_app.json was made so)
    fold_settings = chosen_fold_settings(json.loads(args.albums.read_text()), one_level_down=args.v5 is not None)
    sel = json.loads(args.selection.read_text())
    library, gtzan_head = sel["chosen"]["library"], tuple(sel["chosen"]["gtzan_head"])
    if args.v5 is not None:
        from . import fusion_experiments as fx
        from .build_v5 import fit_and_export

        fusion = fx.Fusion(**sel["chosen"]["fusion"])
        ex, msd, mn = fx.load_all(args.gtzan, args.data, args.features, args.mn_features, [fusion.mn_cache])

        def fit(train: list[Example], work: Path, name: str):
            keys = {e.key for e in train}
            idx = [i for i, e in enumerate(ex) if e.key in keys]
            return fit_and_export(ex, msd, mn, idx, fusion, library, gtzan_head, sel["chosen"]["threshold_target"], args.v5,
                                  work, name, "cv")  # fmt: skip
    else:
        cand = next(c for c in CANDIDATES if c.name == SHIPPED_CANDIDATE)
        ex, cache = load_all(args.gtzan, args.data, args.features)
        rows_of = {e.key: i for i, e in enumerate(ex)}

        def fit(train: list[Example], work: Path, name: str):
            spec = fit_spec({b: a[[rows_of[e.key] for e in train]] for b, a in cache.items()}, train, cand, library, gtzan_head)
            return export(build_net(spec), spec, work, name, "cv")
    real = [e for e in ex if e.is_real]
    size: dict[str, int] = {}
    for e in real:
        size[e.group] = size.get(e.group, 0) + 1
    t0 = time.time()
    out = {"command": "python -m training.genre.albums_app_eval --data <realmusic> --gtzan <GTZAN>"
           + (f" --v5 <mn04 weights> --albums {args.albums}" if args.v5 else ""), "model": "v5" if args.v5 else "v4",
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU (shared with other work)", "folds": []}  # fmt: skip
    every: list[tuple[dict | None, Example]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, f in enumerate(real_folds(real)):
            test = [real[i] for i in f]
            keys = {e.key for e in test}
            train = [e for e in ex if e.key not in keys]
            clips = [e for e in test if size[e.group] >= 2]
            work = Path(tmp) / f"fold{k}"
            meta = fit(train, work / "model", f"fold{k}")
            mj = work / "model" / f"fold{k}.json"
            d = json.loads(mj.read_text())
            for v in d["vocabularies"]:
                v["album"] = fold_settings[k]
            mj.write_text(json.dumps(d, indent=1))
            where = album_library(clips, work / "lib")
            recs: list[dict | None] = [None] * len(clips)
            for r in scan(mj, work / "lib", work):
                i = where.get(r["path"])
                if i is not None:
                    recs[i] = r
            rows = list(zip(recs, clips))
            every += rows
            s = {"fold": k, "track_min_confidence": meta.vocabulary().min_confidence, "album": fold_settings[k], **score(rows)}
            out["folds"].append(s)
            print(f"fold {k}: {s['clips']} album clips: ext {s['extended_top1']:.3f} prec {s['written_precision']} "
                  f"cov {s['coverage']:.3f} ({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
    out["all"] = score(every)
    out["seconds"] = round(time.time() - t0)
    a = out["all"]
    print(f"app path, album decisions ({a['clips']} clips): ext {a['extended_top1']:.3f}, written precision "
          f"{a['written_precision']} at coverage {a['coverage']:.3f}; {a['decided_by']}")  # fmt: skip
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
